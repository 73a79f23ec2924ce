#include "sql/classify.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace phigate::sql {
namespace {

// Classifies a single-statement string and returns that statement.
Statement one(std::string_view q) {
  Classification c = classify_uncached(q);
  EXPECT_TRUE(c.ok) << q << ": " << c.error;
  EXPECT_EQ(c.statements.size(), 1u) << q;
  return c.statements.empty() ? Statement{} : c.statements[0];
}

struct KindCase {
  const char* sql;
  Kind kind;
  bool plumbing;
};

TEST(Classify, EveryKind) {
  const KindCase cases[] = {
      {"SELECT 1", Kind::kSelect, false},
      {"VALUES (1)", Kind::kSelect, false},
      {"WITH x AS (SELECT 1) SELECT * FROM x", Kind::kSelect, false},
      {"INSERT INTO t VALUES (1)", Kind::kInsert, false},
      {"UPDATE t SET a = 1 WHERE id = 2", Kind::kUpdate, false},
      {"DELETE FROM t", Kind::kDelete, false},
      {"CREATE TABLE t (a int)", Kind::kDdl, false},
      {"ALTER TABLE t ADD COLUMN b int", Kind::kDdl, false},
      {"DROP TABLE t", Kind::kDdl, false},
      {"CREATE INDEX i ON t (a)", Kind::kDdl, false},
      {"CREATE VIEW v AS SELECT 1", Kind::kDdl, false},
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", Kind::kDdl, false},
      {"ALTER TABLE t RENAME TO u", Kind::kDdl, false},
      {"COMMENT ON TABLE t IS 'x'", Kind::kDdl, false},
      {"GRANT SELECT ON t TO bob", Kind::kGrant, false},
      {"GRANT admin TO bob", Kind::kGrant, false},
      {"CREATE TABLE x AS SELECT 1", Kind::kDdl, false},
      {"SELECT a INTO t2 FROM t", Kind::kDdl, false},
      {"BEGIN", Kind::kTransaction, true},
      {"START TRANSACTION ISOLATION LEVEL SERIALIZABLE", Kind::kTransaction, true},
      {"COMMIT", Kind::kTransaction, true},
      {"ROLLBACK", Kind::kTransaction, true},
      {"SAVEPOINT s1", Kind::kTransaction, true},
      {"RELEASE SAVEPOINT s1", Kind::kTransaction, true},
      {"ROLLBACK TO SAVEPOINT s1", Kind::kTransaction, true},
      {"SET search_path TO public", Kind::kSet, true},
      {"SET LOCAL statement_timeout = '5s'", Kind::kSet, true},
      {"SET TIME ZONE 'UTC'", Kind::kSet, true},
      {"RESET search_path", Kind::kSet, true},
      {"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", Kind::kSet, true},
      {"SHOW search_path", Kind::kShow, true},
      {"SHOW ALL", Kind::kShow, true},
      {"DISCARD ALL", Kind::kDiscard, true},
      {"DEALLOCATE ALL", Kind::kDeallocate, true},
      {"DEALLOCATE p1", Kind::kDeallocate, true},
      {"CLOSE c", Kind::kClose, true},
      {"COPY t TO STDOUT", Kind::kCopyTo, false},
      {"EXPLAIN SELECT 1", Kind::kExplain, false},
      {"DO $$ BEGIN END $$", Kind::kDo, false},
      {"CALL p()", Kind::kCall, false},
      {"PREPARE p AS SELECT 1", Kind::kPrepare, false},
      {"EXECUTE p", Kind::kExecute, false},
      {"VACUUM t", Kind::kMaintenance, false},
      {"TRUNCATE t", Kind::kDelete, false},
      {"LISTEN ch", Kind::kOther, false},
  };
  for (const KindCase& c : cases) {
    Statement s = one(c.sql);
    EXPECT_EQ(s.kind, c.kind) << c.sql << " -> " << kind_name(s.kind);
    EXPECT_EQ(s.plumbing, c.plumbing) << c.sql;
    EXPECT_FALSE(s.changes_identity) << c.sql;
  }
}

TEST(Classify, KindNames) {
  EXPECT_STREQ(kind_name(Kind::kSelect), "select");
  EXPECT_STREQ(kind_name(Kind::kDdl), "ddl");
  EXPECT_STREQ(kind_name(Kind::kTransaction), "transaction");
  EXPECT_STREQ(kind_name(Kind::kDeallocate), "deallocate");
  EXPECT_STREQ(kind_name(Kind::kOther), "other");
}

TEST(Classify, MultiStatementSlices) {
  Classification c = classify_uncached("SELECT 1; DROP TABLE t");
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.statements.size(), 2u);
  EXPECT_EQ(c.statements[0].kind, Kind::kSelect);
  EXPECT_EQ(c.statements[0].text, "SELECT 1");
  EXPECT_EQ(c.statements[1].kind, Kind::kDdl);
  EXPECT_EQ(c.statements[1].text, "DROP TABLE t");
}

TEST(Classify, SemicolonsInsideLiteralsDoNotSplit) {
  Classification c =
      classify_uncached("SELECT 'a;b'; SELECT $$;$$ ;\n  UPDATE t SET a=';' WHERE b=1;");
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.statements.size(), 3u);
  EXPECT_EQ(c.statements[0].text, "SELECT 'a;b'");
  EXPECT_EQ(c.statements[1].text, "SELECT $$;$$");
  EXPECT_EQ(c.statements[2].text, "UPDATE t SET a=';' WHERE b=1");
  EXPECT_EQ(c.statements[2].kind, Kind::kUpdate);
}

TEST(Classify, CommentsAndCaseDoNotHideTheKind) {
  Statement s = one("/* x */ DeLeTe FROM t");
  EXPECT_EQ(s.kind, Kind::kDelete);
  EXPECT_FALSE(s.has_where);
  EXPECT_EQ(s.text, "/* x */ DeLeTe FROM t");

  Classification c = classify_uncached("select 1 -- ; drop table t\n; /* ; */ dRoP TaBlE \"T\"");
  ASSERT_TRUE(c.ok);
  ASSERT_EQ(c.statements.size(), 2u);
  EXPECT_EQ(c.statements[0].kind, Kind::kSelect);
  EXPECT_EQ(c.statements[1].kind, Kind::kDdl);
  EXPECT_EQ(c.statements[1].tables, std::vector<std::string>{"T"});  // quoted: as written
}

TEST(Classify, EmptyQueries) {
  for (const char* q : {"", "   ", ";", ";;", "-- just a comment", "/* c */"}) {
    Classification c = classify_uncached(q);
    EXPECT_TRUE(c.ok) << q;
    EXPECT_TRUE(c.statements.empty()) << q;
  }
}

TEST(Classify, SetRoleVariantsChangeIdentity) {
  for (const char* q :
       {"SET ROLE admin", "set role none", "SET SESSION ROLE admin", "SET LOCAL ROLE admin",
        "RESET ROLE", "SET SESSION AUTHORIZATION bob", "SET SESSION AUTHORIZATION DEFAULT",
        "RESET SESSION AUTHORIZATION", "RESET ALL", "SET role TO DEFAULT", "SET \"role\" = 'x'"}) {
    Statement s = one(q);
    EXPECT_EQ(s.kind, Kind::kSet) << q;
    EXPECT_TRUE(s.changes_identity) << q;
    EXPECT_FALSE(s.plumbing) << q;
  }
}

TEST(Classify, SetConfigHiddenInSelect) {
  for (const char* q : {
           "SELECT set_config('role', 'admin', false)",
           "select SET_CONFIG('ROLE', 'admin', false)",
           "SELECT pg_catalog.set_config('session_authorization', 'bob', false)",
           "SELECT set_config('role'::text, 'admin', false)",
           "SELECT set_config('ro' || 'le', 'admin', false)",  // not a constant: assume the worst
           "SELECT set_config(name, 'x', false) FROM settings",
           "SELECT * FROM t WHERE a = (SELECT set_config('role', 'x', true))",
           "UPDATE t SET a = set_config('role', 'x', false) WHERE id = 1",
       }) {
    Classification c = classify_uncached(q);
    ASSERT_TRUE(c.ok) << q;
    ASSERT_EQ(c.statements.size(), 1u);
    EXPECT_TRUE(c.statements[0].changes_identity) << q;
    EXPECT_FALSE(c.statements[0].plumbing) << q;
  }
  Statement harmless = one("SELECT set_config('search_path', 'public', false)");
  EXPECT_FALSE(harmless.changes_identity);
  EXPECT_EQ(harmless.kind, Kind::kSelect);
}

TEST(Classify, IdentityChangeInsideDdl) {
  Statement s = one("ALTER ROLE bob SET role = 'admin'");
  EXPECT_EQ(s.kind, Kind::kDdl);
  EXPECT_TRUE(s.changes_identity);
}

TEST(Classify, HasWhere) {
  EXPECT_TRUE(one("UPDATE t SET a = 1 WHERE id = 2").has_where);
  EXPECT_FALSE(one("UPDATE t SET a = 1").has_where);
  EXPECT_TRUE(one("DELETE FROM t WHERE id = 2").has_where);
  EXPECT_FALSE(one("DELETE FROM t").has_where);
  EXPECT_FALSE(one("DELETE FROM t USING u").has_where);
  EXPECT_FALSE(one("SELECT * FROM t WHERE a = 1").has_where);  // only UPDATE/DELETE
}

TEST(Classify, TablesWithSchemaDedupedAcrossTheTree) {
  Statement s = one(
      "SELECT * FROM clinic.patients p JOIN visits v ON v.pid = p.id "
      "WHERE p.id IN (SELECT pid FROM clinic.patients) AND EXISTS (SELECT 1 FROM db.audit.log)");
  EXPECT_EQ(s.tables, (std::vector<std::string>{"clinic.patients", "visits", "db.audit.log"}));

  EXPECT_EQ(one("UPDATE s.t SET a = 1 FROM u WHERE s.t.id = u.id").tables,
            (std::vector<std::string>{"s.t", "u"}));
  EXPECT_EQ(one("INSERT INTO staging.x SELECT * FROM src").tables,
            (std::vector<std::string>{"staging.x", "src"}));
  EXPECT_EQ(one("DELETE FROM Patients").tables, std::vector<std::string>{"patients"});
  EXPECT_EQ(one("SELECT a INTO new_t FROM old_t").tables,
            (std::vector<std::string>{"new_t", "old_t"}));
  EXPECT_TRUE(one("SELECT now()").tables.empty());
}

TEST(Classify, NestedDataModifyingStatements) {
  Statement cte = one("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d");
  EXPECT_EQ(cte.kind, Kind::kSelect);
  EXPECT_EQ(cte.nested_kinds, std::vector<Kind>{Kind::kDelete});
  EXPECT_FALSE(cte.has_where);

  Statement guarded =
      one("WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM u");
  EXPECT_EQ(guarded.nested_kinds, std::vector<Kind>{Kind::kUpdate});
  EXPECT_TRUE(guarded.has_where);

  Statement explain = one("EXPLAIN ANALYZE DELETE FROM t");
  EXPECT_EQ(explain.kind, Kind::kExplain);
  EXPECT_EQ(explain.nested_kinds, std::vector<Kind>{Kind::kDelete});

  Statement copy = one("COPY (DELETE FROM t RETURNING *) TO STDOUT");
  EXPECT_EQ(copy.nested_kinds, std::vector<Kind>{Kind::kDelete});

  // The statement's own kind is not repeated; a nested unguarded DELETE clears has_where.
  Statement del = one("WITH d AS (DELETE FROM a) DELETE FROM b WHERE id = 1");
  EXPECT_EQ(del.kind, Kind::kDelete);
  EXPECT_TRUE(del.nested_kinds.empty());
  EXPECT_FALSE(del.has_where);

  EXPECT_TRUE(one("SELECT * FROM (SELECT 1) s").nested_kinds.empty());
}

TEST(Classify, ParseError) {
  Classification c = classify_uncached("SELEC 1");
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.error.find("syntax error"), std::string::npos) << c.error;
  EXPECT_TRUE(c.statements.empty());

  // One bad statement fails the whole string: nothing of it may be forwarded.
  Classification multi = classify_uncached("SELECT 1; DROP TABLEX t");
  EXPECT_FALSE(multi.ok);
  EXPECT_TRUE(multi.statements.empty());
}

TEST(Classify, NulByteIsRefused) {
  std::string q("SELECT 1;\0DROP TABLE t", 22);
  Classification c = classify_uncached(q);
  EXPECT_FALSE(c.ok);
}

TEST(Classify, DeepNestingDoesNotCrash) {
  std::string q = "SELECT 1";
  for (int i = 0; i < 5000; ++i) q += " UNION SELECT 1";
  Classification c = classify_uncached(q);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.statements[0].kind, Kind::kSelect);

  std::string parens = "SELECT " + std::string(100000, '(') + "1" + std::string(100000, ')');
  Classification deep = classify_uncached(parens);
  EXPECT_FALSE(deep.ok);  // the parser gives up; fail closed
}

TEST(ClassifyCache, SameTextSharesTheResult) {
  auto a = classify("SELECT * FROM cache_test_t");
  auto b = classify("SELECT * FROM cache_test_t");
  EXPECT_EQ(a.get(), b.get());
  auto c = classify("SELECT * FROM cache_test_u");
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(c->statements[0].tables, std::vector<std::string>{"cache_test_u"});
  auto bad = classify("SELEC");
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad.get(), classify("SELEC").get());
}

TEST(ClassifyCache, EvictsButStaysCorrect) {
  auto first = classify("SELECT 0 AS evict_me");
  for (int i = 1; i <= 5000; ++i) {
    auto r = classify("SELECT " + std::to_string(i));
    ASSERT_TRUE(r->ok);
  }
  auto again = classify("SELECT 0 AS evict_me");
  EXPECT_NE(first.get(), again.get());  // evicted, re-classified
  EXPECT_EQ(again->statements[0].kind, Kind::kSelect);
  EXPECT_EQ(first->statements[0].kind, Kind::kSelect);  // the old result is still valid
}

TEST(ClassifyCache, PerThread) {
  auto mine = classify("SELECT 42 AS per_thread");
  std::shared_ptr<const Classification> theirs;
  std::thread t([&] { theirs = classify("SELECT 42 AS per_thread"); });
  t.join();
  EXPECT_NE(mine.get(), theirs.get());
  EXPECT_EQ(theirs->statements[0].text, "SELECT 42 AS per_thread");
}

}  // namespace
}  // namespace phigate::sql

namespace phigate::sql {
namespace {

// Server-side cursors (psycopg2 named cursors, JDBC fetch size) read like their query; FETCH and
// MOVE ride on the cursor's decision and are plumbing.
TEST(ClassifyCursor, DeclareIsItsQueryAndFetchIsPlumbing) {
  auto c = classify_uncached("DECLARE c1 CURSOR WITH HOLD FOR SELECT ssn FROM patients");
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.statements[0].kind, Kind::kSelect);
  EXPECT_EQ(c.statements[0].tables, std::vector<std::string>{"patients"});
  auto f = classify_uncached("FETCH FORWARD 100 FROM c1; MOVE ABSOLUTE 0 IN c1");
  ASSERT_TRUE(f.ok);
  ASSERT_EQ(f.statements.size(), 2u);
  for (auto& s : f.statements) {
    EXPECT_EQ(s.kind, Kind::kFetch);
    EXPECT_TRUE(s.plumbing);
  }
}

}  // namespace
}  // namespace phigate::sql
