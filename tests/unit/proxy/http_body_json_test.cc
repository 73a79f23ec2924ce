#include "proxy/http_body_json.h"

#include <gtest/gtest.h>

namespace phigate::proxy {
namespace {

TEST(RuleBody, ReadsPlainJson) {
  auto j = parse_rule_body(R"({"action":"read","items":[{"op":"a"},{"op":"b"}],"n":{"op":"c"}})");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["action"], "read");
  EXPECT_EQ(j["items"][1]["op"], "b");
}

TEST(RuleBody, SameNameInDifferentObjectsIsFine) {
  auto j = parse_rule_body(R"({"op":"x","a":{"op":"y"},"b":[{"op":"z"},{"op":"w"}]})");
  EXPECT_FALSE(j.is_discarded());
}

TEST(RuleBody, DuplicateMemberNamesAreUnreadable) {
  for (const char* body :
       {R"({"action":"read","action":"delete"})", R"({"action":"delete","action":"read"})",
        R"({"a":{"op":"x","op":"y"}})", R"([{"ok":1},{"k":1,"k":2}])",
        R"({"\u0061ction":"delete","action":"read"})"}) {
    EXPECT_TRUE(parse_rule_body(body).is_discarded()) << body;
  }
}

TEST(RuleBody, NotJsonIsUnreadable) {
  for (const char* body : {"", "{", R"({"a":1} trailing)", "{'a':1}", "\xff\xfe{}"}) {
    EXPECT_TRUE(parse_rule_body(body).is_discarded()) << body;
  }
}

}  // namespace
}  // namespace phigate::proxy
