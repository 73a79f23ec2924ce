// The admin API without sockets: routing, bearer authentication, body and query handling, and the
// JSON error shape of every refusal.
#include <gtest/gtest.h>

#include "../temp_dir.h"
#include "admin/router.h"
#include "identity/token_verifier.h"

namespace phigate::admin {
namespace {

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    issuer_ = *LocalIssuer::load_or_create(dir_.path(), "gw-test");
    verifier_ = std::make_unique<TokenVerifier>(
        issuer_, "local", std::map<std::string, std::vector<std::string>>{{"sec", {"reviewer"}}});
    api_ = std::make_unique<AdminApi>(*verifier_, nullptr, "gw-test");
    api_->router().add(
        "GET", "/v1/health",
        [](const Call&) {
          return Reply{200, {{"status", "ok"}}};
        },
        true);
    api_->router().add("POST", "/v1/things/{id}/poke", [](const Call& c) {
      Reply r;
      r.body = {{"id", c.params.at("id")},
                {"sub", c.identity.sub},
                {"roles", c.identity.roles},
                {"n", c.body.value("n", 0)}};
      return r;
    });
    api_->router().add("GET", "/v1/things", [](const Call& c) {
      Reply r;
      r.body = {{"q", c.query}};
      return r;
    });
    token_ = issuer_->issue(IssueRequest{.sub = "bob", .groups = {"sec"}});
  }
  Reply call(std::string method, std::string target, std::string auth = {}, std::string body = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.authorization = std::move(auth);
    r.body = std::move(body);
    return api_->handle(r);
  }
  void expect_error(const Reply& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body.dump();
    EXPECT_EQ(r.body.value("error", ""), code) << r.body.dump();
    EXPECT_FALSE(r.body.value("message", "").empty()) << r.body.dump();
  }

  testing::TempDir dir_;
  std::shared_ptr<LocalIssuer> issuer_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<AdminApi> api_;
  std::string token_;
};

TEST_F(AdminApiTest, PublicRouteNeedsNoToken) {
  Reply r = call("GET", "/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ok");
}

TEST_F(AdminApiTest, PathParamsIdentityAndBody) {
  Reply r = call("POST", "/v1/things/a%2Db/poke", "Bearer " + token_, R"({"n": 3})");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["id"], "a-b");
  EXPECT_EQ(r.body["sub"], "bob");
  EXPECT_EQ(r.body["roles"], nlohmann::json::array({"reviewer"}));
  EXPECT_EQ(r.body["n"], 3);
  // The scheme name is case-insensitive (RFC 7235).
  EXPECT_EQ(call("POST", "/v1/things/x/poke", "bearer " + token_).status, 200);
}

TEST_F(AdminApiTest, MissingOrBadTokenIs401Json) {
  expect_error(call("POST", "/v1/things/x/poke"), 401, "unauthorized");
  expect_error(call("POST", "/v1/things/x/poke", "Basic Ym9iOnB3"), 401, "unauthorized");
  expect_error(call("POST", "/v1/things/x/poke", "Bearer "), 401, "unauthorized");
  expect_error(call("POST", "/v1/things/x/poke", "Bearer garbage"), 401, "unauthorized");
  std::string tampered = token_;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  expect_error(call("POST", "/v1/things/x/poke", "Bearer " + tampered), 401, "unauthorized");
  // Authentication comes before the body is looked at.
  expect_error(call("POST", "/v1/things/x/poke", "", "{bad"), 401, "unauthorized");
}

TEST_F(AdminApiTest, RoutingErrors) {
  expect_error(call("GET", "/v1/nothing", "Bearer " + token_), 404, "not_found");
  expect_error(call("DELETE", "/v1/things/x/poke", "Bearer " + token_), 405, "method_not_allowed");
  expect_error(call("POST", "/v1/things//poke", "Bearer " + token_), 404, "not_found");
  // A {param} never spans segments, even percent-encoded.
  expect_error(call("POST", "/v1/things/a%2Fb/poke", "Bearer " + token_), 404, "not_found");
  expect_error(call("POST", "/v1/things/%zz/poke", "Bearer " + token_), 404, "not_found");
  expect_error(call("POST", "/v1/things/%00/poke", "Bearer " + token_), 404, "not_found");
  expect_error(call("GET", "relative", "Bearer " + token_), 404, "not_found");
}

TEST_F(AdminApiTest, BodyMustBeAJsonObjectWithTypedFields) {
  std::string auth = "Bearer " + token_;
  expect_error(call("POST", "/v1/things/x/poke", auth, "{not json"), 400, "bad_json");
  expect_error(call("POST", "/v1/things/x/poke", auth, "[1,2]"), 400, "bad_json");
  expect_error(call("POST", "/v1/things/x/poke", auth, "\"s\""), 400, "bad_json");
  expect_error(call("POST", "/v1/things/x/poke", auth, R"({"n": "three"})"), 400, "bad_request");
  EXPECT_EQ(call("POST", "/v1/things/x/poke", auth, "").status, 200);
}

TEST_F(AdminApiTest, QueryString) {
  std::string auth = "Bearer " + token_;
  Reply r = call("GET", "/v1/things?state=pending&x=a+b%21&flag&&state=last", auth);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["q"]["state"], "last");
  EXPECT_EQ(r.body["q"]["x"], "a b!");
  EXPECT_EQ(r.body["q"]["flag"], "");
  expect_error(call("GET", "/v1/things?x=%4", auth), 400, "bad_request");
  std::string many = "/v1/things?";
  for (int i = 0; i < 100; ++i) many += "k" + std::to_string(i) + "=v&";
  expect_error(call("GET", many, auth), 400, "bad_request");
}

TEST(PercentDecode, Cases) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b+c", out, true));
  EXPECT_EQ(out, "a b c");
  EXPECT_TRUE(percent_decode("a+c", out, false));
  EXPECT_EQ(out, "a+c");
  EXPECT_FALSE(percent_decode("%", out, false));
  EXPECT_FALSE(percent_decode("%4", out, false));
  EXPECT_FALSE(percent_decode("%G0", out, false));
  EXPECT_FALSE(percent_decode("a%00", out, false));
  EXPECT_TRUE(percent_decode("%41", out, false));
  EXPECT_EQ(out, "A");
}

}  // namespace
}  // namespace phigate::admin
