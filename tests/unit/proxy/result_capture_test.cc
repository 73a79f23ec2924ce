// Result capture (proxy/result_capture.h): limits, column names, result sets, malformed input.
#include "proxy/result_capture.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace phigate::proxy {
namespace {

using nlohmann::json;

Bytes desc(std::initializer_list<const char*> names) {
  Bytes b;
  b.push_back(0);
  b.push_back(static_cast<uint8_t>(names.size()));
  for (const char* n : names) {
    b.insert(b.end(), n, n + std::strlen(n));
    b.push_back(0);
    b.insert(b.end(), 18, 0);
  }
  return b;
}

// DataRow body: nullptr = NULL.
Bytes row(std::initializer_list<const char*> vals) {
  Bytes b;
  b.push_back(0);
  b.push_back(static_cast<uint8_t>(vals.size()));
  for (const char* v : vals) {
    int32_t n = v ? static_cast<int32_t>(std::strlen(v)) : -1;
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(uint32_t(n) >> s));
    if (v) b.insert(b.end(), v, v + n);
  }
  return b;
}

int owner_a, owner_b;

TEST(ResultCapture, RowsLimitAndNames) {
  ResultCapture c(2, 1024);
  c.on_row_description(desc({"id", "name"}));
  c.on_data_row(&owner_a, row({"1", "ann"}));
  c.on_data_row(&owner_a, row({"2", nullptr}));
  c.on_data_row(&owner_a, row({"3", "cy"}));
  json j = json::parse(c.take(&owner_a));
  EXPECT_EQ(j["results"][0]["columns"], json({"id", "name"}));
  EXPECT_EQ(j["results"][0]["rows"], json::parse(R"([["1","ann"],["2",null]])"));
  EXPECT_TRUE(j["truncated"]);
  EXPECT_EQ(c.take(&owner_a), "") << "taken once";
}

TEST(ResultCapture, BytesLimitCutsAtUtf8Boundary) {
  ResultCapture c(100, 5);
  c.on_data_row(&owner_a, row({"ab"}));
  c.on_data_row(&owner_a, row({"c\xC3\xA9xyz"}));  // "céxyz": 3 bytes left, é is 2 bytes
  c.on_data_row(&owner_a, row({"never"}));
  json j = json::parse(c.take(&owner_a));
  EXPECT_EQ(j["results"][0]["rows"], json::parse("[[\"ab\"],[\"c\xC3\xA9\"]]"));
  EXPECT_TRUE(j["truncated"]);
}

TEST(ResultCapture, NoRowsNoBlobAndUntruncated) {
  ResultCapture c(5, 100);
  c.on_row_description(desc({"x"}));
  EXPECT_EQ(c.take(&owner_a), "");
  c.on_data_row(&owner_a, row({"1"}));
  json j = json::parse(c.take(&owner_a));
  EXPECT_FALSE(j["truncated"]);
}

TEST(ResultCapture, DescriptionIsNotReusedByTheNextStatement) {
  ResultCapture c(5, 100);
  c.on_row_description(desc({"secret_col"}));
  c.on_data_row(&owner_a, row({"1"}));
  EXPECT_NE(c.take(&owner_a).find("secret_col"), std::string::npos);
  c.on_data_row(&owner_b, row({"2"}));  // re-executed prepared statement: no Describe
  json j = json::parse(c.take(&owner_b));
  EXPECT_EQ(j["results"][0]["columns"], json::array());
}

TEST(ResultCapture, SeveralResultSetsInOneQuery) {
  ResultCapture c(5, 100);
  c.on_row_description(desc({"a"}));
  c.on_data_row(&owner_a, row({"1"}));
  c.on_row_description(desc({"b"}));
  c.on_data_row(&owner_a, row({"2"}));
  json j = json::parse(c.take(&owner_a));
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][1]["columns"], json({"b"}));
  EXPECT_EQ(j["results"][1]["rows"], json::parse(R"([["2"]])"));
}

TEST(ResultCapture, NewOwnerStartsOverAndBinaryIsHex) {
  ResultCapture c(5, 100);
  c.on_data_row(&owner_a, row({"a"}));
  Bytes bin = row({"xx"});
  bin[bin.size() - 2] = 0x00;  // a NUL byte: not text
  bin[bin.size() - 1] = 0xff;
  c.on_data_row(&owner_b, bin);
  EXPECT_EQ(c.take(&owner_a), "") << "owner a's capture was replaced";
  json j = json::parse(c.take(&owner_b));
  EXPECT_EQ(j["results"][0]["rows"][0][0], "\\x00ff");
}

TEST(ResultCapture, MalformedBodiesAreIgnored) {
  ResultCapture c(5, 100);
  c.on_row_description(Bytes{0, 1, 'a'});  // name without terminator
  Bytes bad = row({"abc"});
  bad.pop_back();  // length says 3, 2 present
  c.on_data_row(&owner_a, bad);
  c.on_data_row(&owner_a, Bytes{0});
  c.on_data_row(&owner_a, row({"ok"}));
  json j = json::parse(c.take(&owner_a));
  EXPECT_EQ(j["results"][0]["rows"], json::parse(R"([["ok"]])"));
  EXPECT_EQ(j["results"][0]["columns"], json::array());
}

TEST(ResultCapture, DisabledCapturesNothing) {
  ResultCapture c(0, 100);
  EXPECT_FALSE(c.enabled());
  c.on_data_row(&owner_a, row({"1"}));
  EXPECT_EQ(c.take(&owner_a), "");
}

}  // namespace
}  // namespace phigate::proxy
