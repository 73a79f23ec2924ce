#include "common/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace phigate {
namespace {

// The escaping rules, one byte at a time: what the 16-byte fast path must agree with.
std::string reference(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);  // ASCII only in this test: no UTF-8 handling involved
    }
  }
  return out + "\"";
}

// Every special byte at every position of strings around the 16-byte steps.
TEST(JsonString, SpecialByteAnywhereIsEscapedAndPlainnessIsExact) {
  for (size_t len = 0; len <= 40; ++len) {
    std::string base;
    for (size_t i = 0; i < len; ++i) base += static_cast<char>('a' + i % 26);
    EXPECT_TRUE(json_plain(base));
    EXPECT_EQ(json_string(base), "\"" + base + "\"");
    for (size_t at = 0; at < len; ++at) {
      for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f'}) {
        std::string s = base;
        s[at] = special;
        EXPECT_FALSE(json_plain(s)) << len << " " << at << " " << int(special);
        EXPECT_EQ(json_string(s), reference(s)) << len << " " << at << " " << int(special);
      }
    }
  }
  EXPECT_TRUE(json_plain(" ~"));
  EXPECT_FALSE(json_plain("caf\xc3\xa9"));                   // not ASCII: not written unchanged...
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // ...though valid UTF-8 is copied
  EXPECT_EQ(json_string("a\xff"), "\"a\xEF\xBF\xBD\"");      // invalid UTF-8: U+FFFD
}

TEST(JsonString, DecodesEscapesAndSurrogates) {
  std::string out;
  ASSERT_TRUE(decode_json_string(R"(a\"b\\c\/d\b\f\n\r\t)", out));
  EXPECT_EQ(out, "a\"b\\c/d\b\f\n\r\t");
  ASSERT_TRUE(decode_json_string(R"(\u0034\u00e9\u20AC)", out));
  EXPECT_EQ(out, "4\xc3\xa9\xe2\x82\xac");
  ASSERT_TRUE(decode_json_string(R"(\ud83d\ude00)", out));  // a surrogate pair: one code point
  EXPECT_EQ(out, "\xf0\x9f\x98\x80");
  ASSERT_TRUE(decode_json_string(R"(\ud83dx\ude00)", out));  // lone halves: U+FFFD each
  EXPECT_EQ(out, "\xEF\xBF\xBDx\xEF\xBF\xBD");
  for (const char* bad : {R"(\)", R"(\x)", R"(\u12)", R"(\u12g4)"}) {
    EXPECT_FALSE(decode_json_string(bad, out)) << bad;
  }
}

}  // namespace
}  // namespace phigate
