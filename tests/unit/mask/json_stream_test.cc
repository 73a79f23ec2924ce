#include "mask/json_stream.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "json_config.h"

namespace phigate::mask {
namespace {

JsonMaskConfig config(std::vector<std::pair<std::string, std::string>> rules,
                      std::vector<std::string> detectors) {
  return testing::json_config(rules, std::move(detectors));
}

// Masks `in` fed in pieces of `step` bytes.
bool run(const JsonMaskConfig& c, std::string_view in, size_t step, std::string& out) {
  JsonStreamMasker m(c);
  out.clear();
  for (size_t i = 0; i < in.size(); i += step) {
    if (!m.feed(in.substr(i, step), out)) return false;
  }
  return m.finish(out);
}

const char* kDoc =
    R"({"patient":[{"name":"Ann","ssn":"412-39-7710","age":42,"addr":{"city":"X","zip":"01101"}},
 {"name":"Bob \"B\"","ssn":"536-22-8741","age":null,"addr":{"city":"Y","zip":"02139"}}],
 "note":"mail ann.lee@example.org or \u0034\u0031\u0032-39-7710","n":-1.5e3,"ok":true,"e":[],"o":{}})";

TEST(JsonStreamMasker, SameOutputAtEverySplit) {
  auto c = config(
      {{"$.patient[*].ssn", "redact"}, {"$.patient[*].addr", "redact"}, {"$..age", "partial"}},
      {"US_SSN", "EMAIL_ADDRESS"});
  std::string whole;
  ASSERT_TRUE(run(c, kDoc, std::string_view(kDoc).size(), whole));
  auto j = nlohmann::json::parse(whole);
  EXPECT_EQ(j["patient"][0]["ssn"], "[ssn]");
  EXPECT_EQ(j["patient"][1]["addr"]["city"], "[addr]");
  EXPECT_EQ(j["patient"][0]["age"], "**");  // partial of "42": short values masked whole
  EXPECT_TRUE(j["patient"][1]["age"].is_null());
  EXPECT_EQ(j["patient"][1]["name"], "Bob \"B\"");
  const std::string note = j["note"];
  EXPECT_EQ(note.find("ann.lee"), std::string::npos) << note;
  EXPECT_EQ(note.find("7710"), std::string::npos) << note;
  EXPECT_EQ(j["n"], -1.5e3);
  for (size_t step = 1; step < std::string_view(kDoc).size(); ++step) {
    std::string out;
    ASSERT_TRUE(run(c, kDoc, step, out)) << step;
    EXPECT_EQ(out, whole) << "step " << step;
  }
}

TEST(JsonStreamMasker, PassthroughIsByteExactWithoutRules) {
  auto c = config({}, {});
  std::string out;
  for (size_t step = 1; step < 40; ++step) {
    ASSERT_TRUE(run(c, kDoc, step, out));
    EXPECT_EQ(out, kDoc);
  }
}

TEST(JsonStreamMasker, RefusesMalformed) {
  auto c = config({}, {"US_SSN"});
  std::string out;
  for (const char* bad : {"{", "[1,]", "{\"a\" 1}", "{\"a\":tru}", "\"abc", "[1 2]", "{1:2}",
                          "\"a\\x\"", "[\"\x01\"]", "}", "[01]", "{\"a\":1,}", "nulll"}) {
    EXPECT_FALSE(run(c, bad, 1, out)) << bad;
  }
  // NDJSON: several top-level values are fine.
  EXPECT_TRUE(run(c, "{\"a\":1}\n{\"a\":2}\n", 3, out));
}

TEST(JsonStreamMasker, OversizeValueIsReplacedNotPassed) {
  auto c = config({}, {"US_SSN"});
  c.max_value = 16;
  std::string doc = "[\"" + std::string(100, 'a') + " 412-39-7710\",\"short\"]";
  std::string out;
  ASSERT_TRUE(run(c, doc, 7, out));
  EXPECT_EQ(out, "[\"[OVERSIZE]\",\"short\"]");
}

TEST(JsonStreamMasker, DepthLimit) {
  auto c = config({}, {});
  c.max_depth = 10;
  std::string out;
  EXPECT_FALSE(run(c, std::string(11, '['), 1, out));
}

TEST(JsonPath, Matching) {
  auto p = *parse_json_path("$..identifier[*].value");
  std::vector<JsonPathElem> path = {{false, "entry", 0},      {true, "", 3}, {false, "resource", 0},
                                    {false, "identifier", 0}, {true, "", 0}, {false, "value", 0}};
  EXPECT_TRUE(json_path_matches(p, path));
  path.back().key = "system";
  EXPECT_FALSE(json_path_matches(p, path));
  EXPECT_FALSE(parse_json_path("patient.ssn").ok());
  EXPECT_FALSE(parse_json_path("$[").ok());
  EXPECT_TRUE(parse_json_path("$['a b'][2].*").ok());
}

TEST(TextStreamMasker, FindsAcrossPieceBoundaries) {
  Profile prof;
  prof.detectors = {"US_SSN", "EMAIL_ADDRESS"};
  auto engine = *Engine::compile(prof);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + " ssn 412-39-7710 x@y.org\n";
  for (size_t step : {1ul, 7ul, 4096ul, 100000ul}) {
    TextStreamMasker m(engine, Action::kRedact, "", 1024, 128);
    std::string out;
    for (size_t i = 0; i < text.size(); i += step)
      ASSERT_TRUE(m.feed(std::string_view(text).substr(i, step), out));
    ASSERT_TRUE(m.finish(out));
    EXPECT_EQ(out.find("412-39-7710"), std::string::npos) << step;
    EXPECT_EQ(out.find("x@y.org"), std::string::npos) << step;
    EXPECT_EQ(m.counts().at("US_SSN"), 2000u) << step;
  }
}

}  // namespace
}  // namespace phigate::mask
