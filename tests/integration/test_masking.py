#!/usr/bin/env python3
"""PHI masking against a real PostgreSQL (issue 5): an analyst whose role has `masking: phi` tries
to get the seeded SSNs, emails and phone numbers of the demo `patients` table back through every
channel phigate masks — plain selects, expressions, casts, aggregates, JSON, whole-row references,
subqueries, CTEs, views, UNION, COPY TO STDOUT (text and CSV), binary results over the extended
protocol, and server error messages (a unique violation's DETAIL, a failed cast).

A case passes when no seeded value comes back in any recognisable encoding: as stored, upper-cased,
digits only, hex, base64, reversed (and md5 / the translate cipher where used). Column lineage
(src/sql/lineage.h) masks every output column derived from a masked column as a whole, and refuses
whole-row references (42501) by default; there is no expected-to-leak list any more.

Also: the masking audit counts, `phigate mask test`, and fail-closed configuration (a custom
regex hyperscan rejects stops `serve`, and a reload with one keeps the old policy)."""
import base64
import hashlib
import json
import os
import re
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ANALYST = DBA = None
SEEDED = {}  # encoding -> (value, how)

PROFILE = {
    "detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
    "columns": [{"column": "patients.ssn", "action": "redact"},
                {"column": "*.email", "action": "partial"}],
    "custom": [{"name": "MRN", "regex": "MRN-[0-9]{8}"}],
}


def config(profile=None):
    cfg = harness.default_config(pg)
    cfg["roles"]["analyst"] = {
        "resources": ["clinic"], "masking": "phi",
        "rules": [{"match": {"statement": ["select", "insert", "other"]}, "action": "allow"}]}
    cfg["masking"] = {"phi": profile or PROFILE}
    return cfg


def encodings(value, digits_only):
    out = {value: "as stored", value.upper(): "upper", value[::-1]: "reversed",
           value.encode().hex(): "hex", base64.b64encode(value.encode()).decode(): "base64"}
    if digits_only:
        d = re.sub(r"\D", "", value)
        out.update({d: "digits", d[::-1]: "digits reversed", d.encode().hex(): "digits hex",
                    base64.b64encode(d.encode()).decode(): "digits base64"})
    return out


def setup_module():
    global pg, gw, ANALYST, DBA
    pg = harness.start_postgres(patients=40)
    pg.admin("""
CREATE UNIQUE INDEX patients_ssn_key ON patients (ssn);
CREATE VIEW patient_contacts AS SELECT id, ssn, email, phone FROM patients;
ALTER VIEW patient_contacts OWNER TO phigate_clinic;
""", dbname="clinic")
    direct = pg.connect()
    cur = direct.cursor()
    cur.execute("SELECT ssn, email, phone FROM patients WHERE ssn IS NOT NULL")
    for ssn, email, phone in cur.fetchall():
        for v, digits in ((ssn, True), (email, False), (phone, True)):
            for enc, how in encodings(v, digits).items():
                SEEDED[enc] = (v, how)
    direct.close()
    check(len(SEEDED) > 100, "demo data has seeded values")
    gw = harness.start_phigate(pg, config())
    ANALYST = gw.token("mallory", ["analysts"])
    DBA = gw.token("dan", ["dbas"])


def leaks(text):
    flat = text.replace("\n", "")
    return sorted({f"{v} ({how})" for enc, (v, how) in SEEDED.items() if enc in text or enc in flat})


def psql_out(sql, token=None):
    rc, out, err = gw.psql(token or ANALYST, sql, args=["-At", "-v", "ON_ERROR_STOP=1"])
    return rc, out + err


# (name, sql, expected error substring or None). Each must come back with nothing recognisable.
MASKED = [
    ("plain select", "SELECT id, ssn, email, phone FROM patients", None),
    ("select *", "SELECT * FROM patients", None),
    ("digits only", "SELECT replace(ssn, '-', '') FROM patients", None),
    ("upper", "SELECT upper(ssn), upper(email) FROM patients", None),
    ("substring whole", "SELECT substring(ssn, 1, 11), substr(email, 1) FROM patients", None),
    ("concat with separator", "SELECT concat('ssn: ', ssn, ' mail: ', email) FROM patients", None),
    ("|| operator", "SELECT 'SSN:' || ssn || ';' || phone FROM patients", None),
    ("digits cast to bigint", "SELECT replace(ssn, '-', '')::bigint FROM patients", None),
    ("string_agg", "SELECT string_agg(ssn, ',') FROM patients", None),
    ("array_agg", "SELECT array_agg(ssn) FROM patients", None),
    # Whole-row references over a table with masked columns: refused (on_whole_row: refuse).
    ("row_to_json", "SELECT row_to_json(p) FROM patients p", "whole-row"),
    ("json_agg", "SELECT json_agg(p) FROM patients p", "whole-row"),
    ("to_jsonb", "SELECT to_jsonb(p) FROM patients p", "whole-row"),
    ("json_build_object", "SELECT json_build_object('s', ssn, 'e', email) FROM patients", None),
    ("whole row", "SELECT p FROM patients p", "whole-row"),
    ("whole row via view", "SELECT row_to_json(v) FROM patient_contacts v", "whole-row"),
    ("row constructor", "SELECT ROW(ssn, email) FROM patients", "whole-row"),
    ("scalar subquery", "SELECT (SELECT ssn FROM patients q WHERE q.id = p.id) FROM patients p",
     None),
    ("CTE", "WITH c AS (SELECT ssn, email FROM patients) SELECT * FROM c", None),
    ("view", "SELECT * FROM patient_contacts", None),
    ("view expression", "SELECT reverse(ssn), md5(email) FROM patient_contacts", None),
    ("UNION", "SELECT ssn FROM patients UNION ALL SELECT email FROM patients", None),
    ("UNION reversed", "SELECT 'x' UNION ALL SELECT reverse(ssn) FROM patients", None),
    ("CTE renaming", "WITH c(a, b) AS (SELECT ssn, email FROM patients) "
     "SELECT reverse(a), translate(b, '.@', '__') FROM c", None),
    ("subquery alias", "SELECT reverse(s.x) FROM (SELECT ssn AS x FROM patients) s", None),
    # The lineage-only cases (no detector could see these): masked as a whole by the rule.
    ("reverse", "SELECT reverse(ssn) FROM patients", None),
    ("translate", "SELECT translate(ssn, '0123456789', 'abcdefghij') FROM patients", None),
    ("bytea cast", "SELECT ssn::bytea FROM patients", None),
    ("encode hex", "SELECT encode(ssn::bytea, 'hex') FROM patients", None),
    ("encode base64", "SELECT encode(email::bytea, 'base64') FROM patients", None),
    ("md5", "SELECT md5(ssn) FROM patients", None),
    ("letters glued on", "SELECT concat('x', ssn, 'y') FROM patients", None),
    ("COPY query lineage", "COPY (SELECT reverse(ssn), md5(email) FROM patients) TO STDOUT", None),
    ("lateral", "SELECT x FROM patients, LATERAL (SELECT ssn AS x) l", None),
    ("COPY table text", "COPY patients TO STDOUT", None),
    ("COPY table columns", "COPY patients (id, email, ssn) TO STDOUT", None),
    ("COPY table CSV", "COPY patients TO STDOUT WITH (FORMAT csv, HEADER)", None),
    ("COPY old syntax", "COPY patients (ssn, email) TO STDOUT CSV HEADER DELIMITER '|'", None),
    ("COPY query CSV", "COPY (SELECT ssn, email, phone FROM patients) TO STDOUT CSV", None),
    ("COPY query text custom delimiter",
     "COPY (SELECT ssn, ssn || ';' || email FROM patients) TO STDOUT WITH (DELIMITER ';')", None),
    ("cast error", "SELECT ssn::int FROM patients", "invalid input syntax"),
    ("cast error email", "SELECT email::int FROM patients", "invalid input syntax"),
    ("unique violation DETAIL",
     "INSERT INTO patients (id, mrn, first_name, last_name, ssn, date_of_birth) "
     "SELECT 100000 + id, 'MRN-X' || id, 'a', 'b', ssn, date '2000-01-01' FROM patients "
     "WHERE ssn IS NOT NULL", "duplicate key"),
    ("RAISE NOTICE", "DO $$ DECLARE s text; BEGIN SELECT ssn INTO s FROM patients WHERE ssn IS "
     "NOT NULL LIMIT 1; RAISE NOTICE 'found %', s; END $$", None),
    ("binary COPY refused", "COPY patients TO STDOUT (FORMAT binary)", "binary COPY"),
]

def test_masked_corpus():
    failures = []
    for name, sql, err in MASKED:
        rc, out = psql_out(sql)
        found = leaks(out)
        if name == "translate":
            found += leaks(out.translate(str.maketrans("abcdefghij", "0123456789")))
        if "md5" in sql:
            found += [v for v, _ in SEEDED.values() if hashlib.md5(v.encode()).hexdigest() in out]
        if found:
            failures.append(f"{name}: {sql}\n    leaked {found[:3]}")
        if err:
            if err not in out:
                failures.append(f"{name}: expected an error containing {err!r}, got rc={rc}: "
                                f"{out[:300]}")
        elif rc != 0:
            failures.append(f"{name}: failed rc={rc}: {out[:300]}")
    check(not failures, "masking failures:\n  " + "\n  ".join(failures))


def test_masked_values_look_masked():
    rc, out = psql_out("SELECT ssn, email, phone, mrn FROM patients WHERE id = 1")
    eq(rc, 0, out)
    ssn, email, phone, mrn = out.strip().split("|")
    eq(ssn, "[patients.ssn]", "column rule redact")
    check(email.endswith(".org") and set(email[:-4]) == {"*"}, f"partial email: {email}")
    eq(phone, "[PHONE_NUMBER]", "detector on an unruled column")
    eq(mrn, "[MRN]", "custom detector")
    # The same statement for an unmasked role is untouched (masking is per role).
    rc, out = psql_out("SELECT ssn FROM patients WHERE id = 1", token=DBA)
    check(re.fullmatch(r"\d{3}-\d{2}-\d{4}\n", out), f"dba sees the value: {out!r}")


def test_copy_header_and_csv_shape():
    rc, out = psql_out("COPY patients (id, ssn, email, address) TO STDOUT WITH (FORMAT csv, HEADER)")
    eq(rc, 0, out)
    lines = out.splitlines()
    eq(lines[0], "id,ssn,email,address", "header line is not masked by column rules")
    import csv
    rows = list(csv.reader(lines[1:]))
    check(all(len(r) == 4 for r in rows), "every row keeps its 4 fields (quoted commas intact)")
    check(all(r[1] == "[patients.ssn]" for r in rows if r[1]), "ssn redacted")


def wire_session(token):
    c = pgwire.Conn("127.0.0.1", gw.port)
    status, fields = c.startup("tester", "clinic", token)
    eq(status, "ok", f"startup: {fields}")
    harness.on_exit(c.close)
    return c


def raw_rows(msgs):
    """DataRow values as raw bytes (binary results are not UTF-8)."""
    rows = []
    for t, p in msgs:
        if t != b"D":
            continue
        (n,) = struct.unpack("!H", p[:2])
        i, row = 2, []
        for _ in range(n):
            (ln,) = struct.unpack("!i", p[i:i + 4])
            i += 4
            row.append(None if ln < 0 else p[i:i + ln])
            i += max(ln, 0)
        check(i == len(p), "DataRow lengths add up")
        rows.append(row)
    return rows


def test_binary_results_extended_protocol():
    c = wire_session(ANALYST)
    sql = ("SELECT id, ssn, email, phone, jsonb_build_object('s', ssn) AS j, ARRAY[ssn] AS a, "
           "ssn::bytea AS b FROM patients p WHERE ssn IS NOT NULL ORDER BY id LIMIT 5")
    # Parse, Bind with every result column binary, Execute, Sync: no Describe from the client, so
    # phigate has to find out the columns itself.
    pgwire.send_raw(c, pgwire.parse_msg("", sql) + pgwire.bind_msg("", "", result_formats=[1]) +
                    pgwire.execute_msg() + pgwire.sync_msg())
    msgs = pgwire.read_until_ready(c)
    eq(pgwire.types_of(msgs), "12" + "D" * 5 + "CZ", "no extra messages reach the client")
    rows = raw_rows(msgs)
    eq(len(rows), 5)
    for row in rows:
        eq(len(row[0]), 8, "int8 untouched")
        eq(row[1], b"[patients.ssn]", "binary text column under a rule")
        check(row[2].endswith(b".org") and set(row[2][:-4]) == {ord("*")}, f"email {row[2]}")
        eq(row[3], b"[PHONE_NUMBER]")
        eq(row[4][0], 1, "jsonb version byte kept")
        json.loads(row[4][1:])  # still valid JSON
        eq(row[5], None, "a binary array holding an SSN cannot be edited in place: NULL")
        eq(row[6], None, "binary bytea holding an SSN: NULL")
    blob = b"".join(v for r in rows for v in r if v).decode("latin-1")
    eq(leaks(blob), [], "binary leak")
    # Still a working session.
    c.query("SELECT 1")
    eq(c.collect()["rows"], [["1"]])


def test_binary_int_cast_masked_by_lineage():
    # An SSN cast to bigint and sent as a binary int8 has no text to scan: lineage masks it.
    c = wire_session(ANALYST)
    sql = "SELECT replace(ssn, '-', '')::bigint FROM patients WHERE ssn IS NOT NULL LIMIT 3"
    pgwire.send_raw(c, pgwire.parse_msg("", sql) + pgwire.bind_msg("", "", result_formats=[1]) +
                    pgwire.execute_msg() + pgwire.sync_msg())
    rows = raw_rows(pgwire.read_until_ready(c))
    eq(len(rows), 3)
    eq([r[0] for r in rows], [None] * 3, "a masked binary int8 becomes NULL")


def test_whole_row_refused_before_it_runs():
    # Once the catalog cache knows the table, the refusal is decided before the statement is
    # forwarded: an ordinary 42501 error, and the session goes on.
    c = wire_session(ANALYST)
    c.query("SELECT ssn FROM patients LIMIT 1")
    c.collect()
    c.query("SELECT p FROM patients p")
    res = c.collect()
    eq(len(res["errors"]), 1, f"{res}")
    e = res["errors"][0]
    eq(e.get("C"), "42501")
    check("whole-row" in e.get("M", "") and "rule \"" in e.get("M", ""), f"names rule: {e}")
    eq(leaks(json.dumps(res)), [])
    c.query("SELECT 1")
    eq(c.collect()["rows"], [["1"]])


def test_multi_statement_lineage():
    rc, out = psql_out("SET search_path TO public; SELECT reverse(ssn), 'ok' FROM patients "
                       "WHERE id = 1")
    eq(rc, 0, out)
    eq(out.strip().splitlines()[-1], "[patients.ssn]|ok")


def test_cursor_fetch_uses_declare_lineage():
    rc, out = psql_out("BEGIN; DECLARE c CURSOR FOR SELECT id, reverse(ssn), md5(email) FROM "
                       "patients WHERE id = 1; FETCH 1 FROM c; CLOSE c; COMMIT")
    eq(rc, 0, out)
    row = [ln for ln in out.splitlines() if ln.startswith("1|")]
    eq(row, ["1|[patients.ssn]|" + row[0].split("|")[2]] if row else [], out)
    check(row and not row[0].split("|")[2].startswith(("[patients", "1")), f"email rule: {out}")
    eq(leaks(out), [])


def test_errors_and_notices_masked_on_the_wire():
    c = wire_session(ANALYST)
    c.query("SELECT ssn::int FROM patients WHERE ssn IS NOT NULL")
    res = c.collect()
    eq(len(res["errors"]), 1)
    e = res["errors"][0]
    eq(e.get("C"), "22P02", "SQLSTATE kept")
    check("[US_SSN]" in e.get("M", ""), f"message masked: {e}")
    eq(leaks(json.dumps(res)), [])


def test_audit_counts():
    rc, out = psql_out("SELECT ssn, phone, 'audit-marker' FROM patients WHERE id <= 3")
    eq(rc, 0, out)
    records = [json.loads(r[0]) for r in gw.audit_query(
        "SELECT record FROM audit_events WHERE type = 'result' ORDER BY seq DESC LIMIT 20")]
    statements = {json.loads(r[0])["seq"]: json.loads(r[0]) for r in gw.audit_query(
        "SELECT record FROM audit_events WHERE type = 'statement' ORDER BY seq DESC LIMIT 20")}
    mine = [r for r in records if "audit-marker" in statements.get(r["ref_seq"], {})
            .get("action", "")]
    eq(len(mine), 1, "one result record for the statement")
    eq(mine[0]["masked"], {"column:patients.ssn": 3, "PHONE_NUMBER": 3},
       "counts per column rule and per detector")
    eq(leaks(json.dumps(records)), [], "audit never holds the values")


def test_mask_test_cli():
    rc, out, err = gw.cli("mask", "test", "--config", gw.config, "--profile", "phi", "--json",
                          "call 415-555-0100 or jane.doe@example.org about MRN-00001234")
    eq(rc, 0, err)
    j = json.loads(out)
    eq(sorted(f["detector"] for f in j["findings"]), ["EMAIL_ADDRESS", "MRN", "PHONE_NUMBER"])
    eq(j["masked"], "call [PHONE_NUMBER] or [EMAIL_ADDRESS] about [MRN]")
    rc, out, err = gw.cli("mask", "test", "--config", gw.config, "--profile", "nope", "x")
    check(rc != 0 and "nope" in err, f"unknown profile: {rc} {err}")


BAD_REGEX = dict(PROFILE, custom=[{"name": "BROKEN", "regex": "MRN-([0-9]{8}"}])


def test_bad_regex_refuses_to_start():
    base, port, cfg, data_dir = harness.write_phigate_config(pg, config(BAD_REGEX))
    rc, out, err = harness.run([harness.phigate_bin(), "serve", "--config", cfg], timeout=30,
                               env=harness.clean_env())
    check(rc != 0, f"serve must refuse: rc={rc}")
    check("BROKEN" in err and "masking" in err, f"clear message: {err}")
    rc, out, err = harness.run([harness.phigate_bin(), "config", "check", cfg],
                               env=harness.clean_env())
    check(rc != 0 and re.search(r"phigate\.yaml:\d+: .*BROKEN", err), f"line-numbered: {err}")


def test_reload_with_bad_regex_keeps_policy():
    text = harness.to_yaml(config(BAD_REGEX)) + "\n"
    with open(gw.config) as f:
        good = f.read()
    bad = good.split("masking:")[0] + "masking:" + text.split("masking:")[1]
    with open(gw.config, "w") as f:
        f.write(bad)
    try:
        os.kill(gw.pid, signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline and "reload refused" not in open(gw.log).read():
            time.sleep(0.1)
        check("reload refused" in open(gw.log).read(), "reload refused in the log")
        rc, out = psql_out("SELECT ssn FROM patients WHERE id = 1")
        eq((rc, out.strip()), (0, "[patients.ssn]"), "old policy still masks")
    finally:
        with open(gw.config, "w") as f:
            f.write(good)


def test_ddl_invalidates_catalog():
    # A renamed column is a different column: the rule on patients.ssn must follow the catalog.
    rc, out = psql_out("SELECT ssn FROM patients WHERE id = 2")
    eq(out.strip(), "[patients.ssn]")
    rc, out = psql_out("ALTER TABLE patients RENAME COLUMN email TO email2", token=DBA)
    eq(rc, 0, out)
    try:
        rc, out = psql_out("SELECT email2 FROM patients WHERE id = 2")
        eq(rc, 0, out)
        # No rule matches email2 any more; the detector still masks the address.
        eq(out.strip(), "[EMAIL_ADDRESS]")
    finally:
        psql_out("ALTER TABLE patients RENAME COLUMN email2 TO email", token=DBA)
    rc, out = psql_out("SELECT email FROM patients WHERE id = 2")
    check(out.strip().endswith(".org") and out.startswith("*"), f"rule applies again: {out}")


if __name__ == "__main__":
    harness.main(globals())
