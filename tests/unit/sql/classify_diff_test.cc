// Differential test: the streaming classifier (src/sql/parse_tree_scan.cc) must return exactly what
// the original DOM-based one (reference_classify.cc) returns, for a corpus of varied statements.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reference_classify.h"
#include "sql/classify.h"
#include "sql/parse_tree_scan.h"

namespace phigate::sql {
namespace {

// The reference predates the full kind list: it knew only select/insert/update/delete/ddl, the
// plumbing kinds and `other`. The split-out kinds are compared as what they used to be.
Kind legacy(Kind k) {
  switch (k) {
    case Kind::kGrant:
      return Kind::kDdl;
    case Kind::kMerge:
    case Kind::kCopyTo:
    case Kind::kCopyFrom:
    case Kind::kCopyProgram:
    case Kind::kExplain:
    case Kind::kCall:
    case Kind::kDo:
    case Kind::kPrepare:
    case Kind::kExecute:
    case Kind::kMaintenance:
      return Kind::kOther;
    default:
      return k;
  }
}

Kind legacy(const Statement& st) {
  // TRUNCATE is a delete now; it used to be `other`.
  bool truncate = !st.table_ops.empty() && (st.table_ops[0] & kOpTruncate);
  return truncate ? Kind::kOther : legacy(st.kind);
}

std::string describe(const Classification& c) {
  std::string s = c.ok ? "ok" : "error: " + c.error;
  for (const Statement& st : c.statements) {
    s += "\n  [" + std::string(kind_name(legacy(st))) +
         "] plumbing=" + std::to_string(st.plumbing) +
         " identity=" + std::to_string(st.changes_identity) +
         " where=" + std::to_string(st.has_where) + " nested={";
    for (Kind k : st.nested_kinds) s += std::string(kind_name(legacy(k))) + ",";
    s += "} tables={";
    for (const std::string& t : st.tables) s += t + ",";
    s += "} text=<" + st.text + ">";
  }
  return s;
}

Classification scan(std::string_view query, const std::string& json, detail::ScanOrder order) {
  Classification c;
  c.ok = detail::scan_parse_tree(query, json, c.statements, order);
  if (!c.ok) {
    c.error = "internal error: unreadable parse tree";
    c.statements.clear();
  }
  return c;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> kCorpus = {
      // Reads.
      "SELECT 1",
      "select abalance from pgbench_accounts where aid = 4711;",
      "SELECT p.id, v.notes FROM patients p JOIN visits v ON v.patient_id = p.id WHERE p.id = 7",
      "SELECT * FROM a, b, c WHERE a.x = b.x AND b.y = c.y",
      "SELECT * FROM a LEFT JOIN b USING (id) RIGHT JOIN c ON c.id = b.id FULL JOIN d ON true",
      "SELECT * FROM clinic.patients p WHERE p.id IN (SELECT pid FROM clinic.patients)",
      "SELECT * FROM db.audit.log",
      "SELECT * FROM \"Mixed Case\".\"Tbl\"",
      "SELECT * FROM ONLY parent_t",
      "SELECT * FROM t TABLESAMPLE SYSTEM (10)",
      "SELECT count(*) FROM t GROUP BY a HAVING count(*) > 1 ORDER BY 1 LIMIT 5 OFFSET 2",
      "SELECT a FROM t UNION SELECT b FROM u INTERSECT SELECT c FROM v EXCEPT SELECT d FROM w",
      "SELECT * FROM (SELECT * FROM inner_t) s JOIN LATERAL (SELECT * FROM lat_t) l ON true",
      "SELECT EXISTS (SELECT 1 FROM e1), (SELECT max(x) FROM e2)",
      "VALUES (1, 'a'), (2, 'b')",
      "TABLE some_table",
      "SELECT * FROM generate_series(1, 10) g",
      "SELECT * FROM t FOR UPDATE SKIP LOCKED",
      "SELECT * FROM t1 FOR SHARE OF t1 NOWAIT",
      "SELECT row_number() OVER (PARTITION BY a ORDER BY b) FROM t",
      "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END FROM t",
      "SELECT now(), current_user",
      "SELECT $1::int + $2",
      "SELECT * FROM t WHERE a = ANY($1)",
      "SELECT 'a;b' AS s; SELECT $$;$$",
      "SELECT * FROM t WHERE name = 'O''Reilly'",
      "SELECT E'\\x41\\n', U&'\\0041'",
      "SELECT * FROM \"emoji_😀\" WHERE \"naïve\" = 'é'",
      "SELECT * FROM überweisung JOIN 患者 ON 患者.id = überweisung.pid",
      "SELECT /* comment ; */ 1 -- trailing ;\n",
      "/* lead */ SELECT * FROM t /* mid */ WHERE a=1",
      "SELECT 1 -- ; drop table t\n; /* ; */ dRoP TaBlE \"T\"",
      "SELECT xmin, ctid FROM t",
      "SELECT * FROM t1 NATURAL JOIN t2",
      "SELECT * FROM ROWS FROM (generate_series(1,2), unnest(ARRAY[1,2])) AS x(a, b)",
      "SELECT * FROM json_to_record('{}') AS x(a int)",
      "SELECT * FROM a WHERE x IN (SELECT x FROM b WHERE y IN (SELECT y FROM c))",
      "SELECT ARRAY(SELECT id FROM arr_t)",
      "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b",
      // CTEs (plain, recursive, data-modifying).
      "WITH x AS (SELECT 1) SELECT * FROM x",
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 5) SELECT * FROM r",
      "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
      "WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM u",
      "WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i",
      "WITH a AS (INSERT INTO t1 VALUES (1) RETURNING *), b AS (DELETE FROM t2 RETURNING *) "
      "SELECT * FROM a, b",
      "WITH a AS (DELETE FROM t2 WHERE x = 1 RETURNING *), b AS (UPDATE t3 SET y = 2 RETURNING *),"
      " c AS (INSERT INTO t4 SELECT * FROM a RETURNING *) SELECT * FROM b, c",
      "WITH d AS (DELETE FROM a) DELETE FROM b WHERE id = 1",
      "WITH d AS (DELETE FROM a WHERE z = 1) UPDATE b SET x = 1 WHERE id = 1",
      "WITH d AS (UPDATE a SET x = 1) INSERT INTO b SELECT * FROM a",
      "WITH m AS MATERIALIZED (SELECT * FROM big) SELECT * FROM m",
      "WITH x AS (SELECT * FROM t) SELECT * FROM x JOIN x y ON true",
      "WITH w AS (WITH inner_cte AS (DELETE FROM deep RETURNING *) SELECT * FROM inner_cte) "
      "SELECT * FROM w",
      // Writes.
      "INSERT INTO t VALUES (1)",
      "INSERT INTO staging.x SELECT * FROM src",
      "INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
      "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING RETURNING *",
      "INSERT INTO t DEFAULT VALUES",
      "INSERT INTO t SELECT * FROM t2 WHERE EXISTS (SELECT 1 FROM t3)",
      "UPDATE t SET a = 1 WHERE id = 2",
      "UPDATE t SET a = 1",
      "UPDATE s.t SET a = 1 FROM u WHERE s.t.id = u.id",
      "UPDATE t SET a = (SELECT max(b) FROM u) WHERE c = 1",
      "UPDATE t SET (a, b) = (1, 2) WHERE CURRENT OF c",
      "DELETE FROM t",
      "DELETE FROM t WHERE id = 2",
      "DELETE FROM t USING u",
      "DELETE FROM t USING u WHERE t.id = u.id RETURNING t.*",
      "DELETE FROM Patients",
      "/* x */ DeLeTe FROM t",
      "UPDATE t SET a = set_config('role', 'x', false) WHERE id = 1",
      "MERGE INTO tgt t USING src s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v "
      "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)",
      "MERGE INTO tgt USING src ON tgt.id = src.id WHEN MATCHED THEN DELETE",
      // SELECT INTO, CTAS, DDL.
      "SELECT a INTO t2 FROM t",
      "SELECT a INTO TEMP tmp_t FROM t",
      "CREATE TABLE x AS SELECT 1",
      "CREATE TABLE x AS SELECT * FROM y WITH NO DATA",
      "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
      "CREATE TABLE t (a int primary key, b text references u(id))",
      "CREATE TABLE t2 (LIKE t INCLUDING ALL)",
      "CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)",
      "CREATE TEMP TABLE tt (a int) ON COMMIT DROP",
      "CREATE UNLOGGED TABLE ul (a int)",
      "ALTER TABLE t ADD COLUMN b int",
      "ALTER TABLE t RENAME TO u",
      "ALTER TABLE s.t RENAME COLUMN a TO b",
      "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES other(id)",
      "DROP TABLE t",
      "DROP TABLE IF EXISTS a.b, c CASCADE",
      "DROP VIEW v1, s.v2",
      "DROP MATERIALIZED VIEW mv",
      "DROP FOREIGN TABLE ft",
      "DROP INDEX i1",
      "DROP SCHEMA s CASCADE",
      "DROP FUNCTION f(int)",
      "DROP SEQUENCE seq",
      "DROP TABLE cat.sch.tbl",
      "CREATE INDEX i ON t (a)",
      "CREATE UNIQUE INDEX CONCURRENTLY i2 ON s.t USING btree (lower(a))",
      "CREATE VIEW v AS SELECT * FROM t JOIN u ON true",
      "CREATE OR REPLACE VIEW v2 AS SELECT 1",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE FUNCTION g() RETURNS void LANGUAGE sql SET role = 'admin' AS 'SELECT 1'",
      "CREATE FUNCTION h() RETURNS void LANGUAGE sql SET search_path = public AS $$ SELECT 1 $$",
      "CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$",
      "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg('role')",
      "CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u",
      "CREATE RULE r2 AS ON UPDATE TO t DO ALSO (INSERT INTO log VALUES (1); UPDATE c SET n = n + "
      "1)",
      "CREATE SEQUENCE seq OWNED BY t.id",
      "CREATE SCHEMA s AUTHORIZATION bob",
      "CREATE SCHEMA s2 CREATE TABLE st (a int) CREATE VIEW sv AS SELECT * FROM st",
      "CREATE TYPE mood AS ENUM ('a', 'b')",
      "CREATE TYPE comp AS (a int, b text)",
      "CREATE DOMAIN d AS int CHECK (VALUE > 0)",
      "CREATE EXTENSION IF NOT EXISTS pgcrypto",
      "CREATE ROLE r LOGIN PASSWORD 'x'",
      "ALTER ROLE bob SET role = 'admin'",
      "ALTER ROLE bob SET search_path = public",
      "ALTER ROLE bob RESET ALL",
      "ALTER DATABASE d SET session_authorization = 'x'",
      "ALTER DATABASE d SET work_mem = '1MB'",
      "ALTER SYSTEM SET work_mem = '1MB'",
      "ALTER SYSTEM RESET ALL",
      "ALTER FUNCTION f() SET role = 'admin'",
      "COMMENT ON TABLE t IS 'x'",
      "SECURITY LABEL ON TABLE t IS 'x'",
      "GRANT SELECT ON t TO bob",
      "GRANT admin TO bob",
      "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM bob",
      "REASSIGN OWNED BY a TO b",
      "DROP OWNED BY bob",
      "IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO local_s",
      "CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int)",
      "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob",
      "CREATE POLICY pol ON t USING (owner = current_user)",
      "CREATE PUBLICATION pub FOR TABLE t1, s.t2",
      "REFRESH MATERIALIZED VIEW mv",
      // Transactions and session plumbing.
      "BEGIN",
      "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
      "START TRANSACTION",
      "COMMIT",
      "ROLLBACK",
      "SAVEPOINT s1",
      "RELEASE SAVEPOINT s1",
      "ROLLBACK TO SAVEPOINT s1",
      "PREPARE TRANSACTION 'x'",
      "COMMIT PREPARED 'x'",
      "END",
      "ABORT",
      "SET search_path TO public",
      "SET LOCAL statement_timeout = '5s'",
      "SET TIME ZONE 'UTC'",
      "RESET search_path",
      "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
      "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
      "SET application_name = 'x'",
      "SHOW search_path",
      "SHOW ALL",
      "DISCARD ALL",
      "DISCARD PLANS",
      "DEALLOCATE ALL",
      "DEALLOCATE p1",
      "CLOSE c",
      "CLOSE ALL",
      // Identity changes.
      "SET ROLE admin",
      "set role none",
      "SET SESSION ROLE admin",
      "SET LOCAL ROLE admin",
      "RESET ROLE",
      "SET SESSION AUTHORIZATION bob",
      "SET SESSION AUTHORIZATION DEFAULT",
      "RESET SESSION AUTHORIZATION",
      "RESET ALL",
      "SET role TO DEFAULT",
      "SET \"role\" = 'x'",
      "SET ROLE = 'x'",
      "SET session_authorization = 'bob'",
      "SELECT set_config('role', 'admin', false)",
      "select SET_CONFIG('ROLE', 'admin', false)",
      "SELECT pg_catalog.set_config('session_authorization', 'bob', false)",
      "SELECT set_config('role'::text, 'admin', false)",
      "SELECT set_config(CAST('role' AS text), 'a', true)",
      "SELECT set_config('ro' || 'le', 'admin', false)",
      "SELECT set_config(name, 'x', false) FROM settings",
      "SELECT * FROM t WHERE a = (SELECT set_config('role', 'x', true))",
      "SELECT set_config('search_path', 'public', false)",
      "SELECT set_config(NULL, 'x', false)",
      "SELECT set_config(NULL::text, 'x', false)",
      "SELECT set_config('role'::text::text, 'x', false)",
      "SELECT set_config($1, 'x', false)",
      "SELECT set_config()",
      "SELECT set_config('role')",
      "SELECT set_config(1, 'x', false)",
      "SELECT set_config('work_mem'::text, '1MB', false)",
      "SELECT my.set_config('role', 'x', false)",
      "SELECT set_config('Role', 'x', false)",
      "SELECT set_config(E'role', 'x', false)",
      "SELECT set_config(U&'r\\006Fle', 'x', false)",
      "SELECT \"set_config\"('role', 'x', false)",
      "SELECT current_setting('role')",
      "SELECT set_config('search_path', 'x', false), set_config('role', 'y', false)",
      "SELECT f(set_config('role', 'x', false))",
      "SELECT set_config",
      "PREPARE p AS SELECT set_config('role', 'x', false)",
      "DO $$ BEGIN PERFORM 1; END $$",
      "CALL set_config('role', 'x', false)",
      // Other statements.
      "COPY t TO STDOUT",
      "COPY t (a, b) FROM STDIN WITH (FORMAT csv)",
      "COPY s.t FROM '/tmp/x'",
      "COPY (SELECT * FROM t WHERE a = 1) TO STDOUT",
      "COPY (DELETE FROM t RETURNING *) TO STDOUT",
      "COPY (UPDATE t SET a = 1 WHERE b = 2 RETURNING *) TO STDOUT",
      "COPY (INSERT INTO t VALUES (1) RETURNING *) TO STDOUT",
      "EXPLAIN SELECT 1",
      "EXPLAIN ANALYZE DELETE FROM t",
      "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 1",
      "EXPLAIN ANALYZE INSERT INTO t SELECT * FROM u",
      "EXPLAIN SELECT a INTO t2 FROM t",
      "EXPLAIN ANALYZE CREATE TABLE ctas AS SELECT * FROM t",
      "EXPLAIN ANALYZE SELECT * FROM t",
      "EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
      "DO $$ BEGIN END $$",
      "DO LANGUAGE plpgsql $$ BEGIN DELETE FROM t; END $$",
      "CALL p()",
      "CALL s.p(1, 'x')",
      "PREPARE p AS SELECT 1",
      "PREPARE q (int) AS DELETE FROM t WHERE id = $1",
      "PREPARE r AS INSERT INTO t VALUES ($1)",
      "EXECUTE p",
      "EXECUTE q (1)",
      "VACUUM t",
      "VACUUM (ANALYZE) a, s.b",
      "ANALYZE t",
      "TRUNCATE t",
      "TRUNCATE a, s.b RESTART IDENTITY",
      "LISTEN ch",
      "NOTIFY ch, 'x'",
      "UNLISTEN *",
      "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
      "CLUSTER t USING i",
      "REINDEX TABLE t",
      "CHECKPOINT",
      "LOAD 'x'",
      "CREATE DATABASE d",
      "DROP DATABASE d",
      // Cursors.
      "DECLARE c1 CURSOR WITH HOLD FOR SELECT ssn FROM patients",
      "DECLARE c2 SCROLL CURSOR FOR SELECT * FROM t JOIN u ON true FOR UPDATE",
      "FETCH FORWARD 100 FROM c1",
      "MOVE ABSOLUTE 0 IN c1",
      "FETCH ALL c1",
      "FETCH FORWARD 100 FROM c1; MOVE ABSOLUTE 0 IN c1",
      // Multi-statement strings.
      "SELECT 1; DROP TABLE t",
      "BEGIN; UPDATE t SET a = 1 WHERE id = 1; COMMIT;",
      "SET ROLE admin; SELECT * FROM t",
      "SELECT * FROM a; SELECT * FROM b; DELETE FROM c",
      "SELECT 'a;b'; SELECT $$;$$ ;\n  UPDATE t SET a=';' WHERE b=1;",
      "  ;; SELECT 1 ;; ; SELECT 2;  ",
      "INSERT INTO t VALUES (1);\n-- comment\nSELECT 2",
      "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d; EXPLAIN ANALYZE UPDATE u SET a = 1",
      "SELECT set_config('role','x',false); RESET ALL; SHOW role",
      // Tie-breaking and ordering corners (several relations, same names, DROP lists).
      "SELECT * FROM t, t, s.t, t",
      "SELECT * FROM b, a WHERE EXISTS (SELECT 1 FROM c, a)",
      "INSERT INTO a SELECT * FROM b UNION SELECT * FROM a",
      "DROP TABLE z, y, x, y",
      "DROP TABLE t; SELECT * FROM t",
      "ALTER TABLE a RENAME TO b; DROP VIEW b",
      // Empty queries, errors.
      "",
      "   ",
      ";",
      ";;",
      "-- just a comment",
      "/* c */",
      "SELEC 1",
      "SELECT 1; DROP TABLEX t",
      "SELECT (",
      "SELECT 'unterminated",
      "INSERT INTO",
      "UPDATE SET",
      std::string("SELECT 1;\0DROP", 14),
  };
  return kCorpus;
}

TEST(ClassifyDiff, CorpusIsLargeAndVaried) { EXPECT_GE(corpus().size(), 150u); }

TEST(ClassifyDiff, StreamingMatchesDomReference) {
  for (const std::string& q : corpus()) {
    Classification want = reference::classify(q);
    Classification got = classify_uncached(q);
    EXPECT_EQ(describe(got), describe(want)) << "query: " << q;
  }
}

// The path-recording scan (used for order ties) must agree on every statement, not just ties.
TEST(ClassifyDiff, PathOrderedScanMatchesDomReference) {
  for (const std::string& q : corpus()) {
    Classification want = reference::classify(q);
    if (!want.ok) continue;
    Classification got =
        scan(q, reference::parse_tree_json(q), detail::ScanOrder::kAlwaysTrackPaths);
    EXPECT_EQ(describe(got), describe(want)) << "query: " << q;
  }
}

// Shapes libpg_query does not produce: the scan must still agree with the DOM reading (which
// fails closed on unreadable trees) and never crash.
TEST(ClassifyDiff, OddTreesMatchDomReference) {
  const std::string q = "SELECT 1 FROM t";
  for (const char* json : {
           "",
           "[]",
           "1",
           "{",
           "{} {}",
           "{\"stmts\":[1]}",
           "{\"stmts\":[{}]}",
           "{\"stmts\":{}}",
           "{\"stmts\":[[]]}",
           "{\"stmts\":[{\"stmt\":[]}]}",
           "{\"stmts\":[{\"stmt\":{}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":1}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":[{\"relname\":\"a\"}]}}]}",
           "{\"stmts\":[{\"stmt\":{\"UpdateStmt\":{}},\"stmt_location\":-3}]}",
           "{\"stmts\":[{\"stmt\":{\"DropStmt\":{},\"CreateStmt\":{\"x\":{\"relname\":\"b\"}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"B\":{\"a\":{\"relname\":\"b\"}},\"A\":{}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"a\":{\"relname\":\"x\",\"location\":1.5},"
           "\"b\":{\"relname\":\"y\"},\"c\":{\"relname\":7}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"a\":{\"funcname\":[{\"String\":{\"sval\":"
           "\"set_config\"}}],\"args\":[{\"TypeCast\":1}]},\"b\":{\"funcname\":[{\"String\":{"
           "\"sval\":\"set_config\"}}],\"args\":[{\"A_Const\":{\"sval\":\"role\"}}]}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"f\":{\"funcname\":[{\"String\":{\"sval\":"
           "\"set_config\"}},1],\"args\":[{\"A_Const\":{}}]}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"f\":{\"funcname\":[{\"String\":{\"sval\":"
           "\"set_config\"}}],\"args\":[{\"A_Const\":{\"isnull\":true}}]}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"f\":{\"funcname\":[{\"String\":{\"sval\":"
           "\"set_config\"}}],\"args\":[{\"TypeCast\":{\"arg\":{\"A_Const\":{\"sval\":{\"sval\":"
           "\"search_path\"}}}}}]}}}}]}",
           "{\"stmts\":[{\"stmt\":{\"DropStmt\":{\"objects\":[{\"List\":{\"items\":[{\"String\":"
           "{\"sval\":\"\"}},{\"String\":{\"sval\":\"t\"}},{\"String\":1}]}},\"x\",{\"List\":{}}],"
           "\"removeType\":\"OBJECT_VIEW\"}}}]}",
           "{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"x\":{\"kind\":\"VAR_RESET_ALL\"},"
           "\"w\":{\"InsertStmt\":{},\"DeleteStmt\":{},\"SelectStmt\":{\"intoClause\":1}},"
           "\"v\":{\"MergeStmt\":{},\"CreateTableAsStmt\":{},\"UpdateStmt\":[]}}}}]}",
       }) {
    Classification want = reference::classify_tree(q, json);
    EXPECT_EQ(describe(scan(q, json, detail::ScanOrder::kAuto)), describe(want)) << json;
    EXPECT_EQ(describe(scan(q, json, detail::ScanOrder::kAlwaysTrackPaths)), describe(want))
        << json;
  }
}

}  // namespace
}  // namespace phigate::sql
