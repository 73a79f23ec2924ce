#!/usr/bin/env python3
"""An attacker holding only the analyst role (rules: select allowed, bulk delete/update denied,
nothing else) tries to write, or to change the identity the upstream session runs as, through
phigate. Every attempt must be refused by phigate itself (42501, or 42601 for what its parser
rejects) and must leave the database exactly as it was and current_user/session_user on the
gateway's upstream role. Each attempt runs over three channels: the simple query protocol (raw
pgwire), the extended protocol (Parse/Bind/Execute/Sync) and psycopg2.

To make "unchanged" mean something, the setup drops the demo schema's foreign keys (a DELETE that
slips through really deletes) and grants the upstream role membership in `clinic_admin` (a SET ROLE
that slips through really switches). Every attempt uses its own victim row, so one leak does not
hide the next.

A finding that gets through is a gateway bug: the failure message lists the exact input, what came
back, and what changed."""
import itertools
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
import psycopg2  # noqa: E402
from harness import check, eq  # noqa: E402
from pgwire import bind_msg, execute_msg, parse_msg, sync_msg  # noqa: E402

pg = gw = None
ANALYST = DBA = None
UPSTREAM = "phigate_clinic"
ESCALATION_ROLE = "clinic_admin"
SU = None  # superuser connection (unix socket) for snapshots and repairs
_victims = None
_counter = itertools.count(1)


def setup_module():
    global pg, gw, ANALYST, DBA, SU, _victims
    pg = harness.start_postgres(patients=120)
    pg.admin(f"""
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
           WHERE contype = 'f' AND connamespace = 'public'::regnamespace LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
  END LOOP;
END $$;
CREATE ROLE {ESCALATION_ROLE} NOLOGIN;
GRANT {ESCALATION_ROLE} TO {UPSTREAM};
CREATE SEQUENCE public.visit_seq;
ALTER SEQUENCE public.visit_seq OWNER TO {UPSTREAM};
""", dbname="clinic")
    gw = harness.start_phigate(pg)
    ANALYST = gw.token("mallory", ["analysts"])
    DBA = gw.token("dan", ["dbas"])
    SU = psycopg2.connect(pg.admin_dsn("clinic"))
    SU.autocommit = True
    harness.on_exit(lambda: SU.closed or SU.close())
    cur = SU.cursor()
    cur.execute("SELECT id FROM visits ORDER BY id")
    _victims = iter([r[0] for r in cur.fetchall()])


# --------------------------------------------------------------------------------------------
# state of the database and of the session


SNAPSHOT_SQL = """
SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM visits),
       (SELECT count(*) FROM lab_results),
       (SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM patients p),
       (SELECT md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v),
       (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_class WHERE relpersistence = 't'),
       (SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc
         WHERE pronamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_largeobject_metadata),
       (SELECT last_value || '/' || is_called FROM public.visit_seq),
       (SELECT string_agg(coalesce(array_to_string(setconfig, ';'), ''), '|')
          FROM pg_db_role_setting),
       (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles),
       (SELECT string_agg(relname || ':' || coalesce(array_to_string(relacl, ';'), ''), ','
                          ORDER BY relname) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace)
"""
SNAPSHOT_NAMES = ["patients", "visits", "lab_results", "patients md5", "visits md5",
                  "public relations", "temp relations", "public functions", "large objects",
                  "visit_seq", "role/db settings", "roles", "ACLs"]


def snapshot():
    cur = SU.cursor()
    cur.execute(SNAPSHOT_SQL)
    return dict(zip(SNAPSHOT_NAMES, cur.fetchone()))


def diff(before, after):
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def repair():
    """Undoes what a leaked attempt may have left behind that would skew later attempts."""
    cur = SU.cursor()
    cur.execute(f"ALTER ROLE {UPSTREAM} RESET ALL; ALTER DATABASE clinic RESET ALL;")
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND datname = 'clinic' AND state = 'idle in transaction'")


def next_ids():
    return {"vid": next(_victims), "n": next(_counter)}


def fill(s, ids):
    b = s if isinstance(s, bytes) else s.encode()
    for k, v in ids.items():
        b = b.replace(("{%s}" % k).encode(), str(v).encode())
    return b


class Outcome:
    def __init__(self, code=None, message="", tags=(), closed=False, rows=()):
        self.code, self.message, self.tags, self.closed, self.rows = (code, message, list(tags),
                                                                      closed, list(rows))

    @property
    def phigate_refusal(self):
        m = self.message or ""
        return self.code in ("42501", "42601") and ("phigate" in m or
                                                   m.startswith("no rule allows"))

    def __repr__(self):
        if self.closed:
            return f"<closed {self.code or ''} {self.message[:160]!r}>"
        if self.code:
            return f"<ERROR {self.code} {self.message[:200]!r} tags={self.tags}>"
        return f"<ok tags={self.tags} rows={self.rows[:3]}>"


# --------------------------------------------------------------------------------------------
# channels: each runs the steps in one analyst session and returns (outcomes, identity), identity
# being (current_user, session_user) at the end, or None when the session is gone.


def _read_result(c):
    msgs = []
    while True:
        typ, p = c.read()
        msgs.append((typ, p))
        if typ == b"G":  # CopyInResponse: the server wants data; refuse to give any
            pgwire.send_raw(c, pgwire.frame(b"f", b"evasion test sends no COPY data\0"))
        if typ == b"Z":
            return msgs


def _outcome(msgs):
    errs = pgwire.errors_of(msgs)
    tags = [p.rstrip(b"\0").decode("utf-8", "replace") for t, p in msgs if t == b"C"]
    if errs:
        return Outcome(errs[0].get("C"), errs[0].get("M", ""), tags)
    return Outcome(tags=tags, rows=pgwire.rows_of(msgs))


def _raw_session(startup):
    c = pgwire.Conn("127.0.0.1", gw.port)
    harness.on_exit(c.close)
    status, fields = c.startup("mallory", "clinic", ANALYST, **startup)
    if status != "ok":
        c.close()
        return None, Outcome(fields.get("C"), fields.get("M", ""), closed=True)
    return c, None


def _raw_identity(c):
    try:
        c.query("ROLLBACK")  # leave any block the attempt opened (a warning when there is none)
        _read_result(c)
        c.query("SELECT current_user, session_user")
        msgs = _read_result(c)
    except (EOFError, OSError):
        return None
    rows = pgwire.rows_of(msgs)
    return tuple(rows[0]) if rows else ("<error>", str(pgwire.errors_of(msgs)))


def channel_simple(steps, startup):
    c, fail = _raw_session(startup)
    if fail:
        return [fail], None
    outs = []
    try:
        for s in steps:
            pgwire.send_raw(c, pgwire.frame(b"Q", s + b"\0"))
            outs.append(_outcome(_read_result(c)))
    except (EOFError, OSError) as e:
        outs.append(Outcome(closed=True, message=str(e)))
        return outs, None
    ident = _raw_identity(c)
    c.close()
    return outs, ident


def channel_extended(steps, startup):
    c, fail = _raw_session(startup)
    if fail:
        return [fail], None
    outs = []
    try:
        for s in steps:
            pgwire.send_raw(c, parse_msg("", s) + bind_msg("", "") + execute_msg("") + sync_msg())
            outs.append(_outcome(_read_result(c)))
    except (EOFError, OSError) as e:
        outs.append(Outcome(closed=True, message=str(e)))
        return outs, None
    ident = _raw_identity(c)
    c.close()
    return outs, ident


def channel_psycopg2(steps, startup):
    try:
        conn = gw.connect(ANALYST, user="mallory", **startup)
    except psycopg2.Error as e:
        return [Outcome(e.pgcode, str(e), closed=True)], None
    conn.autocommit = True
    outs = []
    try:
        cur = conn.cursor()
        for s in steps:
            try:
                cur.execute(s)
                rows = []
                if cur.description is not None:
                    try:
                        rows = cur.fetchall()
                    except Exception:  # rows in a client encoding psycopg2 did not expect
                        rows = ["<undecodable>"]
                outs.append(Outcome(tags=[cur.statusmessage], rows=rows))
            except psycopg2.Error as e:
                msg = e.diag.message_primary or str(e)
                outs.append(Outcome(e.pgcode, msg, closed=conn.closed != 0))
                if conn.closed:
                    return outs, None
            except Exception as e:  # noqa: BLE001 — a driver-side failure is still an outcome
                outs.append(Outcome(f"client:{type(e).__name__}", str(e)))
        try:
            cur.execute("SELECT current_user, session_user")
            ident = tuple(cur.fetchone())
        except psycopg2.Error:
            ident = None
    finally:
        conn.close()
    return outs, ident


CHANNELS = {"simple": channel_simple, "extended": channel_extended, "psycopg2": channel_psycopg2}
ALL = tuple(CHANNELS)


class Case:
    """steps: statements run one after the other in one session (str or bytes; {vid} is the
    attempt's victim visits.id, {n} a unique number). must_refuse: some step must be refused by
    phigate. A case with several steps models an attacker preparing the session with statements
    that are allowed on their own (the last step is the payload)."""

    def __init__(self, name, *steps, channels=ALL, must_refuse=True, startup=None):
        self.name, self.steps, self.channels = name, steps, channels
        self.must_refuse, self.startup = must_refuse, startup or {}


def attempt(case, channel):
    """Returns a list of problems (empty when the attempt was handled correctly)."""
    ids = next_ids()
    steps = [fill(s, ids) for s in case.steps]
    before = snapshot()
    outs, ident = CHANNELS[channel](steps, case.startup)
    after = snapshot()
    problems = []
    if case.must_refuse and not any(o.phigate_refusal for o in outs):
        problems.append("not refused by phigate")
    if ident is not None and ident != (UPSTREAM, UPSTREAM):
        problems.append(f"IDENTITY CHANGED: (current_user, session_user) = {ident}")
    d = diff(before, after)
    if d:
        problems.append(f"DATABASE CHANGED: {d}")
    if problems:
        repair()
        return [f"[{channel}] {case.name}: {'; '.join(problems)}\n"
                f"      input:   {[s.decode() if s.isascii() else s for s in steps]}"
                f"{'  startup ' + str(case.startup) if case.startup else ''}\n"
                f"      replies: {outs}"]
    return []


def run_cases(cases):
    findings = []
    n = 0
    for case in cases:
        for ch in case.channels:
            n += 1
            findings += attempt(case, ch)
    print(f"  {n} attempts, {len(findings)} got through")
    for f in findings:
        print("  FINDING " + f)
    check(not findings, f"{len(findings)} of {n} evasion attempts got through phigate:\n" +
          "\n".join(findings))


# --------------------------------------------------------------------------------------------
# the suite is not just "deny everything"


def test_reads_and_plumbing_still_allowed():
    ok = ["SELECT 1", "SELECT pg_sleep(0)", "SELECT count(*) FROM visits", "TABLE patients LIMIT 2",
          "SELECT 'DELETE FROM visits; SET ROLE postgres' AS just_text",
          "SELECT set_config('application_name', 'evasion-test', false)",
          "SET search_path = public", "SHOW standard_conforming_strings",
          "SELECT current_setting('role')", "BEGIN", "COMMIT"]
    problems = []
    for ch in ALL:
        outs, ident = CHANNELS[ch]([s.encode() for s in ok], {})
        for s, o in zip(ok, outs):
            if o.code or o.closed:
                problems.append(f"[{ch}] {s!r} was refused: {o}")
        if ident != (UPSTREAM, UPSTREAM):
            problems.append(f"[{ch}] identity {ident}")
    check(not problems, "legitimate statements refused:\n" + "\n".join(problems))


# --------------------------------------------------------------------------------------------
# writes in disguise


def test_comment_case_and_spelling_tricks():
    run_cases([
        Case("comment + mixed case", "/* x */ DeLeTe FROM visits WHERE id={vid}"),
        Case("nested comment", "/* a /* b */ c */ DELETE FROM visits WHERE id={vid}"),
        Case("line comment hides nothing", "-- SELECT\nUPDATE visits SET notes = 'pwned' "
                                           "WHERE id = {vid}"),
        Case("quoted, qualified names", 'DELETE FROM "public"."visits" WHERE "id" = {vid}'),
        Case("odd whitespace", "\f \t DELETE\tFROM\r\nvisits\fWHERE id={vid}"),
        Case("unicode-escaped table name", 'DELETE FROM U&"\\0076isits" WHERE id={vid}'),
        Case("unicode escape with UESCAPE",
             "UPDATE U&\"!0076isits\" UESCAPE '!' SET notes = 'pwned' WHERE id = {vid}"),
        Case("plain insert", "INSERT INTO visits SELECT id + 1000000, patient_id, visit_date, "
                             "department, notes FROM visits WHERE id = {vid}"),
        Case("merge", "MERGE INTO visits v USING (SELECT {vid} AS id) s ON v.id = s.id "
                      "WHEN MATCHED THEN DELETE"),
        Case("truncate", "TRUNCATE lab_results"),
        Case("lock", "LOCK TABLE visits IN ACCESS EXCLUSIVE MODE"),
    ])


def test_multi_statement_tricks():
    run_cases([
        Case("select; delete", "SELECT 1; DELETE FROM visits WHERE id={vid}"),
        Case("select;delete;select", "SELECT 1;DELETE FROM visits WHERE id={vid};SELECT 2"),
        Case("explicit block", "BEGIN; DELETE FROM visits WHERE id={vid}; COMMIT"),
        Case("dollar-quoted semicolon", "SELECT $$;$$; DELETE FROM visits WHERE id={vid}"),
        Case("string-quoted semicolon", "SELECT ';'; DELETE FROM visits WHERE id={vid}"),
        Case("backslash-semicolon in the text", "SELECT 1 \\; DELETE FROM visits WHERE id={vid}"),
    ])


def test_psql_backslash_semicolon():
    # psql's \; glues both statements into one Query message
    vid = next(_victims)
    before = snapshot()
    rc, out, err = gw.psql(ANALYST, args=["-v", "VERBOSITY=verbose"],
                           input=f"SELECT 1 \\; DELETE FROM visits WHERE id={vid};\n"
                                 "SELECT current_user, session_user;\n")
    check("ERROR:  42501" in err, f"psql \\; with a DELETE not refused with 42501: {err!r}")
    check(f"{UPSTREAM} | {UPSTREAM}" in out, f"identity after the attempt: {out!r}")
    eq(diff(before, snapshot()), {}, "database changed")


def test_data_modifying_statements_nested_in_reads():
    run_cases([
        Case("data-modifying CTE",
             "WITH d AS (DELETE FROM visits WHERE id={vid} RETURNING *) SELECT * FROM d"),
        Case("updating CTE", "WITH u AS (UPDATE visits SET notes = 'pwned' WHERE id = {vid} "
                             "RETURNING 1) SELECT count(*) FROM u"),
        Case("inserting CTE", "WITH i AS (INSERT INTO visits SELECT id + 1000000, patient_id, "
                              "visit_date, department, notes FROM visits WHERE id = {vid} "
                              "RETURNING 1) SELECT 1"),
        Case("CTE chain", "WITH a AS (SELECT {vid} AS id), d AS (DELETE FROM visits v USING a "
                          "WHERE v.id = a.id RETURNING v.id) SELECT * FROM a, d"),
        Case("EXPLAIN ANALYZE DELETE", "EXPLAIN ANALYZE DELETE FROM visits WHERE id={vid}"),
        Case("EXPLAIN (ANALYZE) UPDATE", "EXPLAIN (ANALYZE true, FORMAT json) UPDATE visits "
                                         "SET notes = 'pwned' WHERE id = {vid}"),
        Case("EXPLAIN ANALYZE CTE", "EXPLAIN ANALYZE WITH d AS (DELETE FROM visits "
                                    "WHERE id={vid} RETURNING 1) SELECT * FROM d"),
        Case("EXPLAIN ANALYZE CREATE TABLE AS",
             "EXPLAIN ANALYZE CREATE TABLE evil_e{n} AS SELECT * FROM patients"),
        Case("SELECT INTO", "SELECT * INTO evil{n} FROM patients"),
        Case("SELECT INTO TEMP", "SELECT * INTO TEMP evil_t{n} FROM patients"),
        Case("CREATE TABLE AS", "CREATE TABLE x{n} AS SELECT 1"),
        Case("CREATE TEMP TABLE", "CREATE TEMP TABLE t{n} (a int)"),
        Case("COPY (DELETE ... RETURNING)",
             "COPY (DELETE FROM visits WHERE id={vid} RETURNING *) TO STDOUT"),
        Case("COPY (CTE DELETE)", "COPY (WITH d AS (DELETE FROM visits WHERE id={vid} "
                                  "RETURNING *) SELECT * FROM d) TO STDOUT"),
        Case("COPY FROM STDIN", "COPY visits FROM STDIN"),
    ])


def test_procedural_and_prepared_writes():
    run_cases([
        Case("DO block", "DO $$ BEGIN DELETE FROM visits; END $$"),
        Case("DO with dynamic SQL", "DO LANGUAGE plpgsql $$ BEGIN EXECUTE 'DELETE FROM visits "
                                    "WHERE id={vid}'; END $$"),
        Case("PREPARE; EXECUTE in one query",
             "PREPARE p{n} AS DELETE FROM visits WHERE id={vid}; EXECUTE p{n}"),
        Case("PREPARE then EXECUTE", "PREPARE p{n} AS DELETE FROM visits WHERE id={vid}",
             "EXECUTE p{n}"),
        Case("CREATE FUNCTION then call it",
             "CREATE FUNCTION f{n}() RETURNS void LANGUAGE sql AS "
             "'DELETE FROM visits WHERE id={vid}'", "SELECT f{n}()"),
        Case("CREATE PROCEDURE then CALL",
             "CREATE PROCEDURE pr{n}() LANGUAGE sql AS 'DELETE FROM visits WHERE id={vid}'",
             "CALL pr{n}()"),
        Case("CREATE RULE", "CREATE RULE r{n} AS ON UPDATE TO patients DO INSTEAD NOTHING"),
        Case("ALTER TABLE", "ALTER TABLE visits ADD COLUMN pwned{n} int"),
        Case("DROP TABLE", "DROP TABLE lab_results"),
        Case("GRANT", "GRANT ALL ON patients TO PUBLIC"),
    ])


def test_select_calling_writing_functions():
    # SELECT is allowed, but some built-in functions write: a select-only role must not get them
    run_cases([
        Case("large object creation", "SELECT lo_from_bytea(0, '\\x4142'::bytea)"),
        Case("sequence setval", "SELECT setval('visit_seq', 4242)"),
        Case("sequence nextval", "SELECT nextval('visit_seq')"),
    ])


# --------------------------------------------------------------------------------------------
# identity changes


def test_identity_changes():
    r = ESCALATION_ROLE
    run_cases([
        Case("SET ROLE postgres", "SET ROLE postgres"),
        Case("SET ROLE (member role)", f"SET ROLE {r}"),
        Case("SET role = ...", f"SET role = '{r}'"),
        Case("SET SESSION ROLE", f"SET SESSION ROLE {r}"),
        Case("SET LOCAL ROLE in a block", f"BEGIN; SET LOCAL ROLE {r}; SELECT 1"),
        Case("SET ROLE NONE", "SET ROLE NONE"),
        Case("RESET ROLE", "RESET ROLE"),
        Case("RESET ALL (resets role)", "RESET ALL"),
        Case("SET SESSION AUTHORIZATION postgres", "SET SESSION AUTHORIZATION postgres"),
        Case("SET SESSION AUTHORIZATION upstream", f"SET SESSION AUTHORIZATION {UPSTREAM}"),
        Case("SET SESSION AUTHORIZATION DEFAULT", "SET SESSION AUTHORIZATION DEFAULT"),
        Case("RESET SESSION AUTHORIZATION", "RESET SESSION AUTHORIZATION"),
        Case("SET session_authorization =", "SET session_authorization = 'postgres'"),
        Case("set_config('role')", f"SELECT set_config('role', '{r}', false)"),
        Case("set_config('role') postgres", "SELECT set_config('role','postgres',false)"),
        Case("set_config upper case", f"SELECT pg_catalog.SET_CONFIG('ROLE', '{r}', false)"),
        Case("set_config computed name", f"SELECT set_config('ro' || 'le', '{r}', false)"),
        Case("set_config name from a row",
             f"SELECT set_config(x, '{r}', false) FROM (VALUES ('role')) v(x)"),
        Case("set_config in FROM", f"SELECT * FROM set_config('role', '{r}', false)"),
        Case("set_config escaped name", f"SELECT set_config(E'\\x72ole', '{r}', false)"),
        Case("set_config session_authorization",
             "SELECT set_config('session_authorization', 'postgres', false)"),
        Case("unicode-escaped set_config", f"SELECT U&\"set\\005fconfig\"('role', '{r}', false)"),
        Case("unicode set_config with UESCAPE",
             f"SELECT U&\"set!005fconfig\" UESCAPE '!' ('role', '{r}', false)"),
        Case("unicode-escaped setting literal",
             f"SELECT set_config(U&'\\0072ole', '{r}', false)"),
        Case("SET of a unicode-escaped name", f"SET U&\"\\0072ole\" TO '{r}'"),
        Case("ALTER ROLE SET role (next sessions)", f"ALTER ROLE {UPSTREAM} SET role = '{r}'"),
        Case("ALTER DATABASE SET role (next sessions)", f"ALTER DATABASE clinic SET role = '{r}'"),
        Case("identity change after a read", f"SELECT 1; SET ROLE {r}",
             channels=("simple", "psycopg2")),
    ])


def test_startup_parameters_cannot_change_identity():
    r = ESCALATION_ROLE
    problems = []
    for params in [{"options": f"-c role={r}"}, {"options": f"-crole={r}"},
                   {"options": f"--role={r}"}, {"options": "-c role=postgres"},
                   {"options": "-c session_authorization=postgres"}, {"role": r},
                   {"session_authorization": "postgres"},
                   {"options": f"-c search_path=public -c role={r}"}]:
        c = pgwire.Conn("127.0.0.1", gw.port)
        harness.on_exit(c.close)
        status, fields = c.startup("postgres", "clinic", ANALYST, **params)
        if status != "ok":
            continue  # refusing the startup altogether is fine too
        ident = _raw_identity(c)
        c.close()
        if ident != (UPSTREAM, UPSTREAM):
            problems.append(f"[raw startup {params}] identity {ident}")
    for params in [{"options": f"-c role={r}"}, {"options": "-c session_authorization=postgres"}]:
        try:
            conn = gw.connect(ANALYST, user="postgres", **params)
        except psycopg2.Error:
            continue
        cur = conn.cursor()
        cur.execute("SELECT current_user, session_user")
        ident = tuple(cur.fetchone())
        conn.close()
        if ident != (UPSTREAM, UPSTREAM):
            problems.append(f"[psycopg2 {params}] identity {ident}")
    rc, out, err = gw.psql(ANALYST, args=["-At"], sql="SELECT current_user || '/' || session_user",
                           options=f"-c role={r}")
    if rc == 0 and out.strip() != f"{UPSTREAM}/{UPSTREAM}":
        problems.append(f"[psql options=-c role={r}] identity {out.strip()}")
    check(not problems, "startup parameters changed the upstream identity:\n" +
          "\n".join(problems))


# --------------------------------------------------------------------------------------------
# wire-level tricks


def test_nul_byte_inside_query_text():
    problems = []
    for vid_body in [b"SELECT 1\0DELETE FROM visits WHERE id={vid}",
                     b"SELECT 1\0; DELETE FROM visits WHERE id={vid}",
                     b"\0DELETE FROM visits WHERE id={vid}"]:
        body = fill(vid_body, next_ids())
        before = snapshot()
        c, fail = _raw_session({})
        check(fail is None, f"startup: {fail}")
        pgwire.send_raw(c, pgwire.frame(b"Q", body + b"\0"))
        try:
            out = _outcome(_read_result(c))
            ident = _raw_identity(c)
        except (EOFError, OSError) as e:
            out, ident = Outcome(closed=True, message=str(e)), None
        c.close()
        if not (out.code or out.closed):
            problems.append(f"Query {body!r} ran without an error: {out}")
        if ident is not None and ident != (UPSTREAM, UPSTREAM):
            problems.append(f"Query {body!r}: identity {ident}")
        d = diff(before, snapshot())
        if d:
            problems.append(f"Query {body!r}: DATABASE CHANGED {d}")

    # Parse whose query string ends early at a NUL: the rest would be read as parameter types
    for sql in [b"SELECT 1\0DELETE FROM visits WHERE id={vid}", b"\0DELETE FROM visits"]:
        sql = fill(sql, next_ids())
        before = snapshot()
        c, fail = _raw_session({})
        check(fail is None, f"startup: {fail}")
        body = b"\0" + sql + b"\0" + struct.pack("!H", 0)
        pgwire.send_raw(c, pgwire.frame(b"P", body) + bind_msg("", "") + execute_msg("") +
                        sync_msg())
        try:
            out = _outcome(_read_result(c))
            ident = _raw_identity(c)
        except (EOFError, OSError) as e:
            out, ident = Outcome(closed=True, message=str(e)), None
        c.close()
        if not (out.code or out.closed):
            problems.append(f"Parse {body!r} ran without an error: {out}")
        if ident is not None and ident != (UPSTREAM, UPSTREAM):
            problems.append(f"Parse {body!r}: identity {ident}")
        d = diff(before, snapshot())
        if d:
            problems.append(f"Parse {body!r}: DATABASE CHANGED {d}")
    check(not problems, "\n".join(problems))


# --------------------------------------------------------------------------------------------
# lexer desynchronisation: phigate parses the text as PostgreSQL would with its defaults
# (standard_conforming_strings = on, UTF-8). A session that changes either makes the server read
# the same bytes differently. Each case first runs a setting change that is allowed on its own,
# then a payload that phigate's parser reads as one harmless SELECT.

SCS_MULTI = "SELECT 'a\\', '; DELETE FROM visits WHERE id={vid}; --'"
SCS_CTE = ("WITH d AS (SELECT 'a\\', ') , e AS (DELETE FROM visits WHERE id={vid} RETURNING 1) "
           "SELECT 1 --') SELECT 1")
SCS_ROLE = f"SELECT 'a\\', '; SET ROLE {ESCALATION_ROLE}; --'"


def test_standard_conforming_strings_desync():
    multi = ("simple", "psycopg2")  # the extended protocol takes one statement per Parse
    run_cases([
        Case("SET standard_conforming_strings = off, then multi-statement",
             "SET standard_conforming_strings = off", SCS_MULTI, channels=multi),
        Case("SET standard_conforming_strings = off, then CTE",
             "SET standard_conforming_strings = off", SCS_CTE),
        Case("set_config(standard_conforming_strings), then CTE",
             "SELECT set_config('standard_conforming_strings', 'off', false)", SCS_CTE),
        Case("SET standard_conforming_strings = off, then SET ROLE",
             "SET standard_conforming_strings = off", SCS_ROLE, channels=multi),
        # at startup the setting is not forwarded, so the payload stays a harmless SELECT there;
        # only "nothing changed" is required
        Case("standard_conforming_strings=off as startup parameter", SCS_CTE,
             startup={"standard_conforming_strings": "off"}, must_refuse=False),
        Case("options -c standard_conforming_strings=off", SCS_CTE,
             startup={"options": "-c standard_conforming_strings=off"}, must_refuse=False),
    ])


# Multibyte client encodings whose second byte may be 0x5c ('\'): the server converts to UTF-8
# before lexing; a gateway that lexes the raw bytes sees an escaped quote where there is none.
# Each prefix is valid UTF-8 to phigate and ends in a lead byte + '\' pair to the server.
ENCODING_PREFIX = {"SJIS": b"\xc3\x81\\", "GBK": b"\xe0\xa0\x81\\", "BIG5": b"\xe0\xa4\xa1\\",
                   "GB18030": b"\xe0\xa0\x81\\"}


def enc_multi(enc):
    return b"SELECT E'" + ENCODING_PREFIX[enc] + b"'; DELETE FROM visits WHERE id={vid}; --'"


def enc_cte(enc):
    return (b"WITH d AS (SELECT E'" + ENCODING_PREFIX[enc] + b"') , e AS (DELETE FROM visits "
            b"WHERE id={vid} RETURNING 1) SELECT 1 --') SELECT 1")


def test_client_encoding_desync():
    multi = ("simple", "psycopg2")
    cases = []
    for enc in ENCODING_PREFIX:
        cases.append(Case(f"SET client_encoding = {enc}, then multi-statement",
                          f"SET client_encoding = '{enc}'", enc_multi(enc), channels=multi))
        cases.append(Case(f"SET client_encoding = {enc}, then CTE",
                          f"SET client_encoding = '{enc}'", enc_cte(enc)))
    cases += [
        Case("SET NAMES 'SJIS', then CTE", "SET NAMES 'SJIS'", enc_cte("SJIS")),
        Case("set_config(client_encoding), then CTE",
             "SELECT set_config('client_encoding', 'SJIS', false)", enc_cte("SJIS")),
        Case("client_encoding=SJIS as startup parameter", enc_cte("SJIS"),
             startup={"client_encoding": "SJIS"}, must_refuse=False),
    ]
    run_cases(cases)


# --------------------------------------------------------------------------------------------
# extended-protocol bookkeeping: phigate's idea of what a statement/portal name holds must be the
# server's. When they differ, the audit records one statement while the server runs another.


def _wire(token):
    c = pgwire.Conn("127.0.0.1", gw.port)
    harness.on_exit(c.close)
    status, fields = c.startup("mallory", "clinic", token)
    eq(status, "ok", f"startup: {fields}")
    return c


def _ext(c, *msgs):
    pgwire.send_raw(c, b"".join(msgs))
    return pgwire.read_until_ready(c)


def _audit_records(after_seq, session_filter=None, timeout=2.5):
    """statement/result records with seq > after_seq, polled (the store ingests asynchronously)."""
    deadline = time.time() + timeout
    last = []
    while True:
        rows = gw.audit_query("SELECT seq, type, record FROM audit_events WHERE seq > ? AND type "
                              "IN ('statement', 'result') ORDER BY seq", (after_seq,))
        recs = [dict(json.loads(r), _seq=s) for s, t, r in rows]
        if session_filter:
            recs = [r for r in recs if session_filter(r)]
        if (recs and len(recs) == len(last)) or time.time() > deadline:
            return recs
        last = recs
        time.sleep(0.15)


def _max_seq():
    return gw.audit_query("SELECT coalesce(max(seq), 0) FROM audit_events")[0][0]


def test_audit_evasion_reparse_of_existing_statement_name():
    """dba may delete with a WHERE. Parse "s" = DELETE, then Parse "s" = SELECT 1: the server
    refuses the second (42P05, name in use) and keeps the DELETE; the Execute that follows must be
    audited as the DELETE the server runs, not as SELECT 1."""
    vid = next(_victims)
    c = _wire(DBA)
    msgs = _ext(c, parse_msg("s", f"DELETE FROM visits WHERE id={vid}"), sync_msg())
    eq(pgwire.types_of(msgs), "1Z", f"Parse of the DELETE: {msgs}")
    msgs = _ext(c, parse_msg("s", "SELECT 1"), sync_msg())
    seq0 = _max_seq()
    msgs2 = _ext(c, bind_msg("", "s"), execute_msg(""), sync_msg())
    recs = _audit_records(seq0, lambda r: r["sub"] == "dan")
    stmts = [r for r in recs if r["type"] == "statement"]
    results = [r for r in recs if r["type"] == "result"]
    ran = [p.rstrip(b"\0").decode() for t, p in msgs2 if t == b"C"]
    detail = (f"second Parse -> {pgwire.types_of(msgs)} {pgwire.errors_of(msgs)}; "
              f"Bind/Execute -> {pgwire.types_of(msgs2)} tags {ran}; "
              f"audit statement {[(r['action'], r['decision']) for r in stmts]}, "
              f"result {[(r['message'], r['rows']) for r in results]}")
    if ran and ran[0].startswith("DELETE"):
        check(stmts and stmts[-1]["action"].startswith("DELETE"),
              "the server ran the DELETE but the audit names another statement: " + detail)


def test_audit_evasion_execute_of_name_phigate_thinks_denied():
    """analyst: Parse "t" = an allowed SELECT (the server keeps it), then Parse "t" = a denied
    DELETE (never reaches the server). Bind "t" + Execute must not run the old SELECT with no
    statement record."""
    c = _wire(ANALYST)
    msgs = _ext(c, parse_msg("t", "SELECT count(*) AS hidden_read FROM patients"), sync_msg())
    eq(pgwire.types_of(msgs), "1Z", f"Parse of the SELECT: {msgs}")
    msgs = _ext(c, parse_msg("t", "DELETE FROM visits"), sync_msg())
    check(pgwire.errors_of(msgs) and pgwire.errors_of(msgs)[0].get("C") == "42501",
          f"second Parse should be denied: {msgs}")
    seq0 = _max_seq()
    msgs = _ext(c, bind_msg("", "t"), execute_msg(""), sync_msg())
    rows = pgwire.rows_of(msgs)
    recs = _audit_records(seq0, lambda r: r["sub"] == "mallory")
    stmts = [r for r in recs if r["type"] == "statement"]
    if rows:
        check(any("hidden_read" in r["action"] for r in stmts),
              f"Execute returned rows {rows} of 'SELECT count(*) AS hidden_read FROM patients' "
              f"with no statement record for it (audit records after the Execute: "
              f"{[(r['type'], r['action'], r['message']) for r in recs]})")


def test_audit_evasion_portal_name_of_sql_cursor():
    """analyst: DECLARE c CURSOR WITH HOLD (allowed, a read) creates server portal "c". A Bind to
    portal "c" fails on the server (42P03, cursor exists) but phigate records "c" as bound to its
    statement; an Execute "c" then runs the cursor while the audit names the other statement."""
    c = _wire(ANALYST)
    msgs = _ext(c, pgwire.frame(b"Q", b"DECLARE c CURSOR WITH HOLD FOR "
                                      b"SELECT 'row-from-the-sql-cursor'\0"))
    eq(pgwire.types_of(msgs), "CZ", f"DECLARE: {msgs}")
    msgs = _ext(c, parse_msg("u", "SELECT 'what-phigate-audits'"), sync_msg())
    eq(pgwire.types_of(msgs), "1Z", f"Parse u: {msgs}")
    bind = _ext(c, bind_msg("c", "u"), execute_msg("c"), sync_msg())
    seq0 = _max_seq()
    msgs = _ext(c, execute_msg("c"), sync_msg())
    rows = pgwire.rows_of(msgs)
    errs = pgwire.errors_of(msgs)
    ok = (errs and errs[0].get("C") == "42501") or rows == [["what-phigate-audits"]] or not rows
    if not ok:
        recs = _audit_records(seq0, lambda r: r["sub"] == "mallory")
        check(False, f"Bind to portal 'c' -> {pgwire.types_of(bind)} {pgwire.errors_of(bind)}; "
                     f"then Execute 'c' returned {rows} (the SQL cursor's rows): neither refused "
                     f"nor the statement phigate bound; audit records for it: "
                     f"{[(r['type'], r['action'] or r['message']) for r in recs]}")


if __name__ == "__main__":
    harness.main(globals())
