#!/usr/bin/env python3
"""Real drivers through phigate with no code change: psycopg2 (simple protocol, client-side
parameters, server-side named cursors, transactions) and pgJDBC (extended protocol)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

JDBC_JAR = "/usr/share/java/postgresql.jar"
pg = gw = None
ANALYST = DBA = None


def setup_module():
    global pg, gw, ANALYST, DBA
    pg = harness.start_postgres(patients=300)
    gw = harness.start_phigate(pg)
    ANALYST = gw.token("alice", ["analysts"], task="t-1", workflow="wf-1", act="dr.house")
    DBA = gw.token("dan", ["dbas"])


def direct_rows(sql, args=None):
    c = pg.connect()
    try:
        cur = c.cursor()
        cur.execute(sql, args)
        return cur.fetchall()
    finally:
        c.close()


def test_psycopg2_params():
    conn = gw.connect(ANALYST)
    conn.autocommit = True
    cur = conn.cursor()
    sql = "SELECT id, mrn, ssn, email FROM patients WHERE id = ANY(%s) OR last_name = %s ORDER BY id"
    args = ([1, 2, 3, 50], "O'Brien")
    cur.execute(sql, args)
    eq(cur.fetchall(), direct_rows(sql, args), "parameterized select")
    cur.execute("SELECT %s::text, %s::int, %s, %s::text IS NULL",
                ("héllo ✓ 🙂", 7, 1.25, None))
    eq(cur.fetchone(), ("héllo ✓ 🙂", 7, 1.25, True), "typed params")
    check(cur.description[0].name == "text", f"description: {cur.description}")
    conn.close()


def test_psycopg2_named_cursor():
    conn = gw.connect(ANALYST)
    cur = conn.cursor(name="big_cur")  # DECLARE big_cur CURSOR ... / FETCH FORWARD n / CLOSE
    cur.itersize = 97
    cur.execute("SELECT v.id, v.notes, p.mrn FROM visits v JOIN patients p ON p.id = v.patient_id "
                "ORDER BY v.id")
    rows = list(cur)
    cur.close()
    conn.commit()
    expect = direct_rows("SELECT v.id, v.notes, p.mrn FROM visits v JOIN patients p "
                         "ON p.id = v.patient_id ORDER BY v.id")
    eq(len(rows), len(expect), "row count via named cursor")
    eq(rows, expect, "rows via named cursor")
    conn.close()


def test_psycopg2_transactions():
    conn = gw.connect(DBA)
    cur = conn.cursor()
    cur.execute("CREATE TABLE drv_t (id int PRIMARY KEY, v text)")
    conn.commit()
    cur.executemany("INSERT INTO drv_t VALUES (%s, %s)", [(i, f"v{i}") for i in range(100)])
    conn.rollback()
    eq(direct_rows("SELECT count(*) FROM drv_t"), [(0,)], "rows visible after ROLLBACK")
    cur.executemany("INSERT INTO drv_t VALUES (%s, %s)", [(i, f"v{i}") for i in range(100)])
    cur.execute("SELECT count(*) FROM drv_t")
    eq(cur.fetchone(), (100,), "own writes inside the transaction")
    eq(direct_rows("SELECT count(*) FROM drv_t"), [(0,)], "uncommitted rows visible elsewhere")
    conn.commit()
    eq(direct_rows("SELECT count(*) FROM drv_t"), [(100,)], "rows after COMMIT")
    # a server error inside a transaction behaves as usual
    e = harness.pg_error(lambda: cur.execute("INSERT INTO drv_t VALUES (1, 'dup')"))
    eq(e.pgcode, "23505", "unique violation passes through")
    conn.rollback()
    with conn:
        with conn.cursor() as c2:
            c2.execute("UPDATE drv_t SET v = 'changed' WHERE id < 10")
            eq(c2.rowcount, 10, "rowcount through the gateway")
    eq(direct_rows("SELECT count(*) FROM drv_t WHERE v = 'changed'"), [(10,)], "committed update")
    conn.close()


def test_psycopg2_copy_expert():
    import io
    conn = gw.connect(DBA)
    cur = conn.cursor()
    buf = io.StringIO()
    cur.copy_expert("COPY (SELECT id, mrn, email FROM patients ORDER BY id) TO STDOUT CSV", buf)
    c = pg.connect()
    d = io.StringIO()
    c.cursor().copy_expert("COPY (SELECT id, mrn, email FROM patients ORDER BY id) TO STDOUT CSV",
                           d)
    c.close()
    eq(buf.getvalue(), d.getvalue(), "copy_expert TO STDOUT")
    cur.execute("CREATE TABLE drv_copy (id int, mrn text, email text)")
    buf.seek(0)
    cur.copy_expert("COPY drv_copy FROM STDIN CSV", buf)
    conn.commit()
    eq(direct_rows("SELECT count(*) FROM drv_copy"), [(300,)], "copy_expert FROM STDIN")
    conn.close()


def test_jdbc():
    javac, java = shutil.which("javac"), shutil.which("java")
    if not javac or not java or not os.path.exists(JDBC_JAR):
        raise AssertionError("javac/java or /usr/share/java/postgresql.jar missing: "
                             "scripts/install-deps.sh installs default-jdk-headless "
                             "libpostgresql-jdbc-java")
    out_dir = harness.tmpdir("jdbc")
    src = os.path.join(harness.HERE, "java", "JdbcSmoke.java")
    harness.run([javac, "-encoding", "UTF-8", "-d", out_dir, "-cp", JDBC_JAR, src], check=True,
                timeout=180)
    rc, out, err = harness.run([java, "-Dfile.encoding=UTF-8", "-cp", f"{JDBC_JAR}:{out_dir}",
                                "JdbcSmoke", "127.0.0.1", str(gw.port), ANALYST, DBA], timeout=180)
    print(out)
    vals = {}
    rows = []
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        if k == "ROW":
            rows.append(v)
        else:
            vals[k] = v
    check(rc == 0 and vals.get("DONE") == "ok", f"JdbcSmoke failed rc={rc}\n{out}\n{err[-4000:]}")
    expect = ["|".join(str(x) for x in r) for r in
              direct_rows("SELECT id, mrn, first_name FROM patients WHERE id <= 10 ORDER BY id")]
    eq(rows, expect, "PreparedStatement rows")
    eq(vals.get("TYPES"), f"héllo ✓ 🙂|-42|12345.6789|2020-02-29|true|100000", "typed parameters")
    eq(vals.get("FETCHED"), "60", "rows with fetchSize (portal suspension)")
    eq(vals.get("META"), "patients", "DatabaseMetaData.getTables")
    check(vals.get("DENIED", "").startswith("42501"), f"denied DELETE SQLState: {vals.get('DENIED')}")
    check("bulk change" in vals.get("DENIED", ""), f"deny message: {vals.get('DENIED')}")
    eq(vals.get("AFTER_DENY"), "1", "statement after a denial")
    eq(vals.get("DENIED_PREPARED"), "42501", "denied prepared UPDATE")
    check(vals.get("EMAIL1", "").endswith("@example.org") and "evil" not in vals.get("EMAIL1", ""),
          f"row changed by a denied prepared statement: {vals.get('EMAIL1')}")
    eq(vals.get("TX_DENIED"), "42501", "denial inside a transaction")
    eq(vals.get("TX_AFTER"), "25P02", "statement after a denial inside a transaction")
    eq(vals.get("TX_RECOVERED"), "3", "after rollback")
    eq(vals.get("BATCH"), "1000", "batch insert count")
    eq(vals.get("BATCH_DUP"), "23505", "failing batch")
    eq(vals.get("BATCH_TOTAL"), "1000|5005.00", "rows after batch")
    eq(direct_rows("SELECT count(*) FROM jdbc_batch"), [(1000,)], "batch rows upstream")


def test_audit_has_identity_chain():
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify: {out}{err}")
    rows = gw.audit_query("SELECT record FROM audit_events WHERE type = 'statement' AND "
                          "sub = 'alice' LIMIT 50")
    check(rows, f"no statement records for alice: {gw.audit_counts()}")
    rec = rows[-1][0]
    for want in ("t-1", "wf-1", "dr.house"):
        check(want in rec, f"statement record lacks {want!r} (task/workflow/act chain): {rec}")


if __name__ == "__main__":
    harness.main(globals())
