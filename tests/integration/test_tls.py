#!/usr/bin/env python3
"""Client-facing TLS: with gateway.tls configured, sslmode=require/verify-full work and the session
is really encrypted; plain connections from loopback still work (token over loopback is allowed)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
TOKEN = None
CERT = KEY = None


def setup_module():
    global pg, gw, TOKEN, CERT, KEY
    pg = harness.start_postgres(patients=20)
    d = harness.tmpdir("tls")
    CERT, KEY = os.path.join(d, "gw.crt"), os.path.join(d, "gw.key")
    harness.make_cert(CERT, KEY, cn="localhost")
    gw = harness.start_phigate(pg, tls=(CERT, KEY))
    TOKEN = gw.token("alice", ["analysts"])


def test_sslmode_require():
    rc, out, err = gw.psql(TOKEN, input="\\conninfo\nSELECT mrn FROM patients WHERE id = 1;\n",
                           sslmode="require", args=["-At"])
    eq(rc, 0, f"psql sslmode=require: {err}")
    check("SSL connection" in out, f"\\conninfo does not report SSL: {out!r}")
    check("MRN-00000001" in out, out)
    print("  " + [l for l in out.splitlines() if "SSL" in l][0])


def test_sslmode_verify_full():
    dsn = harness.conninfo(host="localhost", hostaddr="127.0.0.1", port=gw.port, dbname="clinic",
                           user="tester", password=TOKEN, sslmode="verify-full",
                           sslrootcert=CERT)
    rc, out, err = harness.psql(dsn, "SELECT 'verified'", args=["-At"])
    eq((rc, out.strip()), (0, "verified"), f"verify-full against the gateway's cert: {err}")


def test_psycopg2_tls():
    conn = gw.connect(TOKEN, sslmode="require")
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM patients")
    eq(cur.fetchone()[0], 20, "count over TLS")
    check(conn.info.ssl_in_use, "psycopg2 reports no TLS")
    conn.close()


def test_plain_from_loopback_still_works():
    rc, out, err = gw.psql(TOKEN, "SELECT 'plain'", sslmode="disable", args=["-At"])
    eq((rc, out.strip()), (0, "plain"), f"sslmode=disable from loopback: {err}")


def test_tls_then_bad_token():
    c = pgwire.Conn("127.0.0.1", gw.port, use_ssl=True)
    status, fields = c.startup("tester", "clinic", "garbage")
    c.close()
    eq(status, "error", "garbage token over TLS accepted")
    eq(fields.get("C"), "28P01", f"{fields}")


def test_large_result_over_tls():
    rc, out, err = gw.psql(TOKEN, "SELECT sum(length(x)) FROM (SELECT repeat('z', 1000) || g AS x "
                                  "FROM generate_series(1, 20000) g) s", sslmode="require",
                           args=["-At"])
    rc2, out2, _ = harness.psql(pg.dsn(), "SELECT sum(length(x)) FROM (SELECT repeat('z', 1000) || "
                                          "g AS x FROM generate_series(1, 20000) g) s", args=["-At"])
    eq((rc, out), (rc2, out2), f"aggregate over TLS: {err}")
    rc, out, err = gw.psql(TOKEN, "SELECT repeat('z', 1000) || g FROM generate_series(1, 20000) g",
                           sslmode="require", args=["-At"])
    eq(rc, 0, err)
    lines = out.splitlines()
    eq(len(lines), 20000, "rows over TLS")
    eq(lines[-1], "z" * 1000 + "20000", "last row")



def test_bytes_pipelined_after_sslrequest_refused():
    """Bytes sent after SSLRequest but before the handshake would otherwise be taken as if they had
    come through TLS (CVE-2021-23214): phigate refuses the connection instead of answering 'S'."""
    import socket
    import struct
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    body = struct.pack("!I", 196608) + b"user\0x\0database\0clinic\0\0"
    startup = struct.pack("!I", len(body) + 4) + body
    s.sendall(struct.pack("!II", 8, pgwire.SSL_REQUEST) + startup)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    check(not data.startswith(b"S"), f"phigate agreed to TLS after pipelined bytes: {data[:40]!r}")
    check(data[:1] == b"E" and b"08P01" in data, f"expected a FATAL 08P01, got {data[:80]!r}")

if __name__ == "__main__":
    harness.main(globals())
