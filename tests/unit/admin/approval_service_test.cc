// The approval state machine: who may decide what, four-eyes, one decision per request, timeouts,
// cancellation, access windows feeding the grant set, and what a restart keeps.
#include <gtest/gtest.h>

#include <optional>

#include "admin/approval_service.h"
#include "common/clock.h"
#include "store/sqlite/approval_sqlite.h"

namespace phigate::admin {
namespace {

namespace asio = net::asio;

std::string config_yaml(const std::string& timeout) {
  return R"(
gateway: { node_id: gw-test, data_dir: /nonexistent }
identity:
  issuers: [ { name: local, type: local } ]
resources:
  - { name: clinic, type: postgres, upstream: "127.0.0.1:5432", database: clinic,
      credentials: { username: u, password_env: NOPE } }
  - { name: archive, type: postgres, upstream: "127.0.0.1:5432", database: clinic,
      credentials: { username: u, password_env: NOPE } }
roles:
  analyst: { resources: [clinic], rules: [ { match: { statement: [select] }, action: allow } ] }
  writer: { resources: [clinic], rules: [ { match: { statement: [ddl] }, action: allow } ] }
  reviewer: { approve: [clinic, archive] }
  archive-reviewer: { approve: [archive] }
approvals: { timeout: )" +
         timeout + " }\n";
}

Identity person(std::string sub, std::vector<std::string> roles, std::string act = {}) {
  Identity id;
  id.sub = std::move(sub);
  id.issuer = "local";
  id.roles = std::move(roles);
  id.act_sub = std::move(act);
  return id;
}

class ApprovalServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { make("5m"); }
  void make(const std::string& timeout) {
    service_.reset();
    auto load = load_config_text(config_yaml(timeout));
    ASSERT_TRUE(load.config) << format_errors(load);
    policy_ = std::make_unique<PolicyHolder>(*PolicySnapshot::compile(*load.config, 1));
    if (!store_) store_ = std::move(store::open_sqlite_approval_store(":memory:").value());
    grants_ = std::make_unique<GrantHolder>();
    service_ = std::make_unique<ApprovalService>(io_, *store_, nullptr, *policy_, *grants_, nullptr,
                                                 "gw-test", limits_);
    ASSERT_TRUE(service_->start().ok());
  }
  // Holds a statement for `who`; the outcome lands in `out`.
  std::string hold(const Identity& who, std::optional<ApprovalOutcome>& out,
                   std::string fp = "fp1") {
    HoldRequest req;
    req.requester = who;
    req.session_id = "s1";
    req.resource = "clinic";
    req.protocol = "postgres";
    req.rule = "analyst#1";
    req.summary = "UPDATE t SET a = 1 WHERE id = 1";
    req.fingerprint = std::move(fp);
    auto id = service_->hold(std::move(req), [&out](ApprovalOutcome o) { out = std::move(o); });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : std::string();
  }
  // Runs the service's timers until `done` (bounded only so a broken build fails, not hangs).
  template <class Pred>
  void run_until(Pred done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
  }

  asio::io_context io_;
  std::unique_ptr<store::ApprovalStore> store_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<GrantHolder> grants_;
  ApprovalLimits limits_;
  std::unique_ptr<ApprovalService> service_;
  Identity alice_ = person("alice", {"analyst"});
  Identity bob_ = person("bob", {"reviewer"});
  Identity dave_ = person("dave", {"archive-reviewer"});
  Identity erin_ = person("erin", {"analyst"});
};

TEST_F(ApprovalServiceTest, ApproveCallsBackOnceWithTheFingerprint) {
  std::optional<ApprovalOutcome> out;
  std::string id = hold(alice_, out, "abc");
  EXPECT_FALSE(out);
  auto rec = service_->get(bob_, id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state, "pending");
  auto d = service_->decide(id, bob_, true, "ok");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->state, "approved");
  EXPECT_EQ(d->reviewer_sub, "bob");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->decision, ApprovalDecision::kApproved);
  EXPECT_EQ(out->id, id);
  EXPECT_EQ(out->reviewer, "bob");
  EXPECT_EQ(out->fingerprint, "abc");
  out.reset();
  auto again = service_->decide(id, bob_, false, "changed my mind");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "conflict");
  EXPECT_FALSE(out) << "a second decision reached the session";
}

TEST_F(ApprovalServiceTest, DenyNeedsAReasonAndReportsIt) {
  std::optional<ApprovalOutcome> out;
  std::string id = hold(alice_, out);
  auto bad = service_->decide(id, bob_, false, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "bad_request");
  EXPECT_FALSE(out);
  ASSERT_TRUE(service_->decide(id, bob_, false, "too broad").ok());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->decision, ApprovalDecision::kDenied);
  EXPECT_EQ(out->reason, "too broad");
}

TEST_F(ApprovalServiceTest, FourEyes) {
  Identity carol = person("carol", {"analyst", "reviewer"});
  std::optional<ApprovalOutcome> out;
  std::string id = hold(carol, out);
  auto self = service_->decide(id, carol, true, "");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, "forbidden");
  // A task token acting for carol is carol.
  auto bot = service_->decide(id, person("carol-bot", {"reviewer"}, "carol"), true, "");
  ASSERT_FALSE(bot.ok());
  EXPECT_EQ(bot.error().code, "forbidden");
  // The same sub at another issuer is another identity.
  Identity other = person("carol", {"reviewer"});
  other.issuer = "corp";
  EXPECT_TRUE(service_->decide(id, other, true, "").ok());
  EXPECT_TRUE(out);
}

TEST_F(ApprovalServiceTest, RequesterActingForTheReviewerIsTheSamePerson) {
  std::optional<ApprovalOutcome> out;
  std::string id = hold(person("etl-task", {"analyst"}, "bob"), out);
  auto d = service_->decide(id, bob_, true, "");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "forbidden");
}

TEST_F(ApprovalServiceTest, ApproveRoleMustListTheResource) {
  std::optional<ApprovalOutcome> out;
  std::string id = hold(alice_, out);
  auto d = service_->decide(id, dave_, true, "");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "forbidden");
  auto e = service_->decide(id, erin_, true, "");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "not_found");  // not a reviewer at all: learns nothing
  EXPECT_FALSE(out);
  EXPECT_EQ(service_->decide("nope", bob_, true, "").error().code, "not_found");
}

TEST_F(ApprovalServiceTest, ListingShowsOwnAndReviewable) {
  std::optional<ApprovalOutcome> o1, o2;
  hold(alice_, o1);
  hold(erin_, o2);
  EXPECT_EQ(service_->list(bob_, "pending", "")->size(), 2u);
  EXPECT_EQ(service_->list(alice_, "", "")->size(), 1u);
  EXPECT_EQ(service_->list(dave_, "", "")->size(), 0u);
  EXPECT_EQ(service_->list(bob_, "approved", "")->size(), 0u);
}

TEST_F(ApprovalServiceTest, TimeoutEndsTheHold) {
  make("50ms");
  std::optional<ApprovalOutcome> out;
  std::string id = hold(alice_, out);
  run_until([&] { return out.has_value(); });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->decision, ApprovalDecision::kTimedOut);
  EXPECT_EQ(service_->get(bob_, id)->state, "timed_out");
  EXPECT_EQ(service_->decide(id, bob_, true, "").error().code, "conflict");
}

TEST_F(ApprovalServiceTest, CancelEndsTheHold) {
  std::optional<ApprovalOutcome> out;
  std::string id = hold(alice_, out);
  service_->cancel(id);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->decision, ApprovalDecision::kCancelled);
  EXPECT_EQ(service_->decide(id, bob_, true, "").error().code, "conflict");
  service_->cancel(id);  // twice is harmless
}

TEST_F(ApprovalServiceTest, PendingPerRequesterIsBounded) {
  limits_.max_pending_per_requester = 2;
  make("5m");
  std::optional<ApprovalOutcome> a, b, c;
  hold(alice_, a);
  hold(alice_, b);
  HoldRequest req;
  req.requester = alice_;
  req.resource = "clinic";
  auto third = service_->hold(std::move(req), [&c](ApprovalOutcome o) { c = std::move(o); });
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, "overloaded");
  hold(erin_, c);  // others are not affected
}

TEST_F(ApprovalServiceTest, AccessWindowGrantsTheRoleUntilExpiry) {
  auto bad_role = service_->request_access(erin_, "clinic", "archive-reviewer", 3600e9, "x");
  EXPECT_EQ(bad_role.error().code, "bad_request");
  auto bad_res = service_->request_access(erin_, "nowhere", "writer", 3600e9, "x");
  EXPECT_EQ(bad_res.error().code, "bad_request");
  auto no_reason = service_->request_access(erin_, "clinic", "writer", 3600e9, "");
  EXPECT_EQ(no_reason.error().code, "bad_request");
  auto too_long =
      service_->request_access(erin_, "clinic", "writer", int64_t(3600e9) * 24 * 365, "x");
  EXPECT_EQ(too_long.error().code, "bad_request");

  auto r = service_->request_access(erin_, "clinic", "writer", int64_t(3600e9), "ticket");
  ASSERT_TRUE(r.ok()) << r.error().message;
  Identity scratch;
  EXPECT_EQ(&effective_identity(grants_.get(), erin_, "clinic", now_ns(), scratch), &erin_);
  EXPECT_EQ(service_->decide(r->id, erin_, true, "").error().code, "forbidden");
  ASSERT_TRUE(service_->decide(r->id, bob_, true, "").ok());
  const Identity& with = effective_identity(grants_.get(), erin_, "clinic", now_ns(), scratch);
  EXPECT_EQ(with.roles, (std::vector<std::string>{"analyst", "writer"}));
  // Only for that resource, only for that identity, only until expiry.
  EXPECT_EQ(effective_identity(grants_.get(), erin_, "archive", now_ns(), scratch).roles.size(),
            1u);
  EXPECT_EQ(effective_identity(grants_.get(), alice_, "clinic", now_ns(), scratch).roles.size(),
            1u);
  auto rec = service_->get(erin_, r->id);
  EXPECT_EQ(effective_identity(grants_.get(), erin_, "clinic", rec->grant_expires_ns, scratch)
                .roles.size(),
            1u);
}

TEST_F(ApprovalServiceTest, RestartCancelsHeldStatementsAndKeepsGrants) {
  std::optional<ApprovalOutcome> out;
  std::string held = hold(alice_, out);
  auto r = service_->request_access(erin_, "clinic", "writer", int64_t(3600e9), "ticket");
  ASSERT_TRUE(service_->decide(r->id, bob_, true, "").ok());
  auto pending_access = service_->request_access(alice_, "clinic", "writer", int64_t(60e9), "t");
  make("5m");  // a new process over the same store
  EXPECT_EQ(service_->get(bob_, held)->state, "cancelled");
  Identity scratch;
  EXPECT_EQ(effective_identity(grants_.get(), erin_, "clinic", now_ns(), scratch).roles.size(), 2u);
  // A pending access request survives and can still be decided.
  EXPECT_TRUE(service_->decide(pending_access->id, bob_, true, "").ok());
}

TEST(SamePerson, Rules) {
  Identity a = person("alice", {});
  EXPECT_TRUE(ApprovalService::same_person(a, "alice", "local", ""));
  EXPECT_FALSE(ApprovalService::same_person(a, "alice", "corp", ""));
  EXPECT_FALSE(ApprovalService::same_person(a, "bob", "local", ""));
  EXPECT_TRUE(ApprovalService::same_person(a, "bot", "local", "alice"));
  EXPECT_TRUE(ApprovalService::same_person(person("bot", {}, "alice"), "alice", "local", ""));
  EXPECT_TRUE(ApprovalService::same_person(person("bot", {}, "alice"), "bot2", "local", "alice"));
}

}  // namespace
}  // namespace phigate::admin
