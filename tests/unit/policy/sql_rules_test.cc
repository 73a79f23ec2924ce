// The SQL rule matchers of issue 4: every statement kind, table globs with schemas, function globs,
// writes, regex on normalized text, read_only against unlisted functions, PREPARE/EXECUTE, the
// `ddl`/`other` families, max_rows on the verdict, and config errors with line numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/config.h"
#include "policy/snapshot.h"
#include "policy/stages/compiled_policy.h"
#include "sql/prepared.h"

namespace phigate {
namespace {

using ::testing::HasSubstr;

const char* kPolicy = R"(
resources:
  - { name: clinic, type: postgres, upstream: "127.0.0.1:5432", database: clinic,
      credentials: { username: u, password_env: PW } }
roles:
  kinds:
    resources: [clinic]
    rules:
      - { name: k-merge, match: { statement: [merge] }, action: allow }
      - { name: k-copy-to, match: { statement: [copy_to] }, action: allow }
      - { name: k-explain, match: { statement: [explain] }, action: allow }
      - { name: k-maint, match: { statement: [maintenance] }, action: allow }
      - { name: k-grant, match: { statement: [grant] }, action: deny, message: "no grants" }
      - { name: k-select, match: { statement: [select] }, action: allow }
  legacy:
    resources: [clinic]
    rules:
      - { name: l-ddl, match: { statement: [ddl] }, action: deny, message: "no ddl" }
      - { name: l-other, match: { statement: [other] }, action: deny, message: "no other" }
      - { name: l-all, match: {}, action: allow }
  tables:
    resources: [clinic]
    rules:
      - { name: t-secret, match: { tables: ["secret.key*"] }, action: deny, message: "secret" }
      - { name: t-public, match: { statement: [select], tables: ["public.patients"] },
          action: allow }
      - { name: t-any-schema, match: { statement: [select], tables: [visits] }, action: allow }
  funcs:
    resources: [clinic]
    rules:
      - { name: f-deny, match: { functions: ["pg_sleep*", "dblink*"] }, action: deny,
          message: "no" }
      - { name: f-allow, match: { statement: [select], functions: [lower, "app.*"] },
          action: allow }
  writes:
    resources: [clinic]
    rules:
      - { name: w-false, match: { writes: false }, action: allow }
      - { name: w-true, match: { writes: true }, action: deny, message: "writes" }
  regex:
    resources: [clinic]
    rules:
      - { name: r-ssn, match: { regex: "\\bssn\\b" }, action: deny, message: "ssn" }
      - { name: r-select, match: { statement: [select] }, action: allow }
  ro:
    resources: [clinic]
    read_only: true
    max_rows: 100
    rules: [ { name: ro-all, match: {}, action: allow } ]
  prep:
    resources: [clinic]
    max_rows: 7
    rules:
      - { name: p-select, match: { statement: [select] }, action: allow }
      - { name: p-delete, match: { statement: [delete], where: present }, action: allow }
  noprep:
    resources: [clinic]
    rules:
      - { name: np, match: { statement: [prepare] }, action: deny, message: "no prepare" }
      - { name: np-select, match: { statement: [select] }, action: allow }
)";

class Rules : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigLoad load = load_config_text(kPolicy);
    ASSERT_TRUE(load.errors.empty()) << format_errors(load);
    auto snap = PolicySnapshot::compile(*load.config, 1);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    snap_ = *snap;
  }
  Verdict sql(const std::string& role, std::string_view text,
              std::shared_ptr<const sql::Classification> cls = nullptr) {
    id_.roles = {role};
    Request req;
    req.identity = &id_;
    req.resource = "clinic";
    req.protocol = "postgres";
    req.text = text;
    req.sql = cls ? cls : sql::resolve_execute(sql::classify(text), nullptr);
    return snap_->decide(req);
  }
  std::string allowed_by(const std::string& role, std::string_view text) {
    Verdict v = sql(role, text);
    return v.kind == VerdictKind::kAllow ? v.rule : "DENY(" + v.rule + "): " + v.message;
  }
  std::shared_ptr<const PolicySnapshot> snap_;
  Identity id_;
};

TEST_F(Rules, EachNewKindIsMatchedByItsName) {
  EXPECT_EQ(allowed_by("kinds", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"),
            "k-merge");
  EXPECT_EQ(allowed_by("kinds", "COPY t TO STDOUT"), "k-copy-to");
  EXPECT_EQ(allowed_by("kinds", "EXPLAIN SELECT 1"), "k-explain");
  EXPECT_EQ(allowed_by("kinds", "VACUUM t"), "k-maint");
  EXPECT_EQ(allowed_by("kinds", "GRANT SELECT ON t TO x"), "DENY(k-grant): no grants");
  EXPECT_THAT(allowed_by("kinds", "COPY t FROM STDIN"), HasSubstr("no rule allows copy_from"));
  EXPECT_THAT(allowed_by("kinds", "COPY t TO PROGRAM 'id'"),
              HasSubstr("no rule allows copy_program"));
  EXPECT_THAT(allowed_by("kinds", "DO $$ BEGIN END $$"), HasSubstr("no rule allows do"));
  EXPECT_THAT(allowed_by("kinds", "CALL p()"), HasSubstr("no rule allows call"));
  // EXPLAIN ANALYZE of a write needs the write allowed too.
  EXPECT_THAT(allowed_by("kinds", "EXPLAIN ANALYZE DELETE FROM t"),
              HasSubstr("no rule allows delete"));
}

TEST_F(Rules, DdlAndOtherStayFamiliesForOldConfigs) {
  EXPECT_EQ(allowed_by("legacy", "GRANT SELECT ON t TO x"), "DENY(l-ddl): no ddl");
  EXPECT_EQ(allowed_by("legacy", "CREATE TABLE t (a int)"), "DENY(l-ddl): no ddl");
  for (const char* q : {"COPY t TO STDOUT", "EXPLAIN SELECT 1", "DO $$ BEGIN END $$", "CALL p()",
                        "VACUUM t", "LISTEN x", "PREPARE p AS SELECT 1",
                        "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE"}) {
    EXPECT_EQ(allowed_by("legacy", q), "DENY(l-other): no other") << q;
  }
  EXPECT_EQ(allowed_by("legacy", "SELECT 1"), "l-all");
  EXPECT_EQ(statement_match_bits("grant"), kind_bit(sql::Kind::kGrant));
  EXPECT_FALSE(statement_match_bits("truncate").has_value());
}

TEST_F(Rules, TableGlobsAndSchemas) {
  // A schema-qualified allow glob needs the schema written: search_path is invisible to policy.
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM public.patients"), "t-public");
  EXPECT_THAT(allowed_by("tables", "SELECT * FROM patients"), HasSubstr("no rule allows"));
  // An unqualified glob matches the name under any schema.
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM visits"), "t-any-schema");
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM clinic.visits"), "t-any-schema");
  // Deny globs are conservative: an unqualified name may resolve into the denied schema (so a
  // `schema.*` deny glob catches every unqualified table).
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM secret.keys"), "DENY(t-secret): secret");
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM keys"), "DENY(t-secret): secret");
  EXPECT_EQ(allowed_by("tables", "SELECT * FROM \"SECRET\".keys"), "DENY(t-secret): secret");
  EXPECT_THAT(allowed_by("tables", "SELECT * FROM other.keys"), HasSubstr("no rule allows"));
  // Every table of an allowed statement must be in scope.
  EXPECT_THAT(allowed_by("tables", "SELECT * FROM visits JOIN labs ON true"),
              HasSubstr("no rule allows"));
}

TEST_F(Rules, FunctionGlobs) {
  EXPECT_EQ(allowed_by("funcs", "SELECT pg_sleep(1)"), "DENY(f-deny): no");
  EXPECT_EQ(allowed_by("funcs", "SELECT pg_catalog.pg_sleep(1)"), "DENY(f-deny): no");
  EXPECT_EQ(allowed_by("funcs", "SELECT * FROM dblink('x', 'y') AS t(a int)"), "DENY(f-deny): no");
  EXPECT_EQ(allowed_by("funcs", "SELECT lower(a) FROM t"), "f-allow");
  EXPECT_EQ(allowed_by("funcs", "SELECT app.score(a), lower(b) FROM t"), "f-allow");
  EXPECT_EQ(allowed_by("funcs", "SELECT 1"), "f-allow");  // no function: confined trivially
  EXPECT_THAT(allowed_by("funcs", "SELECT upper(a) FROM t"), HasSubstr("no rule allows"));
  EXPECT_THAT(allowed_by("funcs", "SELECT other.score(a) FROM t"), HasSubstr("no rule allows"));
}

TEST_F(Rules, WritesMatcherTreatsUnlistedFunctionsAsMayWrite) {
  EXPECT_EQ(allowed_by("writes", "SELECT lower(a) FROM t"), "w-false");
  EXPECT_EQ(allowed_by("writes", "SHOW search_path"), "w-false");
  for (const char* q : {"INSERT INTO t VALUES (1)", "SELECT my_func()", "SELECT nextval('s')",
                        "SELECT * FROM t FOR UPDATE", "COPY t TO '/tmp/x'", "CALL p()",
                        "WITH d AS (DELETE FROM t RETURNING 1) SELECT 1"}) {
    EXPECT_EQ(allowed_by("writes", q), "DENY(w-true): writes") << q;
  }
}

TEST_F(Rules, RegexOnNormalizedText) {
  EXPECT_EQ(allowed_by("regex", "SELECT SSN FROM patients"), "DENY(r-ssn): ssn");
  EXPECT_EQ(allowed_by("regex", "SELECT/*x*/ssn FROM patients"), "DENY(r-ssn): ssn");
  EXPECT_EQ(allowed_by("regex", "SELECT ssn_hash FROM patients"), "r-select");
  EXPECT_EQ(allowed_by("regex", "SELECT 1 -- ssn"), "r-select");  // comments are dropped
  // Each statement of a string is matched on its own text.
  EXPECT_EQ(allowed_by("regex", "SELECT 1; SELECT ssn FROM p"), "DENY(r-ssn): ssn");
}

TEST_F(Rules, ReadOnlyRefusesAnythingThatMayWrite) {
  Verdict v = sql("ro", "SELECT my_func(1)");
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  EXPECT_EQ(v.rule, "read_only");
  EXPECT_THAT(v.message, HasSubstr("my_func"));
  v = sql("ro", "SELECT nextval('s')");
  EXPECT_THAT(v.message, HasSubstr("nextval"));
  for (const char* q :
       {"DO $$ BEGIN END $$", "CALL p()", "COPY t FROM STDIN", "COPY t TO PROGRAM 'x'",
        "COPY t TO '/tmp/f'", "EXPLAIN ANALYZE UPDATE t SET a = 1", "SELECT * INTO x FROM t",
        "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE", "TRUNCATE t", "VACUUM t",
        "GRANT SELECT ON t TO x", "LISTEN c", "SELECT * FROM t FOR SHARE",
        "PREPARE p AS DELETE FROM t WHERE id = 1", "SELECT public.lower('x')"}) {
    EXPECT_EQ(sql("ro", q).rule, "read_only") << q;
  }
  Verdict ok = sql("ro", "SELECT count(*), lower(a), now() FROM t LIMIT 3");
  EXPECT_EQ(ok.kind, VerdictKind::kAllow);
  EXPECT_EQ(ok.max_rows, 100u);
  EXPECT_EQ(sql("ro", "COPY t TO STDOUT").kind, VerdictKind::kAllow);
  EXPECT_EQ(sql("ro", "BEGIN").kind, VerdictKind::kAllow);
}

TEST_F(Rules, PrepareAndExecuteAreDecidedAsWhatTheyRun) {
  EXPECT_EQ(allowed_by("prep", "PREPARE p AS SELECT 1"), "p-select");
  EXPECT_EQ(allowed_by("prep", "PREPARE p (int) AS DELETE FROM t WHERE id = $1"), "p-delete");
  EXPECT_THAT(allowed_by("prep", "PREPARE p AS DELETE FROM t"), HasSubstr("no rule allows"));
  EXPECT_THAT(allowed_by("prep", "EXECUTE p"), HasSubstr("DENY(prepared)"));
  EXPECT_EQ(allowed_by("prep", "PREPARE p AS SELECT 1; EXECUTE p"), "p-select");
  EXPECT_THAT(allowed_by("prep", "PREPARE p AS SELECT 1; DEALLOCATE p; EXECUTE p"),
              HasSubstr("DENY(prepared)"));
  EXPECT_THAT(allowed_by("prep", "EXPLAIN ANALYZE EXECUTE p"), HasSubstr("DENY(prepared)"));
  // Resolved by a session that prepared `d` as an unguarded DELETE.
  auto prepared = sql::classify("PREPARE d AS DELETE FROM t");
  auto lookup = [&](std::string_view n) -> const sql::Classification* {
    return n == "d" ? prepared.get() : nullptr;
  };
  auto cls = sql::resolve_execute(sql::classify("EXECUTE d"), lookup);
  ASSERT_EQ(cls->statements.size(), 1u);
  EXPECT_EQ(cls->statements[0].inner_kind, sql::Kind::kDelete);
  EXPECT_THAT(sql("prep", "EXECUTE d", cls).message, HasSubstr("no rule allows delete"));
  // EXECUTE's own parameters count: a hazard there is a write.
  auto guarded = sql::classify("PREPARE g (int) AS SELECT $1");
  auto lookup2 = [&](std::string_view) -> const sql::Classification* { return guarded.get(); };
  auto with_param = sql::resolve_execute(sql::classify("EXECUTE g(nextval('s'))"), lookup2);
  EXPECT_TRUE(with_param->statements[0].writes);
  EXPECT_EQ(sql("ro", "EXECUTE g(nextval('s'))", with_param).rule, "read_only");
  // A rule naming prepare still decides first.
  EXPECT_EQ(allowed_by("noprep", "PREPARE p AS SELECT 1"), "DENY(np): no prepare");
  EXPECT_EQ(sql("prep", "SELECT 1").max_rows, 7u);
}

TEST_F(Rules, SearchPathThatCouldShadowBuiltinsIsRefusedByReadOnlyRoles) {
  Verdict v = sql("ro", "SET search_path = public, pg_catalog");
  EXPECT_EQ(v.kind, VerdictKind::kDeny);
  EXPECT_EQ(v.rule, "read_only");
  EXPECT_THAT(v.message, HasSubstr("pg_catalog after another schema"));
  EXPECT_EQ(sql("ro", "SELECT set_config('search_path', current_user, false)").rule, "read_only");
  EXPECT_EQ(sql("ro", "SET search_path = public").kind, VerdictKind::kAllow);
  // Other roles: ordinary plumbing.
  EXPECT_EQ(sql("legacy", "SET search_path = public, pg_catalog").kind, VerdictKind::kAllow);
}

TEST(RuleConfig, ErrorsCarryLineNumbers) {
  ConfigLoad load = load_config_text(R"(resources:
  - { name: c, type: postgres, upstream: "127.0.0.1:1", credentials: { username: u, password_env: P } }
roles:
  r:
    resources: [c]
    rules:
      - { match: { statement: [selcet] }, action: allow }
      - { match: { regex: "(unclosed" }, action: deny }
      - { match: { writes: maybe }, action: deny }
      - { match: { functions: [f], methods: [GET] }, action: deny }
)");
  std::string errors = format_errors(load);
  EXPECT_THAT(errors, HasSubstr(":7: roles.r.rules[0].match.statement: unknown statement kind "
                                "'selcet'"));
  EXPECT_THAT(errors, HasSubstr(":8: roles.r.rules[1].match.regex: '(unclosed' is not a usable "
                                "pattern"));
  EXPECT_THAT(errors, HasSubstr(":9: roles.r.rules[2].match.writes: expected true or false"));
  EXPECT_THAT(errors, HasSubstr(":10: roles.r.rules[3].match: "));
}

TEST(SqlRegex, CompilesOnceAndMatches) {
  auto re = SqlRegex::compile("delete from [a-z]+ where");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE((*re)->match("delete from visits where id = 1").matched);
  EXPECT_FALSE((*re)->match("delete from visits").matched);
  EXPECT_FALSE(SqlRegex::compile("").ok());
  EXPECT_FALSE(SqlRegex::compile("a(").ok());
}

}  // namespace
}  // namespace phigate
