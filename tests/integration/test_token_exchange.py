#!/usr/bin/env python3
"""RFC 8693 token exchange at the running gateway's admin API (POST /v1/token/exchange), driven by
`phigate token exchange`: a workflow token acting for a human is narrowed to a per-task token that
reaches only its resource, with fewer roles and a shorter life; escalation is refused; the audit
shows task -> workflow -> human on the exchange and on the task's session."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ADMIN = None


def setup_module():
    global pg, gw, ADMIN
    pg = harness.start_postgres(patients=20)
    pg.add_database("billing")
    admin_port = harness.free_port()
    ADMIN = f"http://127.0.0.1:{admin_port}"
    cfg = harness.default_config(pg)
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin_port}"
    cfg["identity"]["group_roles"]["pipeline"] = ["analyst", "biller"]
    cfg["resources"].append(harness.resource(pg, "billing"))
    cfg["roles"]["biller"] = {"resources": ["billing"],
                              "rules": [{"match": {"statement": ["select"]}, "action": "allow"}]}
    gw = harness.start_phigate(pg, cfg)
    harness.wait_port(admin_port, gw.proc)


def workflow_token():
    return gw.token("etl-workflow", ["pipeline"], ttl="10m", workflow="wf-9", act="dr.jones")


def exchange(subject, *args):
    return gw.cli("token", "exchange", "--config", gw.config, "--subject-token", subject,
                  "--admin", ADMIN, "--json", *args)


def test_narrowed_task_token_reaches_only_its_resource():
    wf = workflow_token()
    rc, out, err = exchange(wf, "--roles", "analyst", "--resource", "clinic", "--ttl", "5m",
                            "--task", "task-1", "--workflow", "wf-9")
    eq(rc, 0, f"exchange at the admin API: {out} {err}")
    reply = json.loads(out)
    task = reply["access_token"]
    check(0 < reply["expires_in"] <= 300, reply)
    rc, out, err = gw.psql(task, "SELECT count(*) FROM patients", args=["-At"])
    eq(rc, 0, f"task token on clinic: {err}")
    rc, _, err = gw.psql(wf, "SELECT 1", dbname="billing", args=["-At"])
    eq(rc, 0, f"workflow token on billing: {err}")
    rc, _, err = gw.psql(task, "SELECT 1", dbname="billing", args=["-At"])
    check(rc != 0, f"task token refused on billing: {rc} {err}")
    rows = gw.audit_query(
        "SELECT json_extract(record,'$.task_id'), json_extract(record,'$.workflow_id'), "
        "json_extract(record,'$.act_sub'), json_extract(record,'$.sub') FROM audit_events "
        "WHERE type='session_start' AND json_extract(record,'$.task_id')='task-1'")
    check(rows, "the task's session is audited with its task id")
    eq(tuple(rows[0][:3]), ("task-1", "wf-9", "dr.jones"), "task -> workflow -> human")
    ex = gw.audit_query(
        "SELECT json_extract(record,'$.decision'), json_extract(record,'$.task_id') "
        "FROM audit_events WHERE type='token_exchange'")
    check(("allow", "task-1") in [tuple(r) for r in ex], f"exchange audited: {ex}")
    check(task not in open(gw.log).read() and wf not in open(gw.log).read(), "no token in log")


def test_escalation_is_refused():
    wf = workflow_token()
    for args, code in ((["--roles", "dba"], "invalid_scope"),
                       (["--resource", "nowhere"], "invalid_target"),
                       (["--roles", "analyst", "--resource", "billing"], "invalid_target")):
        rc, out, err = exchange(wf, *args)
        check(rc != 0, f"{args}: escalation accepted: {out}")
        check(code in out + err, f"{args}: expected {code}: {out} {err}")
    denials = gw.audit_query("SELECT count(*) FROM audit_events WHERE type='token_exchange' AND "
                             "json_extract(record,'$.decision')='deny'")
    check(denials[0][0] >= 3, f"refused exchanges audited: {denials}")


def test_forged_subject_token_refused_with_oauth_error():
    body = ("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&"
            "subject_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.&"
            "subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt").encode()
    req = urllib.request.Request(f"{ADMIN}/v1/token/exchange", data=body, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("forged subject token accepted")
    except urllib.error.HTTPError as e:
        eq(e.code, 400)
        reply = json.loads(e.read())
        check(reply.get("error") in ("invalid_grant", "invalid_request"), reply)
        eq(e.headers.get("Cache-Control"), "no-store")


if __name__ == "__main__":
    harness.main(globals())
