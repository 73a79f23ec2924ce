#!/usr/bin/env python3
"""Clients asking for protocol 3.2 (PostgreSQL 18 libpq with max_protocol_version=3.2) or sending
_pq_.* options get NegotiateProtocolVersion (newest minor 0, unknown options listed) and then a
normal 3.0 session; protocol 4.0 is refused."""
import struct

import harness as h  # first: re-executes under Debian's python3 that has psycopg2
import pgwire

pg = gw = None


def setup_module():
    global pg, gw
    pg = h.start_postgres(patients=5)
    gw = h.start_phigate(pg)


def startup_raw(version, params):
    c = pgwire.Conn("127.0.0.1", gw.port)
    body = struct.pack("!I", version)
    for k, v in params:
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    c.sock.sendall(struct.pack("!I", len(body) + 4) + body)
    return c


def test_minor_version_negotiated_down():
    tok = gw.token("nina", "analysts")
    c = startup_raw((3 << 16) | 2, [("user", "nina"), ("database", "clinic"),
                                    ("_pq_.some_option", "on")])
    typ, p = c.read()
    h.eq(typ, b"v", "expected NegotiateProtocolVersion first")
    newest, n = struct.unpack("!II", p[:8])
    h.eq(newest, 0)
    h.eq(n, 1)
    h.check(b"_pq_.some_option" in p, p)
    typ, p = c.read()
    h.eq((typ, struct.unpack("!I", p[:4])[0]), (b"R", 3), "then the password request")
    c.send(b"p", tok.encode() + b"\0")
    while True:
        typ, p = c.read()
        if typ == b"Z":
            break
        if typ == b"E":
            raise AssertionError(f"startup failed: {pgwire.parse_fields(p)}")
    c.query("SELECT 7")
    res = c.collect()
    h.eq(res["rows"], [["7"]])
    c.close()


def test_major_version_refused():
    c = startup_raw(4 << 16, [("user", "x"), ("database", "clinic")])
    typ, p = c.read()
    h.eq(typ, b"E")
    h.eq(pgwire.parse_fields(p).get("C"), "08P01")
    c.close()


if __name__ == "__main__":
    h.main(globals())
