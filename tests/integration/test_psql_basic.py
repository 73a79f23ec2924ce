#!/usr/bin/env python3
"""psql through phigate behaves like psql straight to PostgreSQL: same output for reads, COPY both
ways, and a denied statement is an ordinary ERROR (42501) that leaves the session usable and aborts
an open transaction block exactly like a server-side error would."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ANALYST = DBA = None


def setup_module():
    global pg, gw, ANALYST, DBA
    pg = harness.start_postgres(patients=300)
    gw = harness.start_phigate(pg)
    ANALYST = gw.token("alice", ["analysts"])
    DBA = gw.token("dan", ["dbas"])


def both(sql=None, token=None, args=(), input=None):
    """Runs the same psql invocation direct and through phigate; returns (direct, via)."""
    d = harness.psql(pg.dsn(), sql=sql, args=args, input=input)
    v = gw.psql(token or ANALYST, sql=sql, args=args, input=input)
    return d, v


READS = [
    "SELECT id, mrn, first_name, last_name, ssn, email, phone, date_of_birth, address "
    "FROM patients ORDER BY id LIMIT 60",
    "SELECT NULL::text AS n, 1 AS one, ''::text AS empty, NULL::int AS ni",
    "SELECT 'héllo wörld ✓ 日本語 🙂' AS u, first_name FROM patients "
    "WHERE first_name IN ('José', 'Zoë') OR last_name IN ('Müller', 'O''Brien') ORDER BY id LIMIT 10",
    "SELECT 1 AS a; SELECT 2 AS b",
    "SELECT 1.5::numeric AS n, true AS b, date '2020-02-29' AS d, '{1,2,NULL}'::int[] AS arr, "
    "'\\x00ff'::bytea AS by, '{\"a\": [1, null]}'::jsonb AS j, interval '1 day 02:03' AS i",
    "SELECT * FROM patients WHERE false",
    "SELECT v.department, count(*), min(l.value), max(l.value) FROM visits v "
    "JOIN lab_results l ON l.visit_id = v.id GROUP BY 1 ORDER BY 1",
    "SELECT id, notes FROM visits WHERE notes ~ 'SSN|555-01|MRN-' ORDER BY id LIMIT 40",
    "SELECT count(*) FROM patients WHERE id IN (" + ",".join(str(i) for i in range(1, 15001)) + ")",
    "SELECT g, repeat('y', g * 50) FROM generate_series(1, 200) g",  # rows up to 10 kB
    ";",
    "-- only a comment",
]


def test_reads_match_direct():
    for sql in READS:
        for args in ([], ["-A", "-F", "|", "-P", "null=<NULL>"]):
            (drc, dout, derr), (vrc, vout, verr) = both(sql, args=args)
            eq(drc, 0, f"direct psql failed for {sql[:80]!r}: {derr}")
            eq(vrc, 0, f"psql via phigate failed for {sql[:80]!r}: {verr}")
            eq(vout, dout, f"output differs for {sql[:80]!r} args={args}")
            eq(verr, derr, f"stderr differs for {sql[:80]!r}")


def test_server_errors_pass_through():
    for sql in ["SELECT 1/0", "SELECT * FROM no_such_table", "SELECT nosuchcol FROM patients"]:
        (drc, dout, derr), (vrc, vout, verr) = both(args=["-v", "VERBOSITY=verbose"],
                                                    input=sql + ";\nSELECT 'after' AS x;\n")
        eq(vout, dout, f"stdout differs for {sql}")
        eq(verr.replace("<stdin>", ""), derr.replace("<stdin>", ""), f"stderr differs for {sql}")
        check("after" in vout, f"session not usable after server error: {vout}")


def test_notice_pass_through():
    sql = "DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$"
    (drc, dout, derr), (vrc, vout, verr) = both(sql, token=DBA)
    eq(vrc, 0, f"DO via phigate failed: {verr}")
    eq(verr, derr, "NOTICE differs")
    check("hello 42" in verr, verr)


def test_copy_out_matches_direct():
    d_path = os.path.join(gw.base, "direct.csv")
    v_path = os.path.join(gw.base, "via.csv")
    q = "(SELECT visits.id, mrn, first_name, last_name, ssn, notes FROM patients JOIN visits " \
        "ON visits.patient_id = patients.id ORDER BY visits.id)"
    rc, _, err = harness.psql(pg.dsn(), sql=f"\\copy {q} TO '{d_path}' CSV HEADER")
    eq(rc, 0, err)
    rc, out, err = gw.psql(DBA, sql=f"\\copy {q} TO '{v_path}' CSV HEADER")
    eq(rc, 0, f"\\copy out via phigate failed: {err}")
    check(out.strip() == "COPY 900", f"unexpected COPY tag: {out!r}")
    with open(d_path, "rb") as a, open(v_path, "rb") as b:
        da, db = a.read(), b.read()
    check(len(da) > 10000, "direct copy suspiciously small")
    eq(db, da, "COPY TO STDOUT output differs")


def test_copy_in():
    rc, _, err = gw.psql(DBA, sql="CREATE TABLE copy_in (id int, name text, note text)")
    eq(rc, 0, f"CREATE TABLE via phigate (dba) failed: {err}")
    src = os.path.join(gw.base, "in.csv")
    n = 20000
    with open(src, "w") as f:
        for i in range(n):
            f.write(f'{i},"name {i} ✓","{"z" * (i % 300)}"\n')
    rc, out, err = gw.psql(DBA, sql=f"\\copy copy_in FROM '{src}' CSV")
    eq(rc, 0, f"\\copy in via phigate failed: {err}")
    eq(out.strip(), f"COPY {n}", "COPY FROM STDIN tag")
    # COPY FROM STDIN fed inline by psql (data in the same script)
    rc, out, err = gw.psql(DBA, input="COPY copy_in (id, name) FROM STDIN;\n-1\tinline\n-2\t\\N\n\\.\n"
                                      "SELECT 'after-copy';\n")
    eq(rc, 0, err)
    check("after-copy" in out, f"session not usable after COPY FROM STDIN: {out} {err}")
    rc, out, err = harness.psql(pg.dsn(), args=["-At"],
                                sql="SELECT count(*), sum(length(note)), count(*) FILTER "
                                    "(WHERE name IS NULL) FROM copy_in")
    eq(out.strip(), f"{n + 2}|{sum(i % 300 for i in range(n))}|1", "rows that arrived upstream")


def test_copy_in_error_recovers():
    # a bad row makes the server fail the COPY; the session must come back usable
    rc, out, err = gw.psql(DBA, input="COPY copy_in (id, name) FROM STDIN;\n1\tok\nnot-a-number\tx\n"
                                      "\\.\nSELECT 'alive-after-copy-error';\n")
    check("invalid input syntax" in err, f"expected the server's COPY error, got: {err}")
    check("alive-after-copy-error" in out, f"session not usable after failed COPY: {out} {err}")


def count_visits():
    rc, out, err = harness.psql(pg.dsn(), args=["-At"], sql="SELECT count(*) FROM visits")
    eq(rc, 0, err)
    return int(out)


def test_denied_bulk_delete_then_usable():
    before = count_visits()
    rc, out, err = gw.psql(ANALYST, args=["-v", "VERBOSITY=verbose"],
                           input="DELETE FROM visits;\nSELECT 42 AS still_alive;\n")
    check("ERROR:  42501" in err, f"expected ERROR 42501 for bulk DELETE, got: {err!r}")
    check("bulk change" in err, f"deny message should carry the rule's message: {err!r}")
    check("42" in out and "still_alive" in out, f"session unusable after denial: {out!r}")
    eq(count_visits(), before, "rows deleted despite the denial")


def test_denied_unmatched_write():
    # no rule matches an UPDATE with a WHERE for analysts: default deny
    rc, out, err = gw.psql(ANALYST, args=["-v", "VERBOSITY=verbose"],
                           input="UPDATE patients SET email = 'x@example.org' WHERE id = 1;\n"
                                 "SELECT email FROM patients WHERE id = 1;\n")
    check("ERROR:  42501" in err, f"expected 42501 for unmatched UPDATE: {err!r}")
    check("@example.org" in out and "x@example.org" not in out, f"row changed: {out!r}")


def test_psycopg2_deny_and_continue():
    conn = gw.connect(ANALYST)
    conn.autocommit = True
    cur = conn.cursor()
    e = harness.pg_error(lambda: cur.execute("DELETE FROM visits"))
    eq(e.pgcode, "42501", f"pgcode of denied DELETE ({e})")
    check("bulk change" in str(e), f"message: {e}")
    cur.execute("SELECT count(*) FROM visits")
    eq(cur.fetchone()[0], count_visits(), "count after denial")
    conn.close()


def test_denied_inside_transaction_aborts_it():
    conn = gw.connect(ANALYST)  # psycopg2 default: BEGIN implicitly before the first statement
    cur = conn.cursor()
    cur.execute("SELECT 1")
    e = harness.pg_error(lambda: cur.execute("DELETE FROM visits"))
    eq(e.pgcode, "42501", f"denied DELETE in a transaction ({e})")
    e = harness.pg_error(lambda: cur.execute("SELECT 1"))
    eq(e.pgcode, "25P02", f"statement after a denial inside BEGIN must fail like after a server "
                          f"error ({e})")
    conn.rollback()
    cur.execute("SELECT 2")
    eq(cur.fetchone()[0], 2, "after ROLLBACK")
    conn.close()


def test_psql_transaction_block():
    rc, out, err = gw.psql(ANALYST, args=["-At"],
                           input="BEGIN;\nSELECT 'in-tx';\nDELETE FROM visits;\nSELECT 1;\n"
                                 "ROLLBACK;\nSELECT 'after-rollback';\n")
    check("in-tx" in out, out)
    check("current transaction is aborted" in err, f"expected 25P02 text after denial: {err!r}")
    check("after-rollback" in out, f"ROLLBACK did not restore the session: {out!r} {err!r}")
    check("1" not in out.splitlines(), f"SELECT 1 ran in an aborted transaction: {out!r}")


def test_savepoint_recovers_from_denial():
    rc, out, err = gw.psql(ANALYST, args=["-At"],
                           input="BEGIN;\nSAVEPOINT s1;\nDELETE FROM visits;\nROLLBACK TO s1;\n"
                                 "SELECT 'after-savepoint';\nCOMMIT;\n")
    check("after-savepoint" in out, f"ROLLBACK TO SAVEPOINT did not recover: {out!r} {err!r}")


def test_unparsable_refused_session_usable():
    rc, out, err = gw.psql(ANALYST, args=["-At", "-v", "VERBOSITY=verbose"],
                           input="SELEC mrn FROM patients;\nSELECT 'still-here';\n")
    check("ERROR:" in err, f"unparsable statement should be an ERROR: {err!r}")
    check("still-here" in out, f"session unusable after a syntax error: {out!r} {err!r}")


def test_plumbing_allowed_identity_change_denied():
    rc, out, err = gw.psql(ANALYST, args=["-At"], input=(
        "SET search_path = public, pg_catalog;\nSHOW search_path;\n"
        "SET application_name = 'phigate-test';\nSHOW application_name;\nRESET application_name;\n"
        "BEGIN;\nSELECT 'in-tx';\nCOMMIT;\n"))
    eq(err, "", "plumbing statements should be allowed for any role with the resource")
    check("public, pg_catalog" in out and "phigate-test" in out and "in-tx" in out, out)
    # the upstream would accept each of these for its own login role; the gateway must not
    for sql in ["SET SESSION AUTHORIZATION phigate_clinic", "SET ROLE NONE", "RESET ROLE",
                "SELECT set_config('role', 'none', false)"]:
        rc, out, err = gw.psql(ANALYST, args=["-At", "-v", "VERBOSITY=verbose"],
                               input=f"{sql};\nSELECT 'alive';\n")
        check("ERROR:  42501" in err, f"identity change {sql!r} not denied: {err!r}")
        check("alive" in out, f"session unusable after {sql!r}: {out!r}")


if __name__ == "__main__":
    harness.main(globals())
