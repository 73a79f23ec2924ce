// HTTP rule matching beyond methods/paths: query parameters, JSON body fields, max_body.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/config.h"
#include "policy/snapshot.h"

namespace phigate {
namespace {

const char* kPolicy = R"(
resources:
  - { name: api, type: http, upstream: "http://127.0.0.1:9000",
      http: { mask: { profile: fhir, fields: [ { path: "$.a", action: partial } ] },
              upstream_timeout: 5s } }
roles:
  client:
    resources: [api]
    max_body: 100
    rules:
      - { name: no-debug, match: { query: { debug: "*" } }, action: deny }
      - { name: no-delete, match: { methods: [POST], body: { "$.action": "delete" } }, action: deny }
      - { name: ok-format, match: { methods: [GET], query: { format: json } }, action: allow }
      - { name: ok-read, match: { methods: [POST], body: { "$.action": "read", "$.items[*].kind": "lab*" } }, action: allow }
      - { name: hold-put, match: { methods: [PUT] }, action: review }
)";

class HttpRules : public ::testing::Test {
 protected:
  void SetUp() override {
    auto load = load_config_text(kPolicy);
    ASSERT_TRUE(load.config) << format_errors(load);
    EXPECT_EQ(load.config->resources[0].http.mask.profile, "fhir");
    EXPECT_EQ(load.config->resources[0].http.upstream_timeout.count(), 5000);
    snap_ = *PolicySnapshot::compile(*load.config, 1);
    id_.roles = {"client"};
  }
  Verdict decide(std::string_view method, std::vector<std::pair<std::string, std::string>> q,
                 const char* body_json = nullptr, uint64_t size = 0, bool opaque = false) {
    query_ = std::move(q);
    HttpBodyView bv;
    nlohmann::json parsed;
    if (body_json || opaque || size) {
      bv.state = opaque ? HttpBodyView::State::kOpaque : HttpBodyView::State::kJson;
      if (body_json) {
        parsed = nlohmann::json::parse(body_json);
        bv.json = &parsed;
      }
      bv.size = size;
    }
    Request r;
    r.identity = &id_;
    r.resource = "api";
    r.protocol = "http";
    r.action = ActionKind::kHttpRequest;
    r.method = method;
    r.path = "/x";
    r.query = &query_;
    r.body = &bv;
    return snap_->decide(r);
  }
  std::shared_ptr<const PolicySnapshot> snap_;
  Identity id_;
  std::vector<std::pair<std::string, std::string>> query_;
};

TEST_F(HttpRules, Query) {
  EXPECT_EQ(decide("GET", {{"format", "json"}}).rule, "ok-format");
  EXPECT_EQ(decide("GET", {{"format", "xml"}}).kind, VerdictKind::kDeny);
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"debug", "1"}}).rule, "no-debug");
  // A repeated parameter: an allow rule needs every value to match.
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"format", "xml"}}).kind, VerdictKind::kDeny);
}

// Deny rules compare query names and values, and body values, without regard to case (frameworks
// that bind `?DEBUG=` to `debug` or read "DELETE" as "delete"); allow rules stay exact.
TEST_F(HttpRules, DenyRulesIgnoreCaseAllowRulesDoNot) {
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"DEBUG", "1"}}).rule, "no-debug");
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"Debug", "1"}}).rule, "no-debug");
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"debug[]", "1"}}).rule, "no-debug");
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"debug[x]", "1"}}).rule, "no-debug");
  EXPECT_EQ(decide("GET", {{"format", "json"}, {"debugger", "1"}}).rule, "ok-format");
  EXPECT_EQ(decide("POST", {}, R"({"action":"DELETE"})", 20).rule, "no-delete");
  EXPECT_EQ(decide("POST", {}, R"({"action":"Delete"})", 20).rule, "no-delete");
  EXPECT_EQ(decide("GET", {{"FORMAT", "json"}}).kind, VerdictKind::kDeny);
  EXPECT_EQ(decide("GET", {{"format", "JSON"}}).kind, VerdictKind::kDeny);
  EXPECT_EQ(decide("POST", {}, R"({"action":"READ","items":[{"kind":"lab1"}]})", 50).kind,
            VerdictKind::kDeny);
}

TEST_F(HttpRules, Body) {
  EXPECT_EQ(decide("POST", {}, R"({"action":"delete"})", 20).rule, "no-delete");
  EXPECT_EQ(
      decide("POST", {}, R"({"action":"read","items":[{"kind":"lab1"},{"kind":"lab2"}]})", 50).rule,
      "ok-read");
  Verdict v =
      decide("POST", {}, R"({"action":"read","items":[{"kind":"lab1"},{"kind":"rx"}]})", 50);
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  // A body policy cannot read matches deny rules (conservative) and no allow rule.
  EXPECT_EQ(decide("POST", {}, nullptr, 20, /*opaque=*/true).rule, "no-delete");
}

TEST_F(HttpRules, MaxBodyAndReview) {
  Verdict v = decide("POST", {}, R"({"action":"read","items":[{"kind":"lab1"}]})", 500);
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  EXPECT_EQ(v.rule, "max_body");
  EXPECT_EQ(v.code, "413");
  EXPECT_EQ(decide("PUT", {}).kind, VerdictKind::kHold);
  EXPECT_EQ(decide("PUT", {}).rule, "hold-put");
}

TEST(HttpConfig, Errors) {
  auto load = load_config_text(R"(
resources:
  - { name: api, type: http, upstream: "http://h:1", inject_headers: { "X-K": "${vault:x}" },
      http: { mask: { profile: hl7, detector_action: shred, fields: [ { path: "a.b" } ] }, nope: 1 } }
roles:
  r: { resources: [api], rules: [ { match: { body: { "action": "x" } }, action: allow } ] }
)");
  ASSERT_FALSE(load.config);
  std::string all = format_errors(load);
  for (const char* want : {"unknown key 'nope'", "not a known profile", "shred", "a.b",
                           "${env:NAME}", "is not a JSON path (e.g. $.action)"}) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
  }
}

}  // namespace
}  // namespace phigate

namespace phigate {
namespace {

TEST(HttpConfigParse, CompressionAndCaptureKeys) {
  auto load = load_config_text(R"(
resources:
  - { name: api, type: http, upstream: "http://127.0.0.1:9000",
      http: { mask: { accept_compressed: true, max_decoded: 1048576 }, capture_bodies: 4096 } }
)");
  ASSERT_TRUE(load.config) << format_errors(load);
  const auto& http = load.config->resources[0].http;
  EXPECT_TRUE(http.mask.accept_compressed);
  EXPECT_EQ(http.mask.max_decoded, 1048576u);
  EXPECT_EQ(http.capture_bodies, 4096u);
  auto bad = load_config_text(R"(
resources:
  - { name: api, type: http, upstream: "http://127.0.0.1:9000",
      http: { mask: { accept_compressed: maybe } } }
)");
  EXPECT_FALSE(bad.config);
  EXPECT_NE(format_errors(bad).find("expected true or false"), std::string::npos)
      << format_errors(bad);
}

}  // namespace
}  // namespace phigate
