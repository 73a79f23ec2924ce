// Detectors added for issue 5: ABA routing, IBAN, MEDICAL_LICENSE (DEA), US_PASSPORT and
// DATE_OF_BIRTH (context-only), context words, deny lists, thresholds, and scan_fields.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mask/detectors.h"
#include "mask/scanner.h"
#include "mask/validators.h"

namespace phigate::mask {
namespace {

using Hits = std::vector<std::pair<std::string, std::string>>;  // (detector, matched text)

std::shared_ptr<const Engine> make(Profile p) {
  auto r = Engine::compile(p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : nullptr;
}

std::shared_ptr<const Engine> only(std::string detector, float threshold = 0.0f) {
  Profile p;
  p.detectors = {std::move(detector)};
  p.threshold = threshold;
  return make(p);
}

Hits scan(const Engine& e, std::string_view text) {
  std::vector<Finding> f;
  EXPECT_TRUE(e.scan(text, f));
  Hits h;
  for (const Finding& x : f)
    h.emplace_back(std::string(x.name), std::string(text.substr(x.begin, x.end - x.begin)));
  return h;
}

Hits one(std::string name, std::string value) { return {{std::move(name), std::move(value)}}; }

TEST(Checksums, Aba) {
  EXPECT_TRUE(detail::aba_ok("021000021"));
  EXPECT_TRUE(detail::aba_ok("011401533"));
  EXPECT_FALSE(detail::aba_ok("021000022"));
  EXPECT_FALSE(detail::aba_ok("02100002"));
  EXPECT_FALSE(detail::aba_ok("02100002x"));
}

TEST(Checksums, DeaAndIban) {
  EXPECT_TRUE(detail::dea_ok("1234563"));  // 1+3+5 + 2*(2+4+6) = 33 -> 3
  EXPECT_FALSE(detail::dea_ok("1234564"));
  EXPECT_TRUE(detail::iban_mod97_ok("GB82WEST12345698765432"));
  EXPECT_TRUE(detail::iban_mod97_ok("DE89370400440532013000"));
  EXPECT_FALSE(detail::iban_mod97_ok("GB82WEST12345698765433"));
  EXPECT_FALSE(detail::iban_mod97_ok("GB82-WEST"));
}

TEST(Detectors, AbaRouting) {
  auto e = only("ABA_ROUTING");
  EXPECT_EQ(scan(*e, "routing 021000021."), one("ABA_ROUTING", "021000021"));
  EXPECT_EQ(scan(*e, "0210-0002-1"), one("ABA_ROUTING", "0210-0002-1"));
  // Checksum failure, bad routing symbol (13-20, 33-60, 73-79, 81-99), repeated digits, glued.
  for (const char* t : {"021000022", "131000023", "000000000", "x021000021", "0210000210",
                        "021-000021", "0210-0002-2"})
    EXPECT_EQ(scan(*e, t), Hits{}) << t;
}

TEST(Detectors, AbaNeedsContextToBeatTheThreshold) {
  auto e = only("ABA_ROUTING", 0.5f);
  EXPECT_EQ(scan(*e, "ref 021000021"), Hits{});
  EXPECT_EQ(scan(*e, "Routing number: 021000021"), one("ABA_ROUTING", "021000021"));
}

TEST(Detectors, Iban) {
  auto e = only("IBAN");
  EXPECT_EQ(scan(*e, "pay GB82 WEST 1234 5698 7654 32 today"),
            one("IBAN", "GB82 WEST 1234 5698 7654 32"));
  EXPECT_EQ(scan(*e, "DE89370400440532013000"), one("IBAN", "DE89370400440532013000"));
  EXPECT_EQ(scan(*e, "(NO9386011117947)"), one("IBAN", "NO9386011117947"));
  for (const char* t : {"GB82 WEST 1234 5698 7654 33",  // mod 97 fails
                        "GB82WEST123456987654321",      // too long for GB
                        "GB82WEST1234569876543",        // too short
                        "ZZ82WEST12345698765432",       // unknown country
                        "xGB82WEST12345698765432", "GB82  WEST 1234 5698 7654 32"})
    EXPECT_EQ(scan(*e, t), Hits{}) << t;
}

TEST(Detectors, MedicalLicenseDea) {
  auto e = only("MEDICAL_LICENSE");
  EXPECT_EQ(scan(*e, "DEA AB1234563"), one("MEDICAL_LICENSE", "AB1234563"));
  EXPECT_EQ(scan(*e, "dea: fm1234563."), one("MEDICAL_LICENSE", "fm1234563"));
  EXPECT_EQ(scan(*e, "A91234563"), one("MEDICAL_LICENSE", "A91234563"));
  // Check digit wrong, registrant type I/N/O/Q/V/W/Y/Z is not issued, glued, too many digits.
  for (const char* t :
       {"AB1234564", "IB1234563", "ZB1234563", "XAB1234563", "AB12345630", "AB123456", "1B1234563"})
    EXPECT_EQ(scan(*e, t), Hits{}) << t;
}

TEST(Detectors, PassportOnlyWithContext) {
  auto e = only("US_PASSPORT");
  EXPECT_EQ(scan(*e, "passport 912803456"), one("US_PASSPORT", "912803456"));
  EXPECT_EQ(scan(*e, "Passport no. A12345678"), one("US_PASSPORT", "A12345678"));
  for (const char* t : {"order 912803456", "912803456", "passport 91280345", "passport 9128034567",
                        "passport 111111111", "passport AB1234567"})
    EXPECT_EQ(scan(*e, t), Hits{}) << t;
  // The context word must be within the window before the match.
  EXPECT_EQ(scan(*e, "passport" + std::string(60, ' ') + "912803456"), Hits{});
}

TEST(Detectors, DateOfBirthOnlyWithContext) {
  auto e = only("DATE_OF_BIRTH");
  for (const char* t :
       {"04/02/1980", "4/2/80", "1980-04-02", "02.04.1980", "April 2, 1980", "Apr. 2nd 1980",
        "2 April 1980", "02-Apr-1980", "12-31-1999", "31/12/1999", "2000-02-29"})
    EXPECT_EQ(scan(*e, std::string("DOB: ") + t), one("DATE_OF_BIRTH", t)) << t;
  EXPECT_EQ(scan(*e, "born on 1980-04-02"), one("DATE_OF_BIRTH", "1980-04-02"));
  EXPECT_EQ(scan(*e, "Date of Birth 1980-04-02"), one("DATE_OF_BIRTH", "1980-04-02"));
  // No context: a visit date is not a birth date.
  EXPECT_EQ(scan(*e, "follow up 2024-03-14"), Hits{});
  // Not dates: invalid month/day, Feb 29 of a non-leap year, mixed separators, 3-digit years.
  for (const char* t : {"13/13/1980", "1980-13-02", "1980-02-30", "1999-02-29", "04/02-1980",
                        "04/02/198", "Foo 2, 1980", "1980-04-022", "4.2", "BP 128/84"})
    EXPECT_EQ(scan(*e, std::string("DOB: ") + t), Hits{}) << t;
}

TEST(Detectors, ContextRaisesScores) {
  auto e = only("US_SSN");
  std::vector<Finding> plain, ctx;
  Profile p;
  p.detectors = {"US_SSN"};
  p.exact_scores = true;
  auto exact = make(p);
  ASSERT_TRUE(exact->scan("id 536221234", plain));
  ASSERT_TRUE(exact->scan("SSN: 536221234", ctx));
  ASSERT_EQ(plain.size(), 1u);
  ASSERT_EQ(ctx.size(), 1u);
  EXPECT_FLOAT_EQ(plain[0].score, 0.4f);
  EXPECT_FLOAT_EQ(ctx[0].score, 0.75f);
  // Whole words only: "ssnx" is not "ssn"; and a threshold between the two scores keeps one.
  auto thr = only("US_SSN", 0.5f);
  EXPECT_EQ(scan(*thr, "ssnx 536221234"), Hits{});
  EXPECT_EQ(scan(*thr, "ssn#: 536221234"), one("US_SSN", "536221234"));
}

TEST(Detectors, ProfileContextWords) {
  Profile p;
  p.detectors = {"US_PASSPORT"};
  p.context = {{"US_PASSPORT", {"Reisepass"}}};
  p.builtin_context = false;
  auto e = make(p);
  EXPECT_EQ(scan(*e, "REISEPASS 912803456"), one("US_PASSPORT", "912803456"));
  EXPECT_EQ(scan(*e, "passport 912803456"), Hits{});
  Profile bad;
  bad.detectors = {"US_SSN"};
  bad.context = {{"IBAN", {"bank"}}};
  EXPECT_FALSE(Engine::compile(bad).ok());
  Profile none;
  none.detectors = {"DATE_OF_BIRTH"};
  none.builtin_context = false;  // a context-only detector without context words finds nothing
  EXPECT_FALSE(Engine::compile(none).ok());
}

TEST(Detectors, DenyList) {
  Profile p;
  p.deny_lists = {{"VIP", {"Jane Roe", "A+B"}}};
  p.detectors = {"US_SSN"};
  auto e = make(p);
  EXPECT_EQ(scan(*e, "patient JANE ROE, 536-22-1234"),
            (Hits{{"VIP", "JANE ROE"}, {"US_SSN", "536-22-1234"}}));
  EXPECT_EQ(scan(*e, "Jane Roes"), Hits{});  // whole words
  EXPECT_EQ(scan(*e, "xA+B"), Hits{});
  EXPECT_EQ(scan(*e, "code a+b."), one("VIP", "a+b"));  // literal, not a regex
  EXPECT_EQ(scan(*e, "AAB"), Hits{});
  Profile bad;
  bad.deny_lists = {{"VIP", {""}}};
  EXPECT_FALSE(Engine::compile(bad).ok());
}

TEST(Detectors, OverlapKeepsUnion) {
  // A bare 9-digit number is an SSN (0.4) and, with "routing" near, an ABA number (0.65): one
  // finding, the higher score, covering the bytes of both.
  Profile p;
  p.detectors = {"US_SSN", "ABA_ROUTING"};
  auto e = make(p);
  EXPECT_EQ(scan(*e, "routing 021000021"), one("ABA_ROUTING", "021000021"));
  EXPECT_EQ(scan(*e, "ref 536221234"), one("US_SSN", "536221234"));
}

Profile full_profile() {
  Profile p;
  for (std::string_view n : builtin_detector_names()) p.detectors.emplace_back(n);
  p.custom = {{"MRN", "MRN-[0-9]{8}"}, {"SPAN", "a\\nb"}};
  p.deny_lists = {{"VIP", {"Jane Roe"}}};
  return p;
}

TEST(ScanFields, MatchesPerFieldScans) {
  auto e = make(full_profile());
  std::vector<std::string_view> row = {"42",          "",
                                       "536-22-1234", "mail jane@clinic.org, MRN-12345678",
                                       "Jane Roe",    "DOB: 1980-04-02",
                                       "no phi here", "MRN-1234",
                                       "5678 tail",   "a"};
  RowFindings rf;
  ASSERT_TRUE(e->scan_fields(row, rf));
  ASSERT_EQ(rf.fields(), row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    std::vector<Finding> alone;
    ASSERT_TRUE(e->scan(row[i], alone));
    auto got = rf.field(i);
    ASSERT_EQ(got.size(), alone.size()) << i;
    for (size_t k = 0; k < alone.size(); ++k) {
      EXPECT_EQ(got[k].begin, alone[k].begin) << i;
      EXPECT_EQ(got[k].end, alone[k].end) << i;
      EXPECT_EQ(got[k].name, alone[k].name) << i;
    }
  }
  EXPECT_EQ(rf.field(2).size(), 1u);
  EXPECT_EQ(rf.field(3).size(), 2u);
  EXPECT_EQ(rf.field(4).size(), 1u);
  EXPECT_EQ(rf.field(5).size(), 1u);
  EXPECT_TRUE(rf.field(7).empty());  // "MRN-1234" + "\n" + "5678" must not join into an MRN
}

TEST(ScanFields, CustomRegexCannotSpanFields) {
  // "a\nb" would match across the separator; per field it must not, and a match that starts in
  // the previous field must not hide one inside the field.
  Profile p;
  p.custom = {{"SPAN", "a\\nb"}, {"ANY", "[a-z]+x"}};
  auto e = make(p);
  std::vector<std::string_view> row = {"a", "b", "zzz", "qqx"};
  RowFindings rf;
  ASSERT_TRUE(e->scan_fields(row, rf));
  EXPECT_TRUE(rf.field(0).empty());
  EXPECT_TRUE(rf.field(1).empty());
  ASSERT_EQ(rf.field(3).size(), 1u);
  EXPECT_EQ(rf.field(3)[0].begin, 0u);
  EXPECT_EQ(rf.field(3)[0].end, 3u);
  std::vector<std::string_view> cross = {"abc", "dex"};  // "[a-z]+x" with \n excluded anyway
  ASSERT_TRUE(e->scan_fields(cross, rf));
  ASSERT_EQ(rf.field(1).size(), 1u);
  EXPECT_EQ(rf.field(1)[0].begin, 0u);
}

TEST(ScanFields, SomHiddenStartIsRescanned) {
  // "[a-z\n]+x" can run from field 0 into field 1; the in-field match "dex" must still be found.
  Profile p;
  p.custom = {{"ANY", "[a-z\\n]+x"}};
  auto e = make(p);
  std::vector<std::string_view> row = {"abc", "dex"};
  RowFindings rf;
  ASSERT_TRUE(e->scan_fields(row, rf));
  EXPECT_TRUE(rf.field(0).empty());
  ASSERT_EQ(rf.field(1).size(), 1u);
  EXPECT_EQ(rf.field(1)[0].begin, 0u);
  EXPECT_EQ(rf.field(1)[0].end, 3u);
}

// Hyperscan's AVX-512 scan reads past the end of its input for some lengths: a value that ends
// right before an unmapped page (the end of a buffer's mapping) must still scan, not crash.
TEST(CustomRegex, ValueEndingAtAnUnmappedPageScansSafely) {
  Profile p;
  p.custom = {{"MRN", "MRN-[0-9]{4}"}};
  auto e = make(p);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto* m = static_cast<char*>(
      ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(::mprotect(m + page, page, PROT_NONE), 0);
  const std::string_view pattern = "ab MRN-1234 secret xy ";
  for (size_t len = 1; len <= 300; ++len) {
    char* v = m + page - len;
    for (size_t i = 0; i < len; ++i) v[i] = pattern[i % pattern.size()];
    std::vector<Finding> f;
    ASSERT_TRUE(e->scan(std::string_view(v, len), f)) << len;
    size_t expect = 0;
    for (size_t at = 3; at + 8 <= len; at += pattern.size()) ++expect;
    EXPECT_EQ(f.size(), expect) << len;
  }
  ::munmap(m, 2 * page);
}

TEST(ScanFields, AnchoredCustomRegexMatchesInEveryField) {
  for (const char* regex : {"^MRN-[0-9]{4}$", "\\AMRN-[0-9]{4}\\z"}) {
    Profile p;
    p.custom = {{"MRN", regex}};
    auto e = make(p);
    std::vector<std::string_view> row = {"MRN-1111", "x", "MRN-2222", "MRN-3333 tail"};
    RowFindings rf;
    ASSERT_TRUE(e->scan_fields(row, rf));
    EXPECT_EQ(rf.field(0).size(), 1u) << regex;
    EXPECT_EQ(rf.field(2).size(), 1u) << regex;
    EXPECT_TRUE(rf.field(3).empty()) << regex;
    for (size_t i = 0; i < row.size(); ++i) {
      std::vector<Finding> alone;
      ASSERT_TRUE(e->scan(row[i], alone));
      EXPECT_EQ(alone.size(), rf.field(i).size()) << regex << " " << i;
    }
  }
}

TEST(ScanFields, EmptyRowAndEmptyEngine) {
  auto e = make(full_profile());
  RowFindings rf;
  ASSERT_TRUE(e->scan_fields({}, rf));
  EXPECT_EQ(rf.fields(), 0u);
  auto none = make(Profile{});
  EXPECT_TRUE(none->empty());
  std::vector<std::string_view> row = {"536-22-1234"};
  ASSERT_TRUE(none->scan_fields(row, rf));
  EXPECT_EQ(rf.fields(), 1u);
  EXPECT_TRUE(rf.field(0).empty());
}

TEST(Detectors, EmptyValueWithNullPointer) {
  auto e = make(full_profile());
  std::vector<Finding> f;
  EXPECT_TRUE(e->scan(std::string_view(), f));
  EXPECT_TRUE(f.empty());
  RowFindings rf;
  std::vector<std::string_view> row = {std::string_view(), std::string_view()};
  EXPECT_TRUE(e->scan_fields(row, rf));
}

// Long texts exercise the 64-byte block carry: an entity straddling every block offset.
TEST(Scanner, EntitiesAtEveryBlockOffset) {
  Profile p;
  p.detectors = {"US_SSN", "EMAIL_ADDRESS", "IP_ADDRESS", "CREDIT_CARD"};
  auto e = make(p);
  for (const char* v : {"536-22-1234", "536221234", "a@b.io", "2001:db8::1", "4111111111111111"}) {
    for (size_t pad = 0; pad < 140; ++pad) {
      std::string t(pad, 'x');
      t += ' ';
      t += v;
      std::string tail = t + " end";
      EXPECT_EQ(scan(*e, t).size(), 1u) << pad << " " << v;
      EXPECT_EQ(scan(*e, tail).size(), 1u) << pad << " " << v;
    }
  }
}

// The SSE2 and AVX2 block passes must find exactly the same things (on a CPU without AVX2 both
// runs take the SSE2 path and the test still holds).
TEST(Scanner, Sse2AndAvx2Agree) {
  auto e = make(full_profile());
  static constexpr char kAlphabet[] = "0123456789-. /()+:@aAbBeEgGmMxX_,";
  uint32_t seed = 99;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  std::string corpus =
      "DOB: 04/02/1980 SSN 536-22-1234 a@b.io 10.0.0.1 2001:db8::1 4111 1111 1111 1111 "
      "GB82 WEST 1234 5698 7654 32 routing 021000021 DEA AB1234563 1EG4-TE5-MK73 ";
  for (int iter = 0; iter < 400; ++iter) {
    std::string text = corpus.substr(0, next() % corpus.size());
    size_t extra = next() % 200;
    for (size_t i = 0; i < extra; ++i) text += kAlphabet[(next() >> 8) % (sizeof(kAlphabet) - 1)];
    text += corpus.substr(next() % corpus.size());
    std::vector<Finding> fast, base;
    ASSERT_TRUE(e->scan(text, fast));
    detail::force_sse2_for_tests(true);
    ASSERT_TRUE(e->scan(text, base));
    detail::force_sse2_for_tests(false);
    ASSERT_EQ(fast.size(), base.size()) << text;
    for (size_t i = 0; i < fast.size(); ++i) {
      EXPECT_EQ(fast[i].begin, base[i].begin);
      EXPECT_EQ(fast[i].end, base[i].end);
      EXPECT_EQ(fast[i].name, base[i].name);
    }
  }
}

}  // namespace
}  // namespace phigate::mask
