#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include <filesystem>

#include "policy/config.h"
#include "policy/snapshot.h"

namespace phigate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Everything the examples do not cover, next to a copy of the example's roles.
const char* kPolicy = R"(
resources:
  - { name: clinic, type: postgres, upstream: "127.0.0.1:5432", database: clinic,
      credentials: { username: u, password_env: PW } }
  - { name: labs-api, type: http, upstream: "http://127.0.0.1:9000" }
  - { name: etl-host, type: ssh, upstream: "127.0.0.1:22" }
roles:
  analyst:
    resources: [clinic]
    rules:
      - { match: { statement: [select] }, action: allow }
      - { name: bulk-change, match: { statement: [delete, update], where: absent }, action: deny,
          message: "bulk change" }
      - { match: { statement: [insert, update, delete] }, action: review }
  reporting:
    resources: [clinic]
    read_only: true
    rules: [ { match: { statement: [select] }, action: allow } ]
  readonly-all:
    resources: [clinic]
    read_only: true
    allow_function_call: true
    rules: [ { match: {}, action: allow } ]
  no-patients:
    resources: [clinic]
    rules:
      - { name: hide, match: { statement: [select], tables: [patients] }, action: deny,
          message: "patients are off limits" }
      - { match: { statement: [select] }, action: allow }
  scoped:
    resources: [clinic]
    rules: [ { match: { statement: [select], tables: ["public.*", "ref_*"] }, action: allow } ]
  switcher:
    resources: [clinic]
    rules: [ { match: { statement: [set] }, action: allow } ]
  impersonator:
    resources: [clinic]
    rules: [ { match: { statement: [identity] }, action: allow } ]
  everything:
    resources: [clinic, etl-host]
    allow_function_call: true
    rules: [ { name: all, match: {}, action: allow } ]
  strict-tx:
    resources: [clinic]
    rules:
      - { match: { statement: [transaction] }, action: deny, message: "no transactions" }
      - { match: { statement: [plumbing] }, action: deny, message: "no plumbing" }
  lab-client:
    resources: [labs-api]
    rules:
      - { match: { methods: [GET], paths: ["/v1/results*"] }, action: allow }
      - { match: { methods: [POST, PUT, DELETE] }, action: review }
  lab-reader:
    resources: [labs-api]
    read_only: true
    rules: [ { match: {}, action: allow } ]
  etl:
    resources: [etl-host]
    rules: [ { match: { statement: [select] }, action: allow } ]
)";

class Decide : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigLoad load = load_config_text(kPolicy);
    ASSERT_TRUE(load.errors.empty()) << format_errors(load);
    auto snap = PolicySnapshot::compile(*load.config, 7);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    snap_ = *snap;
  }

  Verdict run(std::vector<std::string> roles, ActionKind action, std::string_view text,
              std::string_view resource = "clinic") {
    id_.sub = "alice";
    id_.roles = std::move(roles);
    Request req;
    req.identity = &id_;
    req.resource = resource;
    req.protocol = "postgres";
    req.action = action;
    req.text = text;
    if (action == ActionKind::kStatement) req.sql = sql::classify(text);
    Verdict v = snap_->decide(req);
    EXPECT_NE(v.kind, VerdictKind::kContinue);
    return v;
  }
  Verdict sql(std::vector<std::string> roles, std::string_view text) {
    return run(std::move(roles), ActionKind::kStatement, text);
  }
  Verdict http(std::vector<std::string> roles, std::string_view method, std::string_view path) {
    id_.roles = std::move(roles);
    Request req;
    req.identity = &id_;
    req.resource = "labs-api";
    req.protocol = "http";
    req.action = ActionKind::kHttpRequest;
    req.method = method;
    req.path = path;
    return snap_->decide(req);
  }

  std::shared_ptr<const PolicySnapshot> snap_;
  Identity id_;
};

void expect_allow(const Verdict& v, const std::string& rule, const std::string& role) {
  EXPECT_EQ(v.kind, VerdictKind::kAllow) << v.message;
  EXPECT_EQ(v.rule, rule);
  EXPECT_EQ(v.role, role);
}

void expect_deny(const Verdict& v, const std::string& rule, const std::string& message,
                 const std::string& code = "42501") {
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  EXPECT_EQ(v.rule, rule);
  EXPECT_EQ(v.message, message);
  EXPECT_EQ(v.code, code);
}

// `review` rules end in a hold: the adapter asks the approval gate (DESIGN.md §1).
void expect_hold(const Verdict& v, const std::string& rule, const std::string& message) {
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  EXPECT_EQ(v.rule, rule);
  EXPECT_EQ(v.message, message);
}

TEST_F(Decide, AllowDenyReviewAndNoRule) {
  expect_allow(sql({"analyst"}, "SELECT * FROM patients"), "analyst#0", "analyst");
  Verdict bulk = sql({"analyst"}, "DELETE FROM patients");
  expect_deny(bulk, "bulk-change", "bulk change");
  EXPECT_EQ(bulk.role, "analyst");
  Verdict review = sql({"analyst"}, "UPDATE patients SET a = 1 WHERE id = 1");
  expect_hold(review, "analyst#2", "statement requires approval (review)");
  EXPECT_EQ(review.role, "analyst");
  expect_deny(sql({"analyst"}, "DROP TABLE patients"), "",
              "no rule allows ddl on resource clinic for roles [analyst]");
  expect_deny(sql({"analyst", "scoped"}, "COPY patients TO STDOUT"), "",
              "no rule allows copy_to on resource clinic for roles [analyst, scoped]");
}

TEST_F(Decide, FirstMatchWinsAcrossRolesInOrder) {
  expect_deny(sql({"no-patients", "analyst"}, "SELECT * FROM patients"), "hide",
              "patients are off limits");
  expect_allow(sql({"analyst", "no-patients"}, "SELECT * FROM patients"), "analyst#0", "analyst");
  expect_allow(sql({"no-patients"}, "SELECT * FROM visits"), "no-patients#1", "no-patients");
  // The deny glob `patients` catches qualified and differently-cased spellings.
  EXPECT_EQ(sql({"no-patients"}, "SELECT * FROM public.patients").kind, VerdictKind::kDeny);
  EXPECT_EQ(sql({"no-patients"}, "SELECT * FROM PATIENTS").kind, VerdictKind::kDeny);
  EXPECT_EQ(sql({"no-patients"}, "SELECT * FROM visits v JOIN patients p ON p.id = v.pid").kind,
            VerdictKind::kDeny);
  // Roles that do not list the resource, or do not exist, are skipped.
  expect_allow(sql({"lab-client", "ghost", "analyst"}, "SELECT 1"), "analyst#0", "analyst");
}

TEST_F(Decide, TableScopedAllowNeedsEveryTableInScope) {
  expect_allow(sql({"scoped"}, "SELECT * FROM public.visits"), "scoped#0", "scoped");
  expect_allow(sql({"scoped"}, "SELECT * FROM ref_codes JOIN public.x USING (id)"), "scoped#0",
               "scoped");
  EXPECT_EQ(sql({"scoped"}, "SELECT * FROM public.visits, secret.keys").kind, VerdictKind::kDeny);
  EXPECT_EQ(sql({"scoped"}, "SELECT * FROM visits").kind, VerdictKind::kDeny);  // search_path
  EXPECT_EQ(sql({"scoped"}, "SELECT pg_read_file('/etc/passwd')").kind, VerdictKind::kDeny);
}

TEST_F(Decide, PlumbingAllowedWithoutRule) {
  for (const char* q :
       {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT a", "SET search_path TO public",
        "RESET statement_timeout", "SHOW search_path", "DISCARD ALL", "DEALLOCATE ALL", "CLOSE c",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"}) {
    expect_allow(sql({"analyst"}, q), "plumbing", "analyst");
    expect_allow(sql({"reporting"}, q), "plumbing", "reporting");
  }
}

TEST_F(Decide, RulesOverridePlumbing) {
  expect_deny(sql({"strict-tx"}, "BEGIN"), "strict-tx#0", "no transactions");
  expect_deny(sql({"strict-tx"}, "SHOW work_mem"), "strict-tx#1", "no plumbing");
}

TEST_F(Decide, ReadOnlyDeniesWritesWhateverTheRulesSay) {
  for (const char* q :
       {"INSERT INTO t VALUES (1)", "UPDATE t SET a = 1 WHERE id = 1", "DELETE FROM t WHERE id = 1",
        "CREATE TABLE x (a int)", "TRUNCATE patients", "SELECT a INTO copy_t FROM t",
        "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d"}) {
    Verdict v = sql({"readonly-all"}, q);
    EXPECT_EQ(v.kind, VerdictKind::kDeny) << q;
    EXPECT_EQ(v.rule, "read_only") << q;
    EXPECT_EQ(v.role, "readonly-all") << q;
    EXPECT_THAT(v.message, StartsWith("role readonly-all is read-only: ")) << q;
  }
  expect_allow(sql({"readonly-all"}, "SELECT * FROM t"), "readonly-all#0", "readonly-all");
  expect_deny(sql({"reporting"}, "INSERT INTO t VALUES (1)"), "read_only",
              "role reporting is read-only: the statement insert may write");
  // A read_only role earlier in the order decides before a writer role's rules.
  EXPECT_EQ(sql({"reporting", "everything"}, "DELETE FROM t WHERE id = 1").rule, "read_only");
  expect_allow(sql({"everything", "reporting"}, "DELETE FROM t WHERE id = 1"), "all", "everything");
}

TEST_F(Decide, IdentityChangesNeedAnExplicitRule) {
  const char* changes[] = {"SET ROLE admin", "SET SESSION AUTHORIZATION postgres", "RESET ROLE",
                           "RESET ALL"};
  for (const char* q : changes) {
    Verdict v = sql({"analyst"}, q);
    EXPECT_EQ(v.kind, VerdictKind::kDeny) << q;
    EXPECT_THAT(v.message, HasSubstr("(the statement changes identity)")) << q;
    // An allow-everything rule is written for data access, not for becoming someone else.
    EXPECT_EQ(sql({"everything"}, q).kind, VerdictKind::kDeny) << q;
    expect_allow(sql({"switcher"}, q), "switcher#0", "switcher");
    expect_allow(sql({"impersonator"}, q), "impersonator#0", "impersonator");
  }
  // set_config hidden in a SELECT is not allowed by a select rule, nor by a `set` rule.
  const char* hidden = "SELECT set_config('role', 'admin', false)";
  expect_deny(sql({"analyst"}, hidden), "",
              "no rule allows select on resource clinic for roles [analyst] (the statement "
              "changes identity)");
  EXPECT_EQ(sql({"switcher"}, hidden).kind, VerdictKind::kDeny);
  expect_allow(sql({"impersonator"}, hidden), "impersonator#0", "impersonator");
  // Ordinary set_config and SET are plumbing-free selects / plumbing.
  expect_allow(sql({"analyst"}, "SELECT set_config('search_path', 'x', false)"), "analyst#0",
               "analyst");
}

TEST_F(Decide, DenyRulesStillMatchIdentityChangesByKind) {
  ConfigLoad load = load_config_text(R"(
resources:
  - { name: clinic, type: postgres, upstream: "127.0.0.1:5432", database: clinic,
      credentials: { username: u, password_env: PW } }
roles:
  r:
    resources: [clinic]
    rules:
      - { match: { statement: [select] }, action: deny, message: "no selects" }
      - { match: { statement: [identity] }, action: allow }
)");
  ASSERT_TRUE(load.errors.empty()) << format_errors(load);
  auto snap = PolicySnapshot::compile(*load.config, 1);
  ASSERT_TRUE(snap.ok());
  Identity id;
  id.roles = {"r"};
  Request req;
  req.identity = &id;
  req.resource = "clinic";
  req.text = "SELECT set_config('role', 'x', false)";
  expect_deny((*snap)->decide(req), "r#0", "no selects");
  req.text = "SET ROLE x";
  expect_allow((*snap)->decide(req), "r#1", "r");
}

TEST_F(Decide, MultiStatementEveryStatementMustBeAllowed) {
  expect_deny(sql({"analyst"}, "SELECT 1; DROP TABLE t"), "",
              "no rule allows ddl on resource clinic for roles [analyst]");
  expect_deny(sql({"analyst"}, "/* x */ DeLeTe FROM t; SELECT 1"), "bulk-change", "bulk change");
  Verdict ok = sql({"analyst"}, "BEGIN; SELECT 1; SELECT 2; COMMIT");
  expect_allow(ok, "plumbing,analyst#0", "analyst");
  // A denial is reported rather than a review earlier in the string.
  expect_deny(sql({"analyst"}, "UPDATE t SET a = 1 WHERE id = 1; DELETE FROM t"), "bulk-change",
              "bulk change");
  expect_hold(sql({"analyst"}, "SELECT 1; UPDATE t SET a = 1 WHERE id = 1"), "analyst#2",
              "statement requires approval (review)");
  EXPECT_EQ(sql({"analyst"}, "SELECT 1; SET ROLE admin").kind, VerdictKind::kDeny);
}

TEST_F(Decide, NestedDataModifyingStatementsMustBeAllowedToo) {
  // The SELECT is allowed but the DELETE inside it is a bulk change.
  expect_deny(sql({"analyst"}, "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"),
              "bulk-change", "bulk change");
  expect_hold(
      sql({"analyst"}, "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d"),
      "analyst#2", "statement requires approval (review)");
  EXPECT_EQ(sql({"no-patients"}, "EXPLAIN ANALYZE DELETE FROM t").kind, VerdictKind::kDeny);
}

TEST_F(Decide, ParseFailureFailsClosed) {
  Verdict v = sql({"everything"}, "SELEC * FROM t");
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  EXPECT_EQ(v.code, "42601");
  EXPECT_EQ(v.rule, "parse");
  EXPECT_THAT(v.message, StartsWith("could not parse statement: syntax error"));
  EXPECT_EQ(sql({"everything"}, "SELECT 1; SELEC 2").code, "42601");
}

TEST_F(Decide, ClassifiesTextWhenTheSessionDidNot) {
  id_.roles = {"analyst"};
  Request req;
  req.identity = &id_;
  req.resource = "clinic";
  req.text = "DROP TABLE t";
  EXPECT_EQ(snap_->decide(req).kind, VerdictKind::kDeny);
  req.text = "SELECT 1";
  EXPECT_EQ(snap_->decide(req).kind, VerdictKind::kAllow);
  req.text = "";
  expect_allow(snap_->decide(req), "empty", "analyst");
}

TEST_F(Decide, ResourceAccess) {
  expect_deny(sql({"lab-client"}, "SELECT 1"), "resource_access",
              "role lab-client has no access to resource clinic", "28000");
  expect_deny(sql({"lab-client", "etl"}, "SELECT 1"), "resource_access",
              "roles [lab-client, etl] have no access to resource clinic", "28000");
  EXPECT_EQ(sql({}, "SELECT 1").code, "28000");
  expect_deny(run({"analyst"}, ActionKind::kStatement, "SELECT 1", "nope"), "resource_access",
              "resource \"nope\" does not exist", "3D000");
  Request anonymous;
  anonymous.resource = "clinic";
  anonymous.text = "SELECT 1";
  EXPECT_EQ(snap_->decide(anonymous).code, "28000");

  id_.roles = {"lab-client", "analyst"};
  EXPECT_TRUE(snap_->can_access(id_, "clinic"));
  EXPECT_TRUE(snap_->can_access(id_, "labs-api"));
  EXPECT_FALSE(snap_->can_access(id_, "etl-host"));
  EXPECT_FALSE(snap_->can_access(id_, "nope"));
}

// A token narrowed by token exchange (Identity::resources) reaches only the resources it names,
// at connect time and for every statement, whatever its roles grant.
TEST_F(Decide, ResourcesClaimNarrowsAccess) {
  id_.roles = {"everything"};
  id_.resources = std::vector<std::string>{"etl-host"};
  EXPECT_FALSE(snap_->can_access(id_, "clinic"));
  EXPECT_TRUE(snap_->can_access(id_, "etl-host"));
  EXPECT_EQ(sql({"everything"}, "SELECT 1").code, "28000");
  id_.resources = std::vector<std::string>{};
  EXPECT_FALSE(snap_->can_access(id_, "etl-host"));
  id_.resources = std::vector<std::string>{"clinic", "etl-host"};
  EXPECT_TRUE(snap_->can_access(id_, "clinic"));
  expect_allow(sql({"everything"}, "SELECT 1"), "all", "everything");
  id_.resources.reset();
}

TEST_F(Decide, Connect) {
  expect_allow(run({"lab-client", "analyst"}, ActionKind::kConnect, ""), "connect", "analyst");
  EXPECT_EQ(run({"lab-client"}, ActionKind::kConnect, "").code, "28000");
}

TEST_F(Decide, FunctionCall) {
  expect_deny(run({"analyst"}, ActionKind::kFunctionCall, ""), "function_call",
              "function call protocol message not allowed");
  expect_allow(run({"analyst", "everything"}, ActionKind::kFunctionCall, ""), "allow_function_call",
               "everything");
  // read_only wins over allow_function_call: the function may write.
  EXPECT_EQ(run({"readonly-all"}, ActionKind::kFunctionCall, "").kind, VerdictKind::kDeny);
}

TEST_F(Decide, Http) {
  expect_allow(http({"lab-client"}, "GET", "/v1/results/42"), "lab-client#0", "lab-client");
  expect_allow(http({"lab-client"}, "get", "/v1/results"), "lab-client#0", "lab-client");
  expect_hold(http({"lab-client"}, "POST", "/v1/results"), "lab-client#1",
              "POST /v1/results requires approval (rule lab-client#1)");
  expect_deny(http({"lab-client"}, "GET", "/v1/admin"), "",
              "no rule allows GET /v1/admin on resource labs-api for roles [lab-client]");
  expect_allow(http({"lab-reader"}, "HEAD", "/anything"), "lab-reader#0", "lab-reader");
  expect_deny(http({"lab-reader"}, "PATCH", "/x"), "read_only",
              "role lab-reader is read-only: PATCH is not allowed");
  // SQL rules never match HTTP requests.
  EXPECT_EQ(http({"analyst"}, "GET", "/").code, "28000");
}

TEST_F(Decide, SshCommand) {
  expect_allow(run({"everything"}, ActionKind::kCommand, "ls", "etl-host"), "all", "everything");
  expect_deny(run({"etl"}, ActionKind::kCommand, "ls", "etl-host"), "",
              "no rule allows commands on resource etl-host for roles [etl]");
}

TEST(Snapshot, CompileRejectsInvalidPolicy) {
  Config c;
  RoleConfig r;
  r.name = "r";
  r.resources = {"missing"};
  c.roles.push_back(r);
  auto snap = PolicySnapshot::compile(c, 1);
  ASSERT_FALSE(snap.ok());
  EXPECT_THAT(snap.error().message, HasSubstr("resource 'missing' is not defined"));
}

TEST(Snapshot, HolderSwapsAndKeepsOldSnapshotsAlive) {
  ConfigLoad load = load_config_text(kPolicy);
  ASSERT_TRUE(load.config);
  auto v1 = PolicySnapshot::compile(*load.config, 1);
  auto v2 = PolicySnapshot::compile(*load.config, 2);
  ASSERT_TRUE(v1.ok() && v2.ok());
  PolicyHolder holder(*v1);
  auto in_use = holder.get();
  holder.set(*v2);
  EXPECT_EQ(holder.get()->version(), 2u);
  EXPECT_EQ(in_use->version(), 1u);
  Identity id;
  id.roles = {"analyst"};
  Request req;
  req.identity = &id;
  req.resource = "clinic";
  req.text = "SELECT 1";
  EXPECT_EQ(in_use->decide(req).kind, VerdictKind::kAllow);  // still usable after the swap
}

TEST(Snapshot, ExampleFileDecisions) {
  ConfigLoad load = load_config_file(
      (std::filesystem::path(PHIGATE_SOURCE_DIR) / "examples/phigate.yaml").string());
  ASSERT_TRUE(load.config) << format_errors(load);
  auto snap = PolicySnapshot::compile(*load.config, 1);
  ASSERT_TRUE(snap.ok());
  Identity id;
  Request req;
  req.identity = &id;
  req.resource = "clinic";
  auto decide = [&](std::vector<std::string> roles, const char* q) {
    id.roles = std::move(roles);
    req.text = q;
    return (*snap)->decide(req);
  };
  EXPECT_EQ(decide({"analyst"}, "SELECT * FROM patients").kind, VerdictKind::kAllow);
  EXPECT_EQ(decide({"analyst"}, "DELETE FROM patients").message, "bulk change");
  EXPECT_EQ(decide({"reporting"}, "UPDATE patients SET a = 1 WHERE id = 1").rule, "read_only");
  EXPECT_EQ(decide({"dba"}, "DROP TABLE patients").rule, "dba-all");
  EXPECT_EQ(decide({"dba"}, "SET ROLE postgres").rule, "dba-identity");
  EXPECT_EQ(decide({"etl-ingest"}, "INSERT INTO staging.visits VALUES (1)").kind,
            VerdictKind::kAllow);
  EXPECT_EQ(decide({"etl-ingest"}, "INSERT INTO public.visits VALUES (1)").kind,
            VerdictKind::kDeny);
  EXPECT_EQ(decide({"reviewer", "auditor"}, "SELECT 1").code, "28000");
}

TEST(VerdictName, All) {
  EXPECT_STREQ(verdict_name(VerdictKind::kContinue), "continue");
  EXPECT_STREQ(verdict_name(VerdictKind::kAllow), "allow");
  EXPECT_STREQ(verdict_name(VerdictKind::kDeny), "deny");
  EXPECT_STREQ(verdict_name(VerdictKind::kHold), "hold");
  EXPECT_STREQ(verdict_name(VerdictKind::kRewrite), "rewrite");
}

}  // namespace
}  // namespace phigate

namespace phigate {
namespace {

// The per-thread cache of the current snapshot follows set() on every thread, and two holders
// never hand out each other's snapshot.
TEST(PolicyHolder, ReloadIsSeenByEveryThreadAndHoldersStayApart) {
  auto load = load_config_text(R"(
gateway: { node_id: h, data_dir: /tmp/x, listen: { postgres: 127.0.0.1:0 } }
identity: { issuers: [ { name: local, type: local } ], group_roles: { g: [r] } }
resources:
  - { name: db, type: postgres, upstream: 127.0.0.1:1, database: d, credentials: { username: u, password_env: X } }
roles:
  r: { resources: [db], rules: [ { match: { statement: [select] }, action: allow } ] }
)");
  ASSERT_TRUE(load.config.has_value());
  auto v1 = PolicySnapshot::compile(*load.config, 1);
  auto v2 = PolicySnapshot::compile(*load.config, 2);
  auto other = PolicySnapshot::compile(*load.config, 7);
  ASSERT_TRUE(v1.ok() && v2.ok() && other.ok());
  PolicyHolder holder(*v1), second(*other);
  EXPECT_EQ(holder.get()->version(), 1u);
  EXPECT_EQ(second.get()->version(), 7u);
  holder.set(*v2);
  EXPECT_EQ(holder.get()->version(), 2u);
  uint64_t seen_elsewhere = 0;
  std::thread t([&] { seen_elsewhere = holder.get()->version(); });
  t.join();
  EXPECT_EQ(seen_elsewhere, 2u);
  EXPECT_EQ(second.get()->version(), 7u);
  EXPECT_EQ(holder.get()->version(), 2u);
}

}  // namespace
}  // namespace phigate
