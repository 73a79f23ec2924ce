#include "mask/detectors.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace phigate::mask {
namespace {

using Hits = std::vector<std::pair<std::string, std::string>>;  // (detector, matched text)

std::shared_ptr<const Engine> make_engine(std::vector<std::string> detectors,
                                          std::vector<CustomDetector> custom = {},
                                          float threshold = 0.0f) {
  Profile p;
  p.detectors = std::move(detectors);
  p.custom = std::move(custom);
  p.threshold = threshold;
  auto r = Engine::compile(p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : nullptr;
}

std::shared_ptr<const Engine> all_engine() {
  static auto e = make_engine(
      {"US_SSN", "CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_NPI", "IP_ADDRESS", "US_MBI"},
      {{"MRN", "MRN-[0-9]{8}"}});
  return e;
}

Hits scan(const Engine& e, std::string_view text) {
  std::vector<Finding> f;
  EXPECT_TRUE(e.scan(text, f));
  Hits h;
  for (const Finding& x : f)
    h.emplace_back(std::string(x.name), std::string(text.substr(x.begin, x.end - x.begin)));
  return h;
}

Hits scan(std::string_view text) { return scan(*all_engine(), text); }

Hits one(std::string name, std::string value) { return {{std::move(name), std::move(value)}}; }

TEST(Detectors, SsnPositives) {
  EXPECT_EQ(scan("ssn 536-22-1234."), one("US_SSN", "536-22-1234"));
  EXPECT_EQ(scan("ssn 536 22 1234"), one("US_SSN", "536 22 1234"));
  EXPECT_EQ(scan("ssn:536.22.1234"), one("US_SSN", "536.22.1234"));
  EXPECT_EQ(scan("536221234"), one("US_SSN", "536221234"));
}

TEST(Detectors, SsnNearMisses) {
  for (const char* t :
       {"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000",
        "123-45 6789", "123-45.6789", "111-11-1111", "123-45-6789", "078-05-1120", "5536-22-1234",
        "536-22-12345", "536-22-1234-5", "x536221234", "536221234999", "536-221234"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, CreditCard) {
  EXPECT_EQ(scan("card 4111 1111 1111 1111 exp"), one("CREDIT_CARD", "4111 1111 1111 1111"));
  EXPECT_EQ(scan("4111-1111-1111-1111"), one("CREDIT_CARD", "4111-1111-1111-1111"));
  EXPECT_EQ(scan("4111111111111111"), one("CREDIT_CARD", "4111111111111111"));
  EXPECT_EQ(scan("amex 3782 822463 10005"), one("CREDIT_CARD", "3782 822463 10005"));
  EXPECT_EQ(scan("378282246310005"), one("CREDIT_CARD", "378282246310005"));
  // An order number glued in front must not hide the card.
  EXPECT_EQ(scan("order 12 4111 1111 1111 1111"), one("CREDIT_CARD", "4111 1111 1111 1111"));
}

TEST(Detectors, CreditCardNearMisses) {
  for (const char* t : {"4111 1111 1111 1112", "4111111111111112", "4111-1111 1111-1111",
                        "0000 0000 0000 0000", "41111111111111111111111", "4111 11 11 1111 1111"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, Email) {
  EXPECT_EQ(scan("mail john.doe+x@mail.example.com, thanks"),
            one("EMAIL_ADDRESS", "john.doe+x@mail.example.com"));
  EXPECT_EQ(scan("<a@b.io>"), one("EMAIL_ADDRESS", "a@b.io"));
  for (const char* t : {"a@b.c", "user@localhost", "@example.com", "a..b@example.com", "a@-bad.com",
                        "a@bad-.com", "a@exa..mple.com"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, Phone) {
  for (const char* t :
       {"(555) 234-5678", "555-234-5678", "555.234.5678", "555 234 5678", "+1 555 234 5678",
        "+1-555-234-5678", "1-555-234-5678", "+1 (555) 234-5678", "5552345678", "+442071838750"})
    EXPECT_EQ(scan(std::string("call ") + t + " now"), one("PHONE_NUMBER", t)) << t;
  for (const char* t :
       {"555-123-4567", "055-234-5678", "155-234-5678", "555-234-56789", "+0123456789", "+1234567"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, Npi) {
  EXPECT_EQ(scan("npi 1234567893"), one("US_NPI", "1234567893"));
  EXPECT_EQ(scan("2000000002"), one("US_NPI", "2000000002"));
  // 3234567893 and 12345678931 are valid phone numbers, so check NPI on its own.
  auto npi = make_engine({"US_NPI"});
  for (const char* t : {"1234567890", "1234567894", "3234567893", "12345678931", "01234567893"})
    EXPECT_EQ(scan(*npi, t), Hits{}) << t;
}

TEST(Detectors, IpAddress) {
  EXPECT_EQ(scan("from 192.168.1.10:5432"), one("IP_ADDRESS", "192.168.1.10"));
  EXPECT_EQ(scan("0.0.0.0"), one("IP_ADDRESS", "0.0.0.0"));
  EXPECT_EQ(scan("255.255.255.255"), one("IP_ADDRESS", "255.255.255.255"));
  EXPECT_EQ(scan("host 2001:db8::8a2e:370:7334 up"), one("IP_ADDRESS", "2001:db8::8a2e:370:7334"));
  EXPECT_EQ(scan("[::1]"), one("IP_ADDRESS", "::1"));
  EXPECT_EQ(scan("fe80::1ff:fe23:4567:890a"), one("IP_ADDRESS", "fe80::1ff:fe23:4567:890a"));
  for (const char* t : {"10.0.0.256", "256.1.1.1", "1.2.3.4.5", "01.2.3.4", "1.2.3", "at 12:30:45",
                        "std::cout", "1:2:3:4:5:6:7:8:9"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, Mbi) {
  EXPECT_EQ(scan("mbi 1EG4-TE5-MK73"), one("US_MBI", "1EG4-TE5-MK73"));
  EXPECT_EQ(scan("mbi 1EG4TE5MK73."), one("US_MBI", "1EG4TE5MK73"));
  EXPECT_EQ(scan("1eg4te5mk73"), one("US_MBI", "1eg4te5mk73"));
  for (const char* t : {"0EG4TE5MK73", "1SG4TE5MK73", "1EG4-TE5MK73", "1EGATE5MK73", "1EG4TE5MK73X",
                        "11EG4TE5MK73"})
    EXPECT_EQ(scan(t), Hits{}) << t;
}

TEST(Detectors, CustomRegex) {
  EXPECT_EQ(scan("chart MRN-12345678 ok"), one("MRN", "MRN-12345678"));
  EXPECT_EQ(scan("MRN-1234567"), Hits{});
}

TEST(Detectors, MultipleFindingsWithOffsets) {
  std::string text =
      "Patient 536-22-1234 <jane@clinic.org> tel (555) 234-5678, card 4111111111111111, "
      "MRN-87654321, ip 10.1.2.3";
  std::vector<Finding> f;
  ASSERT_TRUE(all_engine()->scan(text, f));
  struct Want {
    const char* name;
    const char* value;
  };
  std::vector<Want> want = {{"US_SSN", "536-22-1234"},
                            {"EMAIL_ADDRESS", "jane@clinic.org"},
                            {"PHONE_NUMBER", "(555) 234-5678"},
                            {"CREDIT_CARD", "4111111111111111"},
                            {"MRN", "MRN-87654321"},
                            {"IP_ADDRESS", "10.1.2.3"}};
  ASSERT_EQ(f.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f[i].name, want[i].name);
    EXPECT_EQ(f[i].begin, text.find(want[i].value)) << want[i].name;
    EXPECT_EQ(f[i].end, text.find(want[i].value) + std::string_view(want[i].value).size());
    EXPECT_EQ(all_engine()->detector_names()[f[i].detector], want[i].name);
    EXPECT_GT(f[i].score, 0.0f);
  }
}

TEST(Detectors, OnlyProfileDetectorsRun) {
  auto e = make_engine({"EMAIL_ADDRESS"});
  EXPECT_EQ(scan(*e, "536-22-1234 a@b.io"), one("EMAIL_ADDRESS", "a@b.io"));
}

TEST(Detectors, ThresholdDropsWeakFindings) {
  auto e = make_engine({"US_SSN"}, {}, 0.5f);
  EXPECT_EQ(scan(*e, "536221234 536-22-1234"), one("US_SSN", "536-22-1234"));
}

TEST(Detectors, EmptyProfileFindsNothing) {
  auto e = make_engine({});
  EXPECT_EQ(scan(*e, "536-22-1234"), Hits{});
}

TEST(Detectors, CompileErrorsFailClosed) {
  Profile p;
  p.detectors = {"US_SSN", "NOPE"};
  auto r = Engine::compile(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("NOPE"), std::string::npos);

  Profile bad;
  bad.custom = {{"MRN", "MRN-[0-9"}};
  r = Engine::compile(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("MRN"), std::string::npos);

  Profile dup;
  dup.detectors = {"US_SSN"};
  dup.custom = {{"US_SSN", "x"}};
  EXPECT_FALSE(Engine::compile(dup).ok());
}

TEST(Detectors, ScanFromFourThreadsShareOneEngine) {
  auto e = all_engine();
  auto other = make_engine({"EMAIL_ADDRESS"});  // threads alternate databases: scratch must fit
  const std::string text = "x 536-22-1234 y jane@clinic.org z 1EG4TE5MK73";
  Hits expected = scan(*e, text);
  ASSERT_EQ(expected.size(), 3u);
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Finding> f;
      f.reserve(16);
      for (int i = 0; i < 2000; ++i) {
        f.clear();
        const Engine& eng = (i % 100 == 99) ? *other : *e;
        if (!eng.scan(text, f) || f.size() != (&eng == other.get() ? 1u : 3u)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << t;
}

TEST(Detectors, AppendsAfterExistingFindings) {
  std::vector<Finding> f(1);
  ASSERT_TRUE(all_engine()->scan("a@b.io", f));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].name, "EMAIL_ADDRESS");
}

// Random text biased towards the characters detectors care about: findings must stay in bounds,
// sorted and non-overlapping, and validators must never read outside the text (run under ASan).
TEST(Detectors, RandomInputFindingsAreWellFormed) {
  static constexpr char kAlphabet[] = "0123456789-. ()+:@aAfFeEmMxX_";
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  std::vector<Finding> f;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text(next() % 80, ' ');
    for (char& c : text) c = kAlphabet[(next() >> 8) % (sizeof(kAlphabet) - 1)];
    f.clear();
    ASSERT_TRUE(all_engine()->scan(text, f));
    for (size_t i = 0; i < f.size(); ++i) {
      EXPECT_LT(f[i].begin, f[i].end);
      EXPECT_LE(f[i].end, text.size());
      if (i > 0) {
        EXPECT_LE(f[i - 1].end, f[i].begin) << text;
      }
    }
  }
}

TEST(Detectors, BuiltinNames) { EXPECT_EQ(builtin_detector_names().size(), 12u); }

}  // namespace
}  // namespace phigate::mask
