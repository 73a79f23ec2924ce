#!/usr/bin/env python3
"""The PostgreSQL v3 protocol through phigate, message by message (raw pgwire, no driver in
between): the extended query protocol (happy path, denials, denials inside a transaction block,
pipelining), FunctionCall, SQL cursors' portals, protocol violations, GSSENCRequest, LISTEN/NOTIFY,
and what the audit records for bound parameters.

Message type letters in the expected sequences (§55.7): 1 ParseComplete, 2 BindComplete,
3 CloseComplete, T RowDescription, n NoData, D DataRow, C CommandComplete, E ErrorResponse,
V FunctionCallResponse, A NotificationResponse, Z ReadyForQuery."""
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402
from pgwire import (bind_msg, close_msg, describe_msg, execute_msg, parse_msg,  # noqa: E402
                    sync_msg)

pg = gw = None
ANALYST = DBA = None

PG_BACKEND_PID_OID = 2026  # pg_catalog.pg_backend_pid()
GSSENC_REQUEST = 80877104


def setup_module():
    global pg, gw, ANALYST, DBA
    pg = harness.start_postgres(patients=50)
    gw = harness.start_phigate(pg)
    ANALYST = gw.token("alice", ["analysts"])
    DBA = gw.token("dan", ["dbas"])


# --------------------------------------------------------------------------------------------
# helpers


def wire(token, **params):
    c = pgwire.Conn("127.0.0.1", gw.port)
    harness.on_exit(c.close)
    status, fields = c.startup("tester", "clinic", token, **params)
    eq(status, "ok", f"startup through phigate failed: {fields}")
    return c


def ext(c, *msgs):
    """Sends the messages in one write, returns everything up to the next ReadyForQuery."""
    pgwire.send_raw(c, b"".join(msgs))
    return pgwire.read_until_ready(c)


def simple(c, sql):
    c.query(sql)
    return pgwire.read_until_ready(c)


def rfq_status(msgs):
    typ, p = msgs[-1]
    eq(typ, b"Z", "last message must be ReadyForQuery")
    return p.decode()


def tag_of(msgs):
    tags = [p.rstrip(b"\0").decode() for t, p in msgs if t == b"C"]
    return tags[-1] if tags else None


def only_error(msgs, code, what):
    errs = pgwire.errors_of(msgs)
    eq(len(errs), 1, f"{what}: exactly one ErrorResponse expected, got {pgwire.types_of(msgs)} "
                     f"{errs}")
    eq(errs[0].get("C"), code, f"{what}: SQLSTATE ({errs[0]})")
    return errs[0]


def is_phigate_denial(err):
    m = err.get("M", "")
    return err.get("C") == "42501" and ("phigate" in m or m.startswith("no rule allows"))


def count_visits():
    c = pg.connect()
    try:
        c.autocommit = True
        cur = c.cursor()
        cur.execute("SELECT count(*) FROM visits")
        return cur.fetchone()[0]
    finally:
        c.close()


def audit_poll(fn, timeout=2.5):
    """The audit store may ingest acknowledged records a few tens of ms later: retry fn until it
    returns something truthy."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.05)


def expect_fatal_then_eof(c, what):
    try:
        typ, p = c.read()
    except (EOFError, OSError) as e:
        raise AssertionError(f"{what}: connection closed without a FATAL ErrorResponse ({e})")
    eq(typ, b"E", f"{what}: expected an ErrorResponse, got {typ!r} {p[:200]!r}")
    f = pgwire.parse_fields(p)
    eq(f.get("V", f.get("S")), "FATAL", f"{what}: severity ({f})")
    eq(f.get("C"), "08P01", f"{what}: SQLSTATE ({f})")
    check(c.closed_by_peer(5.0), f"{what}: socket still open after FATAL 08P01")
    return f


# --------------------------------------------------------------------------------------------
# extended query protocol


def test_extended_happy_path():
    c = wire(ANALYST)
    msgs = ext(c, parse_msg("s1", "SELECT $1::int + 1"), bind_msg("", "s1", ["41"]),
               describe_msg("P", ""), execute_msg(""), sync_msg())
    eq(pgwire.types_of(msgs), "12TDCZ", f"Parse/Bind/Describe/Execute/Sync: {msgs}")
    eq(pgwire.rows_of(msgs), [["42"]], "DataRow")
    eq(tag_of(msgs), "SELECT 1", "CommandComplete tag")
    eq(rfq_status(msgs), "I", "ReadyForQuery status")

    # the same named statement again, this time with a binary int4 parameter
    msgs = ext(c, bind_msg("", "s1", [struct.pack("!i", 41)], formats=[1]), execute_msg(""),
               sync_msg())
    eq(pgwire.types_of(msgs), "2DCZ", f"re-Bind of s1 with a binary parameter: {msgs}")
    eq(pgwire.rows_of(msgs), [["42"]], "DataRow of the binary-parameter execution")

    # binary result format too
    msgs = ext(c, bind_msg("", "s1", ["1"], result_formats=[1]), execute_msg(""), sync_msg())
    eq(pgwire.types_of(msgs), "2DCZ", f"binary result: {msgs}")
    (_, row), = [(t, p) for t, p in msgs if t == b"D"]
    eq(row, struct.pack("!Hi", 1, 4) + struct.pack("!i", 2), "binary int4 DataRow")

    msgs = ext(c, close_msg("S", "s1"), sync_msg())
    eq(pgwire.types_of(msgs), "3Z", f"Close statement: {msgs}")
    msgs = ext(c, bind_msg("", "s1", ["1"]), execute_msg(""), sync_msg())
    only_error(msgs, "26000", "Bind of a closed statement")
    eq(rfq_status(msgs), "I", "status after the server's error")


def test_extended_denial_then_usable():
    before = count_visits()
    c = wire(ANALYST)
    msgs = ext(c, parse_msg("", "DELETE FROM visits"), bind_msg("", ""), execute_msg(""),
               sync_msg())
    eq(pgwire.types_of(msgs), "EZ",
       f"denied Parse must give exactly one ErrorResponse then ReadyForQuery: {msgs}")
    err = only_error(msgs, "42501", "denied bulk DELETE")
    check('phigate rule "analyst#1"' in err.get("M", "") and "bulk change" in err.get("M", ""),
          f"denial message should name the rule and carry its message: {err}")
    eq(rfq_status(msgs), "I", "status after a denial outside a transaction")

    msgs = ext(c, parse_msg("", "SELECT count(*) FROM visits"), bind_msg("", ""),
               execute_msg(""), sync_msg())
    eq(pgwire.types_of(msgs), "12DCZ", f"allowed statement after the denial: {msgs}")
    eq(pgwire.rows_of(msgs), [[str(before)]], "row count seen through phigate")
    eq(count_visits(), before, "visits changed despite the denial")

    # a named denied statement: its Bind/Execute later must not run anything either
    msgs = ext(c, parse_msg("bad", "DELETE FROM visits"), sync_msg())
    only_error(msgs, "42501", "named denied Parse")
    msgs = ext(c, bind_msg("", "bad"), execute_msg(""), sync_msg())
    check(pgwire.errors_of(msgs) and "D" not in pgwire.types_of(msgs)
          and tag_of(msgs) is None, f"Bind/Execute of a denied statement ran something: {msgs}")
    eq(count_visits(), before, "visits changed after Execute of a denied statement")

    # the denial is on the record
    def rec():
        rows = gw.audit_query("SELECT record FROM audit_events WHERE type = 'statement' "
                              "ORDER BY seq DESC LIMIT 50")
        for (r,) in rows:
            r = json.loads(r)
            if r["action"] == "DELETE FROM visits" and r["sub"] == "alice":
                return r
        return None
    r = audit_poll(rec)
    check(r is not None, "no statement record for the denied extended-protocol DELETE")
    eq(r["decision"], "deny", f"decision of the denied statement ({r})")


def test_extended_denial_inside_transaction():
    c = wire(ANALYST)
    msgs = simple(c, "BEGIN")
    eq(rfq_status(msgs), "T", "after BEGIN")
    msgs = ext(c, parse_msg("", "SELECT 1"), bind_msg("", ""), execute_msg(""), sync_msg())
    eq(pgwire.types_of(msgs), "12DCZ", f"SELECT inside the block: {msgs}")
    eq(rfq_status(msgs), "T", "still in the block")

    msgs = ext(c, parse_msg("", "DELETE FROM visits"), bind_msg("", ""), execute_msg(""),
               sync_msg())
    eq(pgwire.types_of(msgs), "EZ", f"denial inside the block: {msgs}")
    only_error(msgs, "42501", "denied DELETE inside BEGIN")
    eq(rfq_status(msgs), "E", "a denial inside a transaction block must abort it")

    msgs = ext(c, parse_msg("", "SELECT 2"), bind_msg("", ""), execute_msg(""), sync_msg())
    only_error(msgs, "25P02", "statement after the denial inside the aborted block")
    eq(rfq_status(msgs), "E", "still aborted")

    msgs = simple(c, "ROLLBACK")
    eq(tag_of(msgs), "ROLLBACK", f"ROLLBACK: {msgs}")
    eq(rfq_status(msgs), "I", "after ROLLBACK")
    msgs = ext(c, parse_msg("", "SELECT 3"), bind_msg("", ""), execute_msg(""), sync_msg())
    eq(pgwire.rows_of(msgs), [["3"]], f"after ROLLBACK: {msgs}")


def test_pipelined_groups_with_a_denial_in_the_middle():
    before = count_visits()
    c = wire(ANALYST)
    groups = [
        (parse_msg("", "SELECT 'one'"), bind_msg("", ""), execute_msg(""), sync_msg()),
        (parse_msg("p2", "SELECT $1::text || '-two'"), bind_msg("", "p2", ["x"]),
         execute_msg(""), sync_msg()),
        (parse_msg("", "DELETE FROM visits"), bind_msg("", ""), execute_msg(""), sync_msg()),
        (pgwire.frame(b"Q", b"SELECT 'four'\0"),),
        (parse_msg("", "UPDATE patients SET ssn = NULL"), bind_msg("", ""), execute_msg(""),
         sync_msg()),
        (bind_msg("", "p2", ["y"]), describe_msg("P"), execute_msg(""), sync_msg()),
        (parse_msg("", "SELECT count(*) FROM visits"), bind_msg("", ""), execute_msg(""),
         sync_msg()),
    ]
    pgwire.send_raw(c, b"".join(m for g in groups for m in g))
    got = [pgwire.read_until_ready(c) for _ in groups]
    expect = [("12DCZ", [["one"]]), ("12DCZ", [["x-two"]]), ("EZ", []), ("TDCZ", [["four"]]),
              ("EZ", []), ("2TDCZ", [["y-two"]]), ("12DCZ", [[str(before)]])]
    for i, (msgs, (types, rows)) in enumerate(zip(got, expect)):
        eq(pgwire.types_of(msgs), types, f"group {i} of the pipeline: {msgs}")
        eq(pgwire.rows_of(msgs), rows, f"rows of group {i}")
        if types == "EZ":
            check(is_phigate_denial(pgwire.errors_of(msgs)[0]), f"group {i}: {msgs}")
        eq(rfq_status(msgs), "I", f"status of group {i}")
    eq(count_visits(), before, "visits changed by the pipeline")


# --------------------------------------------------------------------------------------------
# FunctionCall and SQL cursors


def test_function_call():
    c = wire(ANALYST)
    msgs = ext(c, pgwire.function_call_msg(PG_BACKEND_PID_OID))
    eq(pgwire.types_of(msgs), "EZ", f"FunctionCall as analyst: {msgs}")
    err = only_error(msgs, "42501", "FunctionCall without allow_function_call")
    check(is_phigate_denial(err), f"the refusal should be phigate's: {err}")
    msgs = simple(c, "SELECT 'after-fcall'")
    eq(pgwire.rows_of(msgs), [["after-fcall"]], f"session after the refused FunctionCall: {msgs}")

    d = wire(DBA)
    msgs = ext(d, pgwire.function_call_msg(PG_BACKEND_PID_OID))
    eq(pgwire.types_of(msgs), "VZ", f"FunctionCall as dba: {msgs}")
    p = msgs[0][1]
    (ln,) = struct.unpack("!i", p[:4])
    check(ln > 0, f"FunctionCallResponse carries no value: {p!r}")
    pid = int(p[4:4 + ln].decode())
    msgs = simple(d, "SELECT pg_backend_pid()")
    eq(pgwire.rows_of(msgs), [[str(pid)]], "FunctionCall result = the upstream backend's pid")


def test_execute_of_sql_cursor_portal_refused():
    c = wire(DBA)
    msgs = simple(c, "DECLARE c CURSOR WITH HOLD FOR SELECT 1")
    eq(pgwire.types_of(msgs), "CZ", f"DECLARE ... WITH HOLD: {msgs}")
    msgs = ext(c, execute_msg("c"), sync_msg())
    eq(pgwire.types_of(msgs), "EZ", f"Execute of a SQL cursor's portal: {msgs}")
    err = only_error(msgs, "42501", "Execute of a portal phigate did not bind")
    check("not prepared through phigate" in err.get("M", ""), f"message: {err}")
    eq(rfq_status(msgs), "I", "status")
    msgs = simple(c, "CLOSE c")
    eq(tag_of(msgs), "CLOSE CURSOR", f"session usable after the refusal: {msgs}")


# --------------------------------------------------------------------------------------------
# protocol violations end the session


def test_unknown_message_type_is_fatal():
    c = wire(ANALYST)
    pgwire.send_raw(c, pgwire.frame(b"z", b"whatever"))
    expect_fatal_then_eof(c, "unknown frontend message 'z'")


def test_huge_length_is_fatal():
    c = wire(ANALYST)
    pgwire.send_raw(c, b"Q" + struct.pack("!I", 0x7FFFFFFF) + b"SELECT 1\0")
    expect_fatal_then_eof(c, "Query with length 0x7fffffff")


def test_short_length_is_fatal():
    for ln in (3, 0):
        c = wire(ANALYST)
        pgwire.send_raw(c, b"Q" + struct.pack("!I", ln) + b"SELECT 1\0")
        expect_fatal_then_eof(c, f"Query with length {ln}")


def test_gssenc_request_answered_n():
    c = pgwire.Conn("127.0.0.1", gw.port)
    harness.on_exit(c.close)
    c.sock.sendall(struct.pack("!II", 8, GSSENC_REQUEST))
    c.sock.settimeout(5)
    eq(c.sock.recv(1), b"N", "GSSENCRequest must be declined with a single 'N'")
    # nothing else follows the 'N'
    c.sock.settimeout(0.3)
    try:
        extra = c.sock.recv(1)
    except socket.timeout:
        extra = None
    eq(extra, None, "bytes after the 'N'")
    c.sock.settimeout(15)
    status, fields = c.startup("tester", "clinic", ANALYST)
    eq(status, "ok", f"startup on the same socket after GSSENCRequest: {fields}")
    msgs = simple(c, "SELECT 'after-gssenc'")
    eq(pgwire.rows_of(msgs), [["after-gssenc"]], "query after GSSENCRequest + startup")


# --------------------------------------------------------------------------------------------
# asynchronous messages


def test_listen_notify():
    a = wire(DBA)
    b = wire(DBA)
    msgs = simple(a, "LISTEN ch")
    eq(pgwire.types_of(msgs), "CZ", f"LISTEN: {msgs}")
    msgs = simple(b, "NOTIFY ch, 'hi'")
    eq(pgwire.types_of(msgs), "CZ", f"NOTIFY: {msgs}")
    a.sock.settimeout(5)
    typ, p = a.read()  # idle session: the server delivers the notification right away
    eq(typ, b"A", f"expected NotificationResponse, got {typ!r} {p!r}")
    channel, payload = p[4:].split(b"\0")[:2]
    eq((channel, payload), (b"ch", b"hi"), "notification channel and payload")
    msgs = simple(a, "SELECT 'still-fine'")
    eq(pgwire.rows_of(msgs), [["still-fine"]], "session after the notification")


# --------------------------------------------------------------------------------------------
# audit of bound parameters


def test_audit_records_bind_parameters():
    marker = "audit-params-%d" % time.time_ns()
    sql = f"SELECT $1::text AS who, $2::text AS nothing, $3::bytea AS blob /* {marker} */"
    c = wire(ANALYST)
    msgs = ext(c, parse_msg("", sql), bind_msg("", "", ["O'Brien", None, b"\x00\x01\xfe\xff"],
                                              formats=[0, 0, 1]),
               execute_msg(""), sync_msg())
    eq(pgwire.types_of(msgs), "12DCZ", f"statement with parameters: {msgs}")
    eq(pgwire.rows_of(msgs), [["O'Brien", None, "\\x0001feff"]], "values round-trip")

    def stmt():
        rows = gw.audit_query("SELECT seq, record FROM audit_events WHERE type = 'statement' "
                              "AND record LIKE ?", (f"%{marker}%",))
        return rows
    rows = audit_poll(stmt)
    eq(len(rows), 1, f"statement records for the executed statement: {rows}")
    seq, rec = rows[0]
    rec = json.loads(rec)
    eq(rec["decision"], "allow", f"decision ({rec})")
    eq(rec["action"], sql, "statement text on the record")
    eq(rec["parameters"], ["O'Brien", "NULL", "\\x0001feff"],
       "parameters: text as-is, NULL as NULL, binary as \\x-hex")
    eq(rec["sub"], "alice", "identity on the record")

    def result():
        return gw.audit_query("SELECT record FROM audit_events WHERE type = 'result' AND "
                              "json_extract(record, '$.ref_seq') = ?", (seq,))
    res = audit_poll(result)
    eq(len(res), 1, f"result records referencing statement seq {seq}: {res}")
    res = json.loads(res[0][0])
    eq(res["ref_seq"], seq, "ref_seq")
    eq(res["status"], "ok", f"result status ({res})")
    eq(res["rows"], 1, f"result rows ({res})")


if __name__ == "__main__":
    harness.main(globals())
