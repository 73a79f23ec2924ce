#include "codec/http/forwarded.h"

#include <gtest/gtest.h>

namespace phigate::http {
namespace {

TEST(Forwarded, TokenHostIsBare) {
  EXPECT_EQ(forwarded_value("example.com"), "example.com");
  std::string host = "labs-api.gw";
  EXPECT_EQ(forwarded_element("127.0.0.1", "http", &host),
            "for=127.0.0.1;proto=http;host=labs-api.gw");
}

TEST(Forwarded, HostWithPortIsQuoted) {
  // ':' is not a tchar.
  std::string host = "gw:18080";
  EXPECT_EQ(forwarded_element("10.0.0.1", "https", &host),
            "for=10.0.0.1;proto=https;host=\"gw:18080\"");
}

TEST(Forwarded, QuoteAndBackslashAreEscaped) {
  EXPECT_EQ(quoted_string("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quoted_string("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(forwarded_value("x\"y\\z"), "\"x\\\"y\\\\z\"");
  // Nothing else is escaped (a JSON encoder would have written \u00e9 or similar).
  EXPECT_EQ(forwarded_value("h\xc3\xa9;x=1"), "\"h\xc3\xa9;x=1\"");
  EXPECT_EQ(forwarded_value("a\tb"), "\"a\tb\"");
}

TEST(Forwarded, ControlCharactersAreOmitted) {
  EXPECT_FALSE(quoted_string(std::string("a\x01"
                                         "b"))
                   .has_value());
  EXPECT_FALSE(forwarded_value("a\r\nb").has_value());
  EXPECT_FALSE(forwarded_value(std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(forwarded_value("a\x7f").has_value());
  std::string host = "evil\r\nX-Injected: 1";
  EXPECT_EQ(forwarded_element("127.0.0.1", "http", &host), "for=127.0.0.1;proto=http");
}

TEST(Forwarded, Ipv6ClientIsBracketedAndQuoted) {
  EXPECT_EQ(forwarded_element("::1", "http", nullptr), "for=\"[::1]\";proto=http");
  EXPECT_EQ(forwarded_element("2001:db8::1", "https", nullptr),
            "for=\"[2001:db8::1]\";proto=https");
}

TEST(Forwarded, EmptyValues) {
  EXPECT_EQ(forwarded_value(""), "\"\"");
  EXPECT_EQ(forwarded_element("", "http", nullptr), "for=unknown;proto=http");
}

}  // namespace
}  // namespace phigate::http
