#include "mask/actions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace phigate::mask {
namespace {

std::shared_ptr<const Engine> engine() {
  static auto e = [] {
    Profile p;
    p.detectors = {"US_SSN", "EMAIL_ADDRESS"};
    p.custom = {{"MRN", "MRN-[0-9]{8}"}};
    return Engine::compile(p).value();
  }();
  return e;
}

ActionOptions opts(Action a) {
  ActionOptions o;
  o.action = a;
  return o;
}

std::string mask(std::string_view text, const ActionOptions& o, Applied* applied = nullptr) {
  std::vector<Finding> f;
  EXPECT_TRUE(engine()->scan(text, f));
  std::string out;
  Applied a = apply_findings(text, f, o, out);
  if (applied) *applied = a;
  return out;
}

TEST(Actions, Redact) {
  ActionOptions o = opts(Action::kRedact);
  EXPECT_EQ(mask("ssn 536-22-1234, a@b.io; MRN-12345678", o),
            "ssn [US_SSN], [EMAIL_ADDRESS]; [MRN]");
  o.redact_prefix = "<";
  o.redact_suffix = ">";
  EXPECT_EQ(mask("536-22-1234", o), "<US_SSN>");
}

TEST(Actions, Partial) {
  ActionOptions o = opts(Action::kPartial);
  EXPECT_EQ(mask("ssn 536-22-1234 ok", o), "ssn *******1234 ok");
  std::string out;
  EXPECT_EQ(apply_whole("abc", "c", o, out), Applied::kMasked);
  EXPECT_EQ(out, "***");
  // Multi-byte characters count as one and are never split.
  apply_whole(
      "Stra\xC3\x9F"
      "e",
      "name", o, out);  // "Straße": 6 characters, 7 bytes
  EXPECT_EQ(out,
            "**ra\xC3\x9F"
            "e");
  apply_whole(
      "\xC3\xBC"
      "1234",
      "name", o, out);
  EXPECT_EQ(out, "*1234");
}

TEST(Actions, HashIsStablePerKeyAndDiffersAcrossKeys) {
  ActionOptions o = opts(Action::kHash);
  o.hmac_key = "k1";
  std::string a = mask("x 536-22-1234 y", o);
  ASSERT_EQ(a.size(), std::string("x tok_0123456789abcdef y").size());
  EXPECT_EQ(a.substr(0, 6), "x tok_");
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 6), 22u);
  EXPECT_EQ(mask("x 536-22-1234 y", o), a);  // stable: joins still work
  EXPECT_NE(mask("x 536-22-1235 y", o), a);  // distinct values, distinct tokens
  o.hmac_key = "k2";
  EXPECT_NE(mask("x 536-22-1234 y", o), a);  // another key, another token
  std::string whole;
  o.hmac_key = "k1";
  apply_whole("536-22-1234", "ssn", o, whole);
  EXPECT_EQ(whole, a.substr(2, 20));  // column rule and detector agree
}

TEST(Actions, NullAndUnchanged) {
  ActionOptions o = opts(Action::kNull);
  Applied applied;
  mask("536-22-1234", o, &applied);
  EXPECT_EQ(applied, Applied::kNull);
  EXPECT_EQ(mask("nothing here", o, &applied), "nothing here");
  EXPECT_EQ(applied, Applied::kUnchanged);
  std::string out;
  EXPECT_EQ(apply_whole("v", "c", o, out), Applied::kNull);
}

TEST(Actions, ReusesCallerBuffer) {
  ActionOptions o = opts(Action::kPartial);
  std::vector<Finding> f;
  f.reserve(8);
  std::string out;
  out.reserve(256);
  const char* data = out.data();
  for (int i = 0; i < 100; ++i) {
    f.clear();
    ASSERT_TRUE(engine()->scan("ssn 536-22-1234 and a@b.io", f));
    apply_findings("ssn 536-22-1234 and a@b.io", f, o, out);
  }
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out, "ssn *******1234 and **b.io");
}

TEST(Actions, ClampsMalformedFindings) {
  std::vector<Finding> f = {{0, "X", 2, 5, 1.0f}, {0, "X", 4, 99, 1.0f}};
  std::string out;
  apply_findings("abcdefg", f, opts(Action::kRedact), out);
  EXPECT_EQ(out, "ab[X][X]");
}

TEST(Actions, ParseAction) {
  EXPECT_EQ(parse_action("hash").value(), Action::kHash);
  EXPECT_EQ(parse_action("null").value(), Action::kNull);
  EXPECT_FALSE(parse_action("drop").ok());
}

}  // namespace
}  // namespace phigate::mask
