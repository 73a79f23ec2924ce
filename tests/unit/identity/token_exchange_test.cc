// RFC 8693 token exchange: narrowing, refusal of anything beyond the subject, TTL cap, act chain,
// and the HTTP/form face.
#include "identity/token_exchange.h"

#include <gtest/gtest.h>

#include "identity/jwt.h"
#include "identity/token_verifier.h"
#include "test_support.h"

namespace phigate {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000;

class TokenExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = LocalIssuer::load_or_create(dir_.path(), "gw-1");
    ASSERT_TRUE(issuer.ok());
    issuer_ = *issuer;
    verifier_ = std::make_unique<TokenVerifier>(
        issuer_, "local",
        std::map<std::string, std::vector<std::string>>{{"etl", {"etl-ingest", "analyst"}},
                                                        {"security", {"auditor"}}});
    ctx_.verifier = verifier_.get();
    ctx_.issuer = issuer_.get();
    // Role -> resources, as a policy snapshot would answer (and honouring Identity::resources).
    ctx_.can_access = [](const Identity& id, std::string_view resource) {
      if (id.resources &&
          std::find(id.resources->begin(), id.resources->end(), resource) == id.resources->end()) {
        return false;
      }
      for (const auto& r : id.roles) {
        if (r == "etl-ingest" && (resource == "clinic" || resource == "labs")) return true;
        if (r == "analyst" && resource == "clinic") return true;
      }
      return false;
    };
  }
  std::string subject(IssueRequest r, int64_t at = kNow) {
    auto t = issuer_->try_issue(r, at);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : "";
  }
  TokenExchangeRequest request(const std::string& token) {
    TokenExchangeRequest r;
    r.grant_type = std::string(kGrantTypeTokenExchange);
    r.subject_token = token;
    r.subject_token_type = std::string(kTokenTypeJwt);
    return r;
  }
  std::string error_of(const TokenExchangeRequest& r) {
    auto x = exchange_token(r, ctx_, kNow);
    if (x.ok()) return "ok";
    EXPECT_EQ(x.error().message.find(r.subject_token.substr(0, 24)), std::string::npos);
    return x.error().code;
  }

  testing::TempDir dir_;
  std::shared_ptr<LocalIssuer> issuer_;
  std::unique_ptr<TokenVerifier> verifier_;
  TokenExchangeContext ctx_;
  IssueRequest workflow_{.sub = "etl-bot",
                         .groups = {"etl"},
                         .ttl = std::chrono::seconds(3600),
                         .workflow_id = "wf-9",
                         .act_sub = "dr.jones"};
};

TEST_F(TokenExchangeTest, NarrowsRolesResourcesAndLifetime) {
  auto req = request(subject(workflow_));
  req.scope = "role:analyst resource:clinic";
  req.task_id = "task-3";
  req.ttl = "5m";
  auto x = exchange_token(req, ctx_, kNow);
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->expires_in, 300);
  EXPECT_EQ(x->scope, "role:analyst resource:clinic");
  EXPECT_EQ(x->issued_token_type, kTokenTypeAccessToken);

  auto id = verifier_->verify(x->access_token, kNow + 1);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->sub, "etl-bot");
  EXPECT_EQ(id->roles, std::vector<std::string>{"analyst"});  // etl-ingest dropped
  ASSERT_TRUE(id->resources.has_value());
  EXPECT_EQ(*id->resources, std::vector<std::string>{"clinic"});
  EXPECT_EQ(id->task_id, "task-3");
  EXPECT_EQ(id->workflow_id, "wf-9");
  EXPECT_EQ(id->act_sub, "dr.jones");
  EXPECT_EQ(id->expires_at, kNow + 300);
  // The narrowed token reaches its resource only.
  EXPECT_TRUE(ctx_.can_access(*id, "clinic"));
  EXPECT_FALSE(ctx_.can_access(*id, "labs"));
  EXPECT_EQ(verifier_->verify(x->access_token, kNow + 301 + 60).error().code, "expired");
}

TEST_F(TokenExchangeTest, EscalationIsRefused) {
  std::string t = subject(workflow_);
  auto req = request(t);
  req.scope = "role:auditor";  // the subject is not in "security"
  EXPECT_EQ(error_of(req), "invalid_scope");
  req.scope = "role:analyst resource:labs";  // analyst does not reach labs
  EXPECT_EQ(error_of(req), "invalid_target");
  req.scope = "resource:billing";
  EXPECT_EQ(error_of(req), "invalid_target");
  req.scope = "admin";
  EXPECT_EQ(error_of(req), "invalid_scope");
  req.scope = "";
  req.audience = {"someone-else"};
  EXPECT_EQ(error_of(req), "invalid_target");

  // A narrowed token cannot be widened again by exchanging it.
  auto narrow = request(t);
  narrow.scope = "role:analyst resource:clinic";
  auto x = exchange_token(narrow, ctx_, kNow);
  ASSERT_TRUE(x.ok());
  auto again = request(x->access_token);
  again.scope = "role:etl-ingest";
  EXPECT_EQ(error_of(again), "invalid_scope");
  again.scope = "resource:labs";
  EXPECT_EQ(error_of(again), "invalid_target");
  again.scope = "";
  again.workflow_id = "wf-other";  // a task stays in its workflow
  EXPECT_EQ(error_of(again), "invalid_request");
  again.workflow_id = "";
  auto y = exchange_token(again, ctx_, kNow);  // same scope again: fine, and still narrow
  ASSERT_TRUE(y.ok()) << y.error().message;
  auto id = verifier_->verify(y->access_token, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->roles, std::vector<std::string>{"analyst"});
  EXPECT_EQ(*id->resources, std::vector<std::string>{"clinic"});
}

TEST_F(TokenExchangeTest, TtlIsCappedAtTheSubjectsRemainingLife) {
  auto w = workflow_;
  w.ttl = std::chrono::seconds(120);
  auto req = request(subject(w));
  req.ttl = "1h";
  auto x = exchange_token(req, ctx_, kNow + 20);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->expires_in, 100);
  req.ttl = "0s";
  EXPECT_EQ(error_of(req), "invalid_request");
  req.ttl = "-5";
  EXPECT_EQ(error_of(req), "invalid_request");
  req.ttl = "soon";
  EXPECT_EQ(error_of(req), "invalid_request");
  req.ttl = "";
  auto d = exchange_token(req, ctx_, kNow);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->expires_in, 120);  // default 15m, capped
}

TEST_F(TokenExchangeTest, ActChain) {
  // A person's own token: the human is the subject.
  auto req = request(subject({.sub = "alice", .groups = {"etl"}}));
  auto x = exchange_token(req, ctx_, kNow);
  ASSERT_TRUE(x.ok());
  auto id = verifier_->verify(x->access_token, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->sub, "alice");
  EXPECT_EQ(id->act_sub, "alice");
  EXPECT_EQ(id->act_chain, "");
  // A nested chain is kept whole.
  IssueRequest nested = workflow_;
  nested.act_sub = "orchestrator";
  nested.act_prior = {"dr.jones"};
  x = exchange_token(request(subject(nested)), ctx_, kNow);
  ASSERT_TRUE(x.ok());
  id = verifier_->verify(x->access_token, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->act_sub, "orchestrator");
  EXPECT_EQ(id->act_chain, "orchestrator>dr.jones");
  auto parts = parse_jws(x->access_token);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->payload["act"], json({{"sub", "orchestrator"}, {"act", {{"sub", "dr.jones"}}}}));
}

TEST_F(TokenExchangeTest, BadRequestsAndSubjects) {
  auto req = request(subject(workflow_));
  auto bad = req;
  bad.grant_type = "client_credentials";
  EXPECT_EQ(error_of(bad), "unsupported_grant_type");
  bad = req;
  bad.subject_token_type = "urn:ietf:params:oauth:token-type:saml2";
  EXPECT_EQ(error_of(bad), "invalid_request");
  bad = req;
  bad.actor_token = "x";
  EXPECT_EQ(error_of(bad), "invalid_request");
  bad = req;
  bad.task_id = "a\nb";
  EXPECT_EQ(error_of(bad), "invalid_request");
  bad = req;
  bad.requested_token_type = "urn:ietf:params:oauth:token-type:refresh_token";
  EXPECT_EQ(error_of(bad), "invalid_request");
  bad = req;
  bad.subject_token = subject(workflow_, kNow - 7200);  // expired
  auto x = exchange_token(bad, ctx_, kNow);
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().code, "invalid_request");
  EXPECT_NE(x.error().message.find("expired"), std::string::npos);
  bad.subject_token = "not.a.token";
  EXPECT_EQ(error_of(bad), "invalid_request");
  // No roles at all: nothing to delegate.
  EXPECT_EQ(error_of(request(subject({.sub = "nobody", .groups = {"none"}}))), "invalid_scope");
}

TEST_F(TokenExchangeTest, HttpFace) {
  std::string t = subject(workflow_);
  TokenExchangeRequest req = request(t);
  req.scope = "role:analyst";
  req.resource = {"clinic"};
  req.task_id = "t 1/2";
  std::string form = encode_token_exchange_form(req);
  auto parsed = parse_token_exchange_form(form);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->subject_token, t);
  EXPECT_EQ(parsed->task_id, "t 1/2");
  EXPECT_EQ(parsed->resource, std::vector<std::string>{"clinic"});

  auto reply = handle_token_exchange_form(form, ctx_, kNow);
  EXPECT_EQ(reply.status, 200);
  auto body = json::parse(reply.body);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["issued_token_type"], kTokenTypeAccessToken);
  EXPECT_EQ(body["scope"], "role:analyst resource:clinic");
  EXPECT_TRUE(body["access_token"].is_string());
  // What the admin endpoint audits: the subject and the issued identity, never the tokens.
  ASSERT_TRUE(reply.subject.has_value() && reply.issued.has_value());
  EXPECT_EQ(reply.subject->sub, "etl-bot");
  EXPECT_EQ(reply.issued->issuer, "local");
  EXPECT_FALSE(reply.issued->jti.empty());
  EXPECT_EQ(reply.issued->act_sub, "dr.jones");
  EXPECT_EQ(reply.issued->roles, std::vector<std::string>{"analyst"});
  EXPECT_EQ(reply.error, "");
  TokenExchangeRequest escalate = request(t);
  escalate.scope = "role:auditor";
  auto refused = handle_token_exchange(escalate, ctx_, kNow);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.error, "invalid_scope");
  EXPECT_TRUE(refused.subject.has_value());
  EXPECT_FALSE(refused.issued.has_value());

  reply = handle_token_exchange_form(form + "&scope=role:auditor", ctx_, kNow);  // duplicate
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["error"], "invalid_request");
  reply = handle_token_exchange_form("grant_type=%zz", ctx_, kNow);
  EXPECT_EQ(reply.status, 400);
  reply = handle_token_exchange_form("grant_type=x%4", ctx_, kNow);
  EXPECT_EQ(reply.status, 400);
  reply = handle_token_exchange_form(std::string(70000, 'a'), ctx_, kNow);
  EXPECT_EQ(reply.status, 400);
  // Errors never echo the subject token.
  std::string form2 = encode_token_exchange_form(request(t + "x"));
  reply = handle_token_exchange_form(form2, ctx_, kNow);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.find(t.substr(t.rfind('.') + 1, 20)), std::string::npos);
  EXPECT_EQ(reply.body.find(t.substr(0, 30)), std::string::npos);
}

}  // namespace
}  // namespace phigate
