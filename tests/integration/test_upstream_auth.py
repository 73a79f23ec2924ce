#!/usr/bin/env python3
"""phigate logs in upstream with its own credentials over every method PostgreSQL offers (SCRAM,
MD5, cleartext) and every upstream_tls mode; the client never supplies the upstream password."""
import os

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

pg = gw = None
DBA = None


def setup_module():
    global pg, gw, DBA
    pg = h.start_postgres(patients=5, ssl=True)
    pw = pg.password
    pg.admin(f"""
        SET password_encryption = 'md5';
        CREATE ROLE u_md5 LOGIN PASSWORD '{pw}';
        SET password_encryption = 'scram-sha-256';
        CREATE ROLE u_plain LOGIN PASSWORD '{pw}';
        CREATE ROLE u_tls LOGIN PASSWORD '{pw}';
        GRANT CONNECT ON DATABASE clinic TO u_md5, u_plain, u_tls;""")
    with open(os.path.join(pg.data, "pg_hba.conf"), "w") as f:
        f.write("local all all trust\n"
                "host all u_md5 127.0.0.1/32 md5\n"
                "host all u_plain 127.0.0.1/32 password\n"
                "hostssl all u_tls 127.0.0.1/32 scram-sha-256\n"
                "hostnossl all u_tls 127.0.0.1/32 reject\n"
                "host all all 127.0.0.1/32 scram-sha-256\n")
    pg.admin("SELECT pg_reload_conf();")
    cfg = h.default_config(pg)
    crt = os.path.join(pg.data, "server.crt")
    other = h.tmpdir("otherca")
    other_ca = os.path.join(other, "ca.crt")
    h.make_cert(other_ca, os.path.join(other, "ca.key"))
    res = [
        h.resource(pg, name="r_md5", database="clinic",
                   credentials={"username": "u_md5", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_plain", database="clinic",
                   credentials={"username": "u_plain", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_tls_require", database="clinic", upstream_tls="require",
                   credentials={"username": "u_tls", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_tls_prefer", database="clinic", upstream_tls="prefer",
                   credentials={"username": "u_tls", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_tls_verify", database="clinic", upstream_tls="verify-full",
                   upstream=f"localhost:{pg.port}", upstream_ca=crt,
                   credentials={"username": "u_tls", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_tls_verify_wrong_ca", database="clinic",
                   upstream_tls="verify-full", upstream_ca=other_ca,
                   credentials={"username": "u_tls", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_tls_disable", database="clinic", upstream_tls="disable",
                   credentials={"username": "u_tls", "password_file": "@PASSWORD_FILE@"}),
        h.resource(pg, name="r_wrong_pw", database="clinic",
                   credentials={"username": pg.user, "password_env": "WRONG_PW"}),
    ]
    cfg["resources"] += res
    cfg["roles"]["dba"]["resources"] += [r["name"] for r in res]
    gw = h.start_phigate(pg, cfg, env={"WRONG_PW": "not-the-password"})
    DBA = gw.token("dora", "dbas")


def who(resource):
    c = gw.connect(DBA, dbname=resource)
    cur = c.cursor()
    cur.execute("SELECT current_user, coalesce((SELECT ssl FROM pg_stat_ssl "
                "WHERE pid = pg_backend_pid()), false)")
    row = cur.fetchone()
    c.close()
    return row


def test_scram():
    h.eq(who("clinic"), ("phigate_clinic", False))


def test_md5():
    h.eq(who("r_md5"), ("u_md5", False))


def test_cleartext():
    h.eq(who("r_plain"), ("u_plain", False))


def test_tls_require():
    h.eq(who("r_tls_require"), ("u_tls", True))


def test_tls_prefer_uses_tls_when_offered():
    h.eq(who("r_tls_prefer"), ("u_tls", True))


def test_tls_verify_full():
    h.eq(who("r_tls_verify"), ("u_tls", True))


def upstream_refused(resource):
    e = h.pg_error(lambda: gw.connect(DBA, dbname=resource))
    h.check("could not connect" in str(e), f"unexpected error: {e}")
    # The upstream's own error text (and any password) never reaches the client.
    h.check("not-the-password" not in str(e) and pg.password not in str(e), "secret leaked")
    h.eq(gw.audit_query("SELECT count(*) FROM audit_events WHERE type='upstream_failure' "
                        "AND resource=?", (resource,))[0][0] >= 1, True)


def test_tls_verify_full_rejects_untrusted_certificate():
    # Same names, but signed by a key the configured CA file does not vouch for.
    upstream_refused("r_tls_verify_wrong_ca")


def test_tls_disable_refused_by_hostssl_only_server():
    upstream_refused("r_tls_disable")


def test_wrong_upstream_password():
    upstream_refused("r_wrong_pw")


if __name__ == "__main__":
    h.main(globals())
