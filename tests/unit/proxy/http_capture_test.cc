// HTTP body capture (proxy/http_capture.h): blob format, cap, UTF-8 and binary bodies.
#include "proxy/http_capture.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace phigate::proxy {
namespace {

using nlohmann::json;

TEST(HttpBodyCapture, OffByDefaultAndWithZeroCap) {
  HttpBodyCapture c;
  c.request("abc");
  c.response("def");
  EXPECT_EQ(c.render(), "");
  c.start(0, "application/json");
  c.request("abc");
  EXPECT_FALSE(c.enabled());
  EXPECT_EQ(c.render(), "");
}

TEST(HttpBodyCapture, NothingWithoutBodies) {
  HttpBodyCapture c;
  c.start(100, "");
  c.response_head(204, "");
  EXPECT_EQ(c.render(), "");
}

TEST(HttpBodyCapture, BothSidesUnderTheCap) {
  HttpBodyCapture c;
  c.start(100, "application/json");
  c.request("{\"a\":");
  c.request("1}");
  c.response_head(200, "application/json; charset=utf-8");
  c.response("{\"ssn\":\"[US_SSN]\"}");
  json j = json::parse(c.render());
  EXPECT_EQ(j["request"]["body"], "{\"a\":1}");
  EXPECT_EQ(j["request"]["content_type"], "application/json");
  EXPECT_EQ(j["request"]["bytes"], 7);
  EXPECT_EQ(j["request"]["truncated"], false);
  EXPECT_EQ(j["response"]["body"], "{\"ssn\":\"[US_SSN]\"}");
  EXPECT_EQ(j["response"]["status"], 200);
  EXPECT_EQ(j["response"]["content_type"], "application/json; charset=utf-8");
  EXPECT_EQ(j["response"]["truncated"], false);
}

TEST(HttpBodyCapture, CapIsHonouredAcrossPieces) {
  HttpBodyCapture c;
  c.start(10, "");
  c.response_head(200, "text/plain");
  for (int i = 0; i < 5; ++i) c.response("0123456");
  json j = json::parse(c.render());
  EXPECT_FALSE(j.contains("request"));
  EXPECT_EQ(j["response"]["body"], "0123456012");
  EXPECT_EQ(j["response"]["bytes"], 35);
  EXPECT_EQ(j["response"]["truncated"], true);
}

TEST(HttpBodyCapture, CapNeverSplitsUtf8) {
  HttpBodyCapture c;
  c.start(4, "");
  c.response_head(200, "text/plain");
  c.response("ab\xc3\xa9\xc3\xa9");  // "abéé": the cap falls inside the second é
  json j = json::parse(c.render());
  EXPECT_EQ(j["response"]["body"], "ab\xc3\xa9");
  EXPECT_EQ(j["response"]["truncated"], true);
}

TEST(HttpBodyCapture, BinaryIsHex) {
  HttpBodyCapture c;
  c.start(100, "application/octet-stream");
  c.request(std::string("\x00\x01\xff", 3));
  json j = json::parse(c.render());
  EXPECT_EQ(j["request"]["body"], "\\x0001ff");
  EXPECT_EQ(j["request"]["content_type"], "application/octet-stream");
}

TEST(HttpBodyCapture, StartResetsTheExchange) {
  HttpBodyCapture c;
  c.start(100, "");
  c.request("first");
  c.start(100, "");
  c.request("second");
  json j = json::parse(c.render());
  EXPECT_EQ(j["request"]["body"], "second");
}

TEST(HttpBodyCapture, RetriedRequestCountsOnceAndRefusalDropsResponse) {
  HttpBodyCapture c;
  c.start(100, "text/plain");
  c.request_whole("body");
  c.request_whole("body");
  c.response_head(200, "application/json");
  c.response("{\"partial\":");
  c.drop_response();
  json j = json::parse(c.render());
  EXPECT_EQ(j["request"]["body"], "body");
  EXPECT_EQ(j["request"]["content_type"], "text/plain");
  EXPECT_EQ(j["request"]["bytes"], 4);
  EXPECT_FALSE(j.contains("response"));
}

}  // namespace
}  // namespace phigate::proxy
