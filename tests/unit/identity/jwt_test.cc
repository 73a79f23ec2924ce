#include "identity/jwt.h"

#include <limits>

#include <gtest/gtest.h>

#include "test_support.h"

namespace phigate {
namespace {

using nlohmann::json;

TEST(StrictJson, AcceptsPlainObjects) {
  auto v = parse_json_object_strict(R"( {"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]} )");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ((*v)["b"]["a"], 2);
  EXPECT_TRUE(parse_json_object_strict("{}").has_value());
}

TEST(StrictJson, RejectsDuplicatesAtAnyDepth) {
  EXPECT_FALSE(parse_json_object_strict(R"({"a":1,"a":1})").has_value());
  EXPECT_FALSE(parse_json_object_strict(R"({"a":1,"b":2,"a":3})").has_value());
  EXPECT_FALSE(parse_json_object_strict(R"({"x":{"a":1,"a":2}})").has_value());
  EXPECT_FALSE(parse_json_object_strict(R"({"x":[{"a":1},{"b":1,"b":2}]})").has_value());
  // Same name after a nested object closes is still a duplicate of the outer one.
  EXPECT_FALSE(parse_json_object_strict(R"({"a":{"a":1},"a":2})").has_value());
  // Escapes decode to the same name.
  EXPECT_FALSE(parse_json_object_strict(R"({"sub":1,"s\u0075b":2})").has_value());
  // Siblings in different objects are fine.
  EXPECT_TRUE(parse_json_object_strict(R"({"x":{"a":1},"y":{"a":1},"a":0})").has_value());
}

TEST(StrictJson, RejectsNonObjectsAndLaxSyntax) {
  for (const char* text :
       {"", "[]", "1", "\"s\"", "null", "true", "{", "{}}", "{} 1", "{\"a\":1,}", "{'a':1}",
        "{\"a\":01}", "{\"a\":NaN}", "/*c*/{}", "{} //c", "\xEF\xBB\xBF{}", "{\"a\":\"\xC3\"}"}) {
    EXPECT_FALSE(parse_json_object_strict(text).has_value()) << text;
  }
  std::string ok_depth = std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']');
  EXPECT_TRUE(parse_json_object_strict("{\"a\":" + ok_depth + "}").has_value());
  std::string too_deep = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_FALSE(parse_json_object_strict("{\"a\":" + too_deep + "}").has_value());
  std::string deep_objects;
  for (int i = 0; i < 5000; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(5000, '}');
  EXPECT_FALSE(parse_json_object_strict(deep_objects).has_value());
}

TEST(ParseJws, SplitsAndKeepsSigningInput) {
  std::string h = testing::b64(R"({"alg":"EdDSA"})");
  std::string p = testing::b64(R"({"sub":"a"})");
  std::string s = base64url_encode(Bytes{1, 2, 3});
  auto jws = parse_jws(h + "." + p + "." + s);
  ASSERT_TRUE(jws.ok()) << jws.error().message;
  EXPECT_EQ(jws->header["alg"], "EdDSA");
  EXPECT_EQ(jws->payload["sub"], "a");
  EXPECT_EQ(jws->signing_input, h + "." + p);
  EXPECT_EQ(jws->signature, (Bytes{1, 2, 3}));

  for (const std::string& bad : {h + "." + p, h + "." + p + "." + s + ".", "." + p + "." + s,
                                 h + ".." + s, h + "=." + p + "." + s, h + "." + p + "." + s + "=",
                                 h + " ." + p + "." + s, std::string("...")}) {
    auto r = parse_jws(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "malformed");
  }
}

TEST(NumericDate, TypesAndSaturation) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(numeric_date(json(12)), 12);
  EXPECT_EQ(numeric_date(json(-12)), -12);
  EXPECT_EQ(numeric_date(json(12.9)), 12);
  EXPECT_EQ(numeric_date(json(-12.1)), -13);
  EXPECT_EQ(numeric_date(json(1e300)), kMax);
  EXPECT_EQ(numeric_date(json(-1e300)), kMin);
  EXPECT_EQ(numeric_date(json(18446744073709551615ull)), kMax);
  EXPECT_EQ(numeric_date(json::parse("123456789012345678901234567890")), kMax);
  EXPECT_FALSE(numeric_date(json("12")).has_value());
  EXPECT_FALSE(numeric_date(json(true)).has_value());
  EXPECT_FALSE(numeric_date(json(nullptr)).has_value());
}

}  // namespace
}  // namespace phigate
