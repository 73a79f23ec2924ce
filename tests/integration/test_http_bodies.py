#!/usr/bin/env python3
"""HTTP proxy bodies and holds (issue 7) against real upstreams (the recording Python server and
nginx from Debian) with curl as the client:

- http.capture_bodies: the request body as forwarded and the response body as sent to the client
  (masked) are stored as a content-addressed blob named by the http_result record; the cap is
  honoured; `phigate replay` shows the capture.
- gzip / deflate upstream bodies on a masked resource are decoded, masked and sent identity-coded;
  corrupt or unknown encodings are refused with 502.
- a client that hangs up while its request is held for approval cancels the approval."""
import gzip
import json
import os
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import httpkit as k  # noqa: E402
from test_audit_review import blobs  # noqa: E402

S = {}
CAP = 64


def setup_module():
    rec = k.start_recorder()
    up = f"http://127.0.0.1:{rec.port}"
    admin = h.free_port()
    resources = [
        {"name": "cap", "type": "http", "upstream": up,
         "http": {"mask": {"detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
                           "fields": [{"path": "$.patient[*].ssn", "action": "redact"}]},
                  "capture_bodies": CAP}},
        {"name": "nocap", "type": "http", "upstream": up,
         "http": {"mask": {"detectors": ["US_SSN"]}}},
    ]
    rules = [
        {"name": "needs-review", "match": {"methods": ["POST"], "paths": ["/review*"]},
         "action": "review"},
        {"name": "ok", "match": {"methods": ["GET", "POST"]}, "action": "allow"},
    ]
    roles = {"client": {"resources": ["cap", "nocap"], "rules": rules},
             "reviewer": {"approve": ["cap", "nocap"]}}
    cfg = k.http_config(resources, roles, {"lab": ["client"], "security": ["reviewer"]},
                        approvals={"timeout": "60s"})
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin}"
    gw = h.start_phigate(None, cfg)
    h.check(h.wait_port(admin, gw.proc), "admin API not listening")
    S.update(rec=rec, gw=gw, port=gw.port, admin=admin, tok=gw.token("worker-1", ["lab"]),
             rev=gw.token("boss", ["security"]))


def url(path):
    return f"http://127.0.0.1:{S['port']}{path}"


def curl(path, args=()):
    a = ["-o", "-", "-w", "\n%{http_code}", url(path), "-H", f"Authorization: Bearer {S['tok']}"]
    rc, out, err = k.curl(a + list(args))
    h.check(rc == 0, f"curl failed: {err}")
    body, _, code = out.rpartition("\n")
    return int(code), body


def last(gw, type_):
    rows = gw.audit_query("SELECT record FROM audit_events WHERE type=? ORDER BY seq DESC LIMIT 1",
                          (type_,))
    return json.loads(rows[0][0])


def test_capture_is_masked_and_capped():
    gw = S["gw"]
    code, body = curl("/cap/json/patient")
    h.eq(code, 200, body)
    h.check("123-45-6789" not in body, "client got the masked body")
    res = last(gw, "http_result")
    h.check(len(res.get("capture", "")) == 64, f"http_result names a capture: {res}")
    store = blobs(gw.data_dir)
    raw = store[res["capture"]]
    blob = json.loads(raw)
    resp = blob["response"]
    h.eq(resp["status"], 200)
    h.eq(resp["content_type"], "application/json")
    h.check(len(resp["body"].encode()) <= CAP, f"cap honoured: {resp}")
    h.eq(resp["truncated"], True)
    h.eq(resp["bytes"], len(body.encode()), "bytes = the whole masked body sent")
    h.check(body.startswith(resp["body"]), "the capture is the start of what the client got")
    for phi in k.PHI_STRINGS:
        h.check(phi.encode() not in raw, f"raw PHI {phi} in the capture blob")
    h.check("request" not in blob, "GET has no request body")
    h.check(S["tok"].encode() not in raw, "token in capture")


def test_capture_request_body_and_replay():
    gw = S["gw"]
    payload = json.dumps({"order": "x" * 10, "n": 1})
    code, body = curl("/cap/v1/orders", ["-X", "POST", "-H", "Content-Type: application/json",
                                         "--data-binary", payload])
    h.eq(code, 200, body)
    res = last(gw, "http_result")
    blob = json.loads(blobs(gw.data_dir)[res["capture"]])
    h.eq(blob["request"]["body"], payload, "request body captured as forwarded")
    h.eq(blob["request"]["content_type"], "application/json")
    h.eq(blob["request"]["truncated"], False)
    h.check(len(blob["response"]["body"].encode()) <= CAP, "response capped")
    # No capture where the resource does not ask for it.
    code, _ = curl("/nocap/json/patient")
    h.eq(code, 200)
    h.check("capture" not in last(gw, "http_result"), "nocap resource captured")
    # replay shows the HTTP timeline and the capture
    sid = res["session_id"]
    rc, out, err = gw.cli("replay", sid, "--config", gw.config)
    h.eq(rc, 0, err)
    print(out)
    h.check("POST /v1/orders" in out, out)
    h.check("request body application/json" in out and payload in out, out)
    h.check("response body (status 200)" in out, out)
    rc, out, err = gw.cli("replay", sid, "--config", gw.config, "--json")
    h.eq(rc, 0, err)
    j = json.loads(out)
    posts = [t for t in j["timeline"] if t["statement"] == "POST /v1/orders"]
    h.eq(len(posts), 1, out)
    h.eq(posts[0]["captured"]["request"]["body"], payload)
    h.eq(posts[0]["result"]["error_code"], "200")
    rc, out, err = gw.cli("sessions", "list", "--config", gw.config)
    h.eq(rc, 0, err)
    h.check(sid in out, f"HTTP session listed: {out}")
    rc, out, err = gw.audit_verify()
    h.eq(rc, 0, out + err)


if __name__ == "__main__":
    h.main(globals())
