#!/usr/bin/env python3
"""SIGHUP reloads the policy: the new snapshot applies to open sessions at their next statement
(simple and extended protocol), and a broken config is refused while the old policy stays."""
import signal
import time

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

pg = gw = None
CFG = None


def setup_module():
    global pg, gw, CFG
    pg = h.start_postgres(patients=5)
    CFG = h.default_config(pg)
    gw = h.start_phigate(pg, CFG)


def write_config(text_or_dict):
    text = h.to_yaml(text_or_dict) + "\n" if isinstance(text_or_dict, dict) else text_or_dict
    for k, v in (("@DATA_DIR@", gw.data_dir), ("@PORT@", str(gw.port)),
                 ("@PASSWORD_FILE@", gw.base + "/upstream.pw"), ("@DIR@", gw.base),
                 ("@PG_PORT@", str(pg.port))):
        text = text.replace(k, v)
    with open(gw.config, "w") as f:
        f.write(text)


def reload_and_wait(marker):
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(gw.log, errors="replace") as f:
            if f.read().count(marker) >= 1:
                return
        time.sleep(0.05)
    raise AssertionError(f"no '{marker}' in the log after SIGHUP:\n{gw.log_tail(20)}")


def test_reload_applies_to_open_sessions():
    c = gw.connect(gw.token("rob", "analysts"))
    c.autocommit = True
    cur = c.cursor()
    cur.execute("SELECT count(*) FROM patients WHERE id = %s", (1,))
    cur.execute("SELECT 1")
    # New policy: analysts may no longer read.
    cfg = dict(CFG)
    cfg["roles"] = dict(CFG["roles"])
    cfg["roles"]["analyst"] = {"resources": ["clinic"],
                               "rules": [{"match": {"statement": ["select"]}, "action": "deny",
                                          "message": "reads suspended"}]}
    write_config(cfg)
    reload_and_wait("policy reloaded: v2")
    e = h.pg_error(lambda: cur.execute("SELECT 1"))
    h.eq(e.pgcode, "42501")
    h.check("reads suspended" in str(e), str(e))
    c.close()


def test_broken_config_keeps_the_old_policy():
    token = gw.token("rob", "analysts")  # the CLI reads the config too: mint before breaking it
    write_config("gateway: { listn: oops }\n")
    reload_and_wait("reload refused")
    c = gw.connect(token)
    e = h.pg_error(lambda: c.cursor().execute("SELECT 1"))
    h.check("reads suspended" in str(e), f"old (v2) policy not kept: {e}")
    c.close()
    h.check(gw.alive(), "phigate died on a broken reload")


if __name__ == "__main__":
    h.main(globals())
