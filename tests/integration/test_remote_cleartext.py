#!/usr/bin/env python3
"""A token must not cross a non-loopback network in clear: without TLS phigate refuses it from a
non-loopback peer (FATAL 28000), with TLS it is accepted, and
gateway.allow_cleartext_token_remote opts back in. Needs a non-loopback IPv4 address on this host
(skipped otherwise)."""
import os
import subprocess

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

pg = None
IP = None


def _non_loopback_ipv4():
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] != "lo":
            return parts[3].split("/")[0]
    return None


def setup_module():
    global pg, IP
    IP = _non_loopback_ipv4()
    pg = h.start_postgres(patients=5)


def gateway(allow_remote):
    tmp = h.tmpdir("remote-tls")
    crt, key = os.path.join(tmp, "gw.crt"), os.path.join(tmp, "gw.key")
    h.make_cert(crt, key)
    cfg = h.default_config(pg)
    cfg["gateway"]["listen"]["postgres"] = "0.0.0.0:@PORT@"
    if allow_remote:
        cfg["gateway"]["allow_cleartext_token_remote"] = True
    return h.start_phigate(pg, cfg, tls=(crt, key))


def connect(gw, sslmode):
    import psycopg2
    tok = gw.token("rita", "analysts")
    return psycopg2.connect(h.conninfo(host=IP, port=gw.port, dbname="clinic", user="rita",
                                       password=tok, sslmode=sslmode))


def test_cleartext_token_from_remote_refused_tls_accepted():
    if not IP:
        raise h.Skip("no non-loopback IPv4 address")
    gw = gateway(False)
    e = h.pg_error(lambda: connect(gw, "disable"))
    h.check("sslmode=require" in str(e), f"unexpected error: {e}")
    c = connect(gw, "require")
    cur = c.cursor()
    cur.execute("SELECT 1")
    h.eq(cur.fetchone(), (1,))
    c.close()
    rows = gw.audit_query("SELECT count(*) FROM audit_events WHERE type='auth_failure'")
    h.check(rows[0][0] >= 1, "refusal not audited")
    gw.stop()


def test_opt_in_allows_remote_cleartext():
    if not IP:
        raise h.Skip("no non-loopback IPv4 address")
    gw = gateway(True)
    c = connect(gw, "disable")
    c.close()
    gw.stop()


if __name__ == "__main__":
    h.main(globals())
