#!/usr/bin/env python3
"""SQL policy against a real PostgreSQL: a read_only role whose only rule allows SELECT must not be
able to change anything, whatever the statement looks like; max_rows ends big results with an
error and leaves the session usable; SQL-level PREPARE/EXECUTE is decided as what it runs.

To make "unchanged" mean something, the gateway's upstream role may really write server files and
run programs (pg_write_server_files, pg_execute_server_program), owns a sequence, and can call a
function and a procedure that write: a statement that slipped through would leave a trace. Every
denial case runs through psql (simple protocol, one Query) and through the extended protocol
(Parse/Bind/Execute/Sync), and asserts SQLSTATE 42501, the rule's name in the message, and that
row counts, sequence values, the table list, large objects and the file drop directory are as
before."""
import json
import os
import re
import time

import harness as h  # first: re-executes under Debian's python3 that has psycopg2
import pgwire
import psycopg2
from pgwire import bind_msg, execute_msg, parse_msg, sync_msg

pg = gw = None
READER = CAPPED = ANALYST = None
SU = None
DROP = None  # a directory the server could write into, were a COPY TO / lo_export let through
UPSTREAM = "phigate_clinic"


def config(pg):
    c = h.default_config(pg)
    c["identity"]["group_roles"].update({"readers": ["reporter"], "capped": ["capped"],
                                        "preparers": ["preparer"]})
    c["roles"]["reporter"] = {
        "resources": ["clinic"], "read_only": True,
        # An allow-everything rule after the select rule: read_only must win regardless.
        "rules": [{"name": "reporting-select", "match": {"statement": ["select"]},
                   "action": "allow"},
                  {"name": "reporter-rest", "match": {}, "action": "allow"}]}
    c["roles"]["capped"] = {
        "resources": ["clinic"], "max_rows": 5,
        "rules": [{"name": "capped-select", "match": {"statement": ["select"]},
                   "action": "allow"},
                  {"name": "capped-copy", "match": {"statement": ["copy_to"]},
                   "action": "allow"}]}
    c["roles"]["preparer"] = {
        "resources": ["clinic"],
        "rules": [{"name": "prep-select", "match": {"statement": ["select"]}, "action": "allow"},
                  {"name": "prep-guarded-delete",
                   "match": {"statement": ["delete"], "where": "present",
                             "tables": ["visits"]}, "action": "allow"},
                  {"name": "no-sleep", "match": {"functions": ["pg_sleep*"]}, "action": "deny",
                   "message": "no sleeping"},
                  {"name": "no-ssn-regex", "match": {"regex": "select .*\\bssn\\b"},
                   "action": "deny", "message": "ssn by regex"}]}
    # The regex rule must come first to matter for selects: rebuild the order.
    rules = c["roles"]["preparer"]["rules"]
    c["roles"]["preparer"]["rules"] = [rules[3], rules[2], rules[0], rules[1]]
    return c


def setup_module():
    global pg, gw, READER, CAPPED, ANALYST, SU, DROP
    pg = h.start_postgres(patients=40)
    DROP = h.tmpdir("drop")
    os.chmod(DROP, 0o777)
    pg.admin(f"""
GRANT pg_write_server_files, pg_read_server_files, pg_execute_server_program TO {UPSTREAM};
""")
    pg.admin(f"""
CREATE SEQUENCE public.visit_seq;
ALTER SEQUENCE public.visit_seq OWNER TO {UPSTREAM};
CREATE TABLE public.access_log (at timestamptz DEFAULT now());
ALTER TABLE public.access_log OWNER TO {UPSTREAM};
CREATE FUNCTION public.log_access() RETURNS int LANGUAGE sql
  AS 'INSERT INTO public.access_log DEFAULT VALUES RETURNING 1';
CREATE PROCEDURE public.purge_visits() LANGUAGE sql AS 'DELETE FROM public.visits';
ALTER FUNCTION public.log_access() OWNER TO {UPSTREAM};
ALTER PROCEDURE public.purge_visits() OWNER TO {UPSTREAM};
""", dbname="clinic")
    gw = h.start_phigate(pg, config(pg))
    READER = gw.token("rita", ["readers"])
    CAPPED = gw.token("carl", ["capped"])
    ANALYST = gw.token("pat", ["preparers"])
    SU = psycopg2.connect(pg.admin_dsn("clinic"))
    SU.autocommit = True
    h.on_exit(lambda: SU.closed or SU.close())


SNAPSHOT_SQL = """
SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM visits),
       (SELECT count(*) FROM lab_results), (SELECT count(*) FROM access_log),
       (SELECT md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v),
       (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_class WHERE relpersistence = 't'),
       (SELECT count(*) FROM pg_largeobject_metadata),
       (SELECT last_value || '/' || is_called FROM public.visit_seq),
       (SELECT string_agg(relname || ':' || coalesce(array_to_string(relacl, ';'), ''), ','
                          ORDER BY relname) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace)
"""
SNAPSHOT_NAMES = ["patients", "visits", "lab_results", "access_log", "visits md5", "relations",
                  "temp relations", "large objects", "visit_seq", "ACLs"]


def snapshot():
    cur = SU.cursor()
    cur.execute(SNAPSHOT_SQL)
    state = dict(zip(SNAPSHOT_NAMES, cur.fetchone()))
    state["files"] = sorted(os.listdir(DROP))
    return state


def repair():
    cur = SU.cursor()
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND datname = 'clinic' AND state LIKE 'idle in transaction%'")


# (statement, rule name expected in the message). {d} is the drop directory.
DENIED = [
    ("INSERT INTO visits (patient_id, visit_date) SELECT id, now() FROM patients LIMIT 1",
     "read_only"),
    ("UPDATE visits SET notes = 'x' WHERE id = 1", "read_only"),
    ("DELETE FROM visits WHERE id = 1", "read_only"),
    ("/* just a comment */ dElEtE FROM visits", "read_only"),
    ("TRUNCATE visits CASCADE", "read_only"),
    ("MERGE INTO visits v USING (SELECT 1 AS id) s ON v.id = s.id WHEN MATCHED THEN DELETE",
     "read_only"),
    ("WITH d AS (DELETE FROM visits WHERE id = 2 RETURNING *) SELECT count(*) FROM d",
     "read_only"),
    ("WITH x AS (SELECT 1), u AS (UPDATE visits SET notes = 'y' RETURNING 1) SELECT * FROM x",
     "read_only"),
    ("SELECT * INTO stolen FROM patients", "read_only"),
    ("CREATE TABLE stolen AS SELECT * FROM patients", "read_only"),
    ("CREATE TEMP TABLE scratch (a int)", "read_only"),
    ("EXPLAIN ANALYZE DELETE FROM visits WHERE id = 3", "read_only"),
    ("EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO access_log DEFAULT VALUES", "read_only"),
    ("COPY patients TO '{d}/patients.csv'", "read_only"),
    ("COPY (SELECT * FROM patients) TO '{d}/q.csv'", "read_only"),
    ("COPY (SELECT 1) TO PROGRAM 'touch {d}/program-ran'", "read_only"),
    ("copy visits from program 'echo 1'", "read_only"),
    ("COPY access_log FROM STDIN", "read_only"),
    ("SELECT lo_import('/etc/hostname')", "read_only"),
    ("SELECT lo_export(lo_import('/etc/hostname'), '{d}/lo.out')", "read_only"),
    ("SELECT nextval('visit_seq')", "read_only"),
    ("SELECT pg_catalog.setval('public.visit_seq', 99)", "read_only"),
    ("SELECT * FROM patients WHERE id = nextval('visit_seq')", "read_only"),
    ("SELECT log_access()", "read_only"),
    ("SELECT public.log_access()", "read_only"),
    ("SELECT id FROM patients WHERE log_access() > 0", "read_only"),
    ("CALL purge_visits()", "read_only"),
    ("DO $$ BEGIN DELETE FROM visits; END $$", "read_only"),
    ("do $x$ begin execute 'drop table ' || 'visits cascade'; end $x$", "read_only"),
    ("SELECT query_to_xml('DELETE FROM visits RETURNING *', true, true, '')", "read_only"),
    ("SELECT pg_notify('ch', 'x')", "read_only"),
    ("SELECT pg_sleep(0)", "read_only"),
    ("SELECT txid_current()", "read_only"),
    ("SELECT set_config('role', 'postgres', false)", "read_only"),
    ("SELECT * FROM patients FOR UPDATE", "read_only"),
    ("GRANT SELECT ON patients TO PUBLIC", "read_only"),
    ("DROP TABLE lab_results", "read_only"),
    ("ALTER TABLE patients ADD COLUMN pwned int", "read_only"),
    ("VACUUM visits", "read_only"),
    ("LOCK TABLE visits IN ACCESS EXCLUSIVE MODE", "read_only"),
    ("UPDATE U&\"v\\0069sits\" SET notes = 'u' WHERE id = 4", "read_only"),
    ("PREPARE p1 AS DELETE FROM visits WHERE id = 5", "read_only"),
    ("SELECT 1; DELETE FROM visits WHERE id = 6", "read_only"),
    ("SET ROLE postgres", ""),
    ("EXECUTE never_prepared", "prepared"),
    ("EXPLAIN ANALYZE EXECUTE never_prepared", "prepared"),
]


def psql_attempt(sql):
    rc, out, err = gw.psql(READER, sql, args=["-v", "VERBOSITY=verbose"])
    m = re.search(r"ERROR:\s+([0-9A-Z]{5}):\s+(.*)", err)
    return (m.group(1), m.group(2)) if m else (None, out + err)


def extended_attempt(sql):
    c = pgwire.Conn("127.0.0.1", gw.port)
    h.on_exit(c.close)
    status, fields = c.startup("rita", "clinic", READER)
    h.check(status == "ok", f"startup: {fields}")
    pgwire.send_raw(c, parse_msg("", sql) + bind_msg("", "") + execute_msg("") + sync_msg())
    msgs = []
    while not msgs or msgs[-1][0] != b"Z":
        msgs.append(c.read())
        if msgs[-1][0] == b"G":  # CopyInResponse: a COPY FROM got through; give it no data
            # The Sync sent with the Execute was ignored in copy-in mode (§55.2.6): send another.
            pgwire.send_raw(c, pgwire.frame(b"f", b"test sends no COPY data\0") + sync_msg())
    # The session stays usable after the denial.
    c.query("SELECT 41 + 1")
    after = pgwire.read_until_ready(c)
    c.close()
    h.eq(pgwire.rows_of(after), [["42"]], f"session after denial of {sql!r}")
    errs = pgwire.errors_of(msgs)
    return (errs[0].get("C"), errs[0].get("M", "")) if errs else (None, str(msgs))


def expect_refused(channel, sql, rule, code, message):
    problems = []
    if code != "42501":
        problems.append(f"SQLSTATE {code!r}, not 42501")
    if rule and f'phigate rule "{rule}"' not in message:
        problems.append(f"message does not name rule {rule!r}")
    if not rule and "phigate" not in message:
        problems.append("message does not say phigate refused it")
    return [f"[{channel}] {sql!r}: {'; '.join(problems)} -- {message[:200]!r}"] if problems else []


def test_read_only_role_cannot_change_anything():
    findings = []
    for sql, rule in DENIED:
        sql = sql.replace("{d}", DROP)
        for channel, run in (("psql", psql_attempt), ("extended", extended_attempt)):
            before = snapshot()
            code, message = run(sql)
            after = snapshot()
            findings += expect_refused(channel, sql, rule, code, message)
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            if changed:
                findings.append(f"[{channel}] {sql!r}: DATABASE CHANGED {changed}")
                repair()
    h.check(not findings, f"{len(findings)} problems:\n" + "\n".join(findings))


def test_read_only_role_still_reads():
    for sql in ["SELECT count(*) FROM patients", "SELECT lower(last_name), length(mrn) FROM "
                "patients LIMIT 2", "SELECT date_trunc('day', now())", "BEGIN; SELECT 1; COMMIT",
                "COPY (SELECT id FROM patients LIMIT 1) TO STDOUT", "SHOW search_path",
                "EXPLAIN SELECT * FROM visits"]:
        rc, out, err = gw.psql(READER, sql)
        h.check("ERROR" not in err, f"{sql!r} refused: {err}")


# --------------------------------------------------------------------------------------------
# max_rows


def test_max_rows_psql_ends_result_with_error_and_session_continues():
    rc, out, err = gw.psql(CAPPED, None, args=[
        "-v", "VERBOSITY=verbose", "-c", "SELECT g FROM generate_series(1, 1000) g",
        "-c", "SELECT 'still here' AS s"])
    h.check("54000" in err and "max_rows (5)" in err and "capped" in err, err)
    h.check("still here" in out, out)
    # Under the limit nothing happens.
    rc, out, err = gw.psql(CAPPED, "SELECT g FROM generate_series(1, 5) g")
    h.check("ERROR" not in err and "(5 rows)" in out, out + err)


def test_max_rows_limits_copy_to_stdout():
    rc, out, err = gw.psql(CAPPED, None, args=[
        "-v", "VERBOSITY=verbose", "-c", "COPY (SELECT g FROM generate_series(1, 100) g) TO STDOUT",
        "-c", "SELECT 'after copy' AS s"])
    h.eq(out.split("\n")[:5], ["1", "2", "3", "4", "5"], out)
    h.check("\n6\n" not in out, f"rows beyond max_rows reached the client: {out[:200]}")
    h.check("54000" in err and "max_rows (5)" in err, err)
    h.check("after copy" in out, out)


def test_max_rows_inside_a_transaction_block():
    rc, out, err = gw.psql(CAPPED, None, args=[
        "-v", "VERBOSITY=verbose", "-c", "BEGIN", "-c", "SELECT id FROM patients",
        "-c", "SELECT 'in block' AS s", "-c", "COMMIT"])
    h.check("54000" in err, err)
    # The server did not fail the statement, so the block goes on and commits.
    h.check("in block" in out and "COMMIT" in out, out + err)


def _wire(token, user):
    c = pgwire.Conn("127.0.0.1", gw.port)
    h.on_exit(c.close)
    status, fields = c.startup(user, "clinic", token)
    h.check(status == "ok", f"startup: {fields}")
    return c


def test_max_rows_extended_protocol_and_transaction_state():
    c = _wire(CAPPED, "carl")
    c.query("BEGIN")
    pgwire.read_until_ready(c)
    pgwire.send_raw(c, parse_msg("", "SELECT g FROM generate_series(1, 50) g") + bind_msg("", "")
                    + execute_msg("") + sync_msg())
    msgs = pgwire.read_until_ready(c)
    h.eq(len(pgwire.rows_of(msgs)), 5, pgwire.types_of(msgs))
    errs = pgwire.errors_of(msgs)
    h.eq([e.get("C") for e in errs], ["54000"], str(errs))
    h.check("C" not in pgwire.types_of(msgs), f"CommandComplete leaked: {pgwire.types_of(msgs)}")
    # ReadyForQuery reports the server's real state: still in a (healthy) transaction block.
    h.eq(msgs[-1][1], b"T", "transaction status after a truncated result")
    c.query("SELECT 7")
    h.eq(pgwire.rows_of(pgwire.read_until_ready(c)), [["7"]])
    c.query("COMMIT")
    h.eq(pgwire.read_until_ready(c)[-1][1], b"I")
    c.close()


def test_max_rows_counts_across_executes_of_one_portal():
    c = _wire(CAPPED, "carl")
    c.query("BEGIN")
    pgwire.read_until_ready(c)
    pgwire.send_raw(c, parse_msg("s", "SELECT g FROM generate_series(1, 50) g")
                    + bind_msg("p", "s") + execute_msg("p", 3) + sync_msg())
    first = pgwire.read_until_ready(c)
    h.eq(len(pgwire.rows_of(first)), 3)
    h.check("s" in pgwire.types_of(first), pgwire.types_of(first))
    pgwire.send_raw(c, execute_msg("p", 3) + sync_msg())
    second = pgwire.read_until_ready(c)
    h.eq(len(pgwire.rows_of(second)), 2, "fetching in chunks must not reset the limit")
    h.eq([e.get("C") for e in pgwire.errors_of(second)], ["54000"])
    pgwire.send_raw(c, execute_msg("p", 3) + sync_msg())
    third = pgwire.read_until_ready(c)
    h.eq(len(pgwire.rows_of(third)), 0)
    h.eq([e.get("C") for e in pgwire.errors_of(third)], ["54000"])
    c.query("ROLLBACK")
    pgwire.read_until_ready(c)
    c.close()


def test_max_rows_counts_across_fetches_of_a_sql_cursor():
    c = _wire(CAPPED, "carl")

    def q(sql):
        c.query(sql)
        msgs = pgwire.read_until_ready(c)
        return len(pgwire.rows_of(msgs)), [e.get("C") for e in pgwire.errors_of(msgs)]

    h.eq(q("BEGIN"), (0, []))
    h.eq(q("DECLARE c CURSOR FOR SELECT g FROM generate_series(1, 50) g"), (0, []))
    h.eq(q("FETCH 3 FROM c"), (3, []))
    h.eq(q("FETCH 3 FROM c"), (2, ["54000"]), "fetching in chunks must not reset the limit")
    h.eq(q("FETCH 3 FROM c; FETCH 3 FROM c"), (0, ["54000", "54000"]))
    # A new cursor (its DECLARE completed) starts its own count.
    h.eq(q("CLOSE c"), (0, []))
    h.eq(q("DECLARE c CURSOR FOR SELECT g FROM generate_series(1, 50) g"), (0, []))
    h.eq(q("FETCH 4 FROM c"), (4, []))
    # A DECLARE of a name that exists fails on the server and does not reset the count.
    h.eq(q("SAVEPOINT s"), (0, []))
    n, errs = q("DECLARE c CURSOR FOR SELECT 1")
    h.eq(errs, ["42P03"])
    h.eq(q("ROLLBACK TO SAVEPOINT s"), (0, []))
    h.eq(q("FETCH 4 FROM c"), (1, ["54000"]))
    h.eq(q("ROLLBACK"), (0, []))
    c.close()


def test_max_rows_audited_as_truncated():
    gw.psql(CAPPED, "SELECT g AS audit_probe FROM generate_series(1, 20) g")
    found = None
    for _ in range(40):  # the store ingests asynchronously: poll until the result record lands
        rows = gw.audit_query("SELECT seq, record FROM audit_events "
                              "WHERE type IN ('statement', 'result') ORDER BY seq")
        recs = [dict(json.loads(r), _seq=seq) for seq, r in rows]
        stmt = [r for r in recs if "audit_probe" in (r.get("action") or "")]
        if stmt:
            res = [r for r in recs if r.get("ref_seq") == stmt[0]["_seq"]]
            if res:
                found = res[0]
                break
        time.sleep(0.1)
    h.check(found is not None, "no result record for the truncated statement")
    h.eq(found.get("status"), "truncated", str(found))
    h.eq(found.get("rows"), 5, str(found))


# --------------------------------------------------------------------------------------------
# PREPARE / EXECUTE, function and regex rules


def test_prepare_execute_decided_as_what_runs():
    conn = gw.connect(ANALYST, user="pat")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("PREPARE sel (int) AS SELECT id FROM patients WHERE id = $1")
    cur.execute("EXECUTE sel(1)")
    h.eq(cur.fetchall(), [(1,)])
    # A guarded delete is allowed, an unguarded one is not: EXECUTE is decided as the DELETE.
    cur.execute("PREPARE del_one (int) AS DELETE FROM visits WHERE id = $1")
    before = snapshot()["visits"]
    cur.execute("EXECUTE del_one(-1)")
    e = h.pg_error(lambda: cur.execute("PREPARE del_all AS DELETE FROM visits"))
    h.eq(e.pgcode, "42501")
    e = h.pg_error(lambda: cur.execute("EXECUTE del_all"))
    h.eq(e.pgcode, "42501")
    h.check("no statement of that name" in e.diag.message_primary, e.diag.message_primary)
    # DEALLOCATE forgets: EXECUTE of the name is then refused by phigate, not sent.
    cur.execute("DEALLOCATE sel")
    e = h.pg_error(lambda: cur.execute("EXECUTE sel(1)"))
    h.eq(e.pgcode, "42501")
    # PREPARE and EXECUTE in one string.
    cur.execute("PREPARE two AS SELECT 2; EXECUTE two")
    h.eq(cur.fetchall(), [(2,)])
    h.eq(snapshot()["visits"], before)
    conn.close()


def test_prepare_through_extended_protocol_execute_by_sql():
    c = _wire(ANALYST, "pat")
    pgwire.send_raw(c, parse_msg("wired", "SELECT 'wired' AS w") + sync_msg())
    h.eq(pgwire.types_of(pgwire.read_until_ready(c)), "1Z")
    c.query("EXECUTE wired")
    h.eq(pgwire.rows_of(pgwire.read_until_ready(c)), [["wired"]])
    c.close()


def test_function_and_regex_rules():
    rc, out, err = gw.psql(ANALYST, "SELECT pg_sleep(0)")
    h.check("no sleeping" in err and 'phigate rule "no-sleep"' in err, err)
    rc, out, err = gw.psql(ANALYST, "SeLeCt /* hide */ SSN FROM patients LIMIT 1")
    h.check("ssn by regex" in err, err)
    rc, out, err = gw.psql(ANALYST, "SELECT mrn FROM patients LIMIT 1")
    h.check("ERROR" not in err, err)



def test_search_path_cannot_shadow_builtins():
    """A schema listed before pg_catalog would let its own lower()/count() run instead of the
    built-ins a read_only role trusts: a read_only role may not set such a path, and nobody may
    ask for one as a start-up parameter (roles are not known yet at that point)."""
    pg.admin(f"CREATE SCHEMA shadow AUTHORIZATION {UPSTREAM};", dbname="clinic")
    pg.admin("CREATE FUNCTION shadow.lower(text) RETURNS text LANGUAGE sql AS "
             "'INSERT INTO public.access_log DEFAULT VALUES RETURNING $1'", dbname="clinic")
    before = snapshot()
    for sql in ["SET search_path = shadow, pg_catalog, public",
                "SELECT set_config('search_path', 'shadow, pg_catalog', false)"]:
        rc, out, err = gw.psql(READER, None, args=["-v", "VERBOSITY=verbose", "-c", sql,
                                                   "-c", "SELECT lower('X')"])
        h.check("42501" in err and "pg_catalog after another schema" in err, err)
    c = pgwire.Conn("127.0.0.1", gw.port)
    h.on_exit(c.close)
    status, fields = c.startup("rita", "clinic", READER,
                               search_path="shadow, pg_catalog, public")
    c.close()
    h.eq((status, (fields or {}).get("C")), ("error", "0A000"), str(fields))
    h.eq(snapshot(), before)

if __name__ == "__main__":
    h.main(globals())
