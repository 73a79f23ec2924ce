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
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import httpkit as k  # noqa: E402
from test_audit_review import blobs  # noqa: E402

S = {}
CAP = 64


GZ_PATIENT = dict(k.PATIENT, served_from="gz")


def setup_module():
    rec = k.start_recorder()
    up = f"http://127.0.0.1:{rec.port}"
    plain = json.dumps(k.PATIENT).encode()
    nginx_port, _ = k.start_nginx({"static/patient.json": plain,
                                   "static/patient.json.gz": gzip.compress(
                                       json.dumps(GZ_PATIENT).encode()),
                                   "dyn/patient.json": plain}, gzip=True)
    ngx = f"http://127.0.0.1:{nginx_port}"
    mask = {"detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
            "fields": [{"path": "$.patient[*].ssn", "action": "redact"}]}
    admin = h.free_port()
    resources = [
        {"name": "cap", "type": "http", "upstream": up,
         "http": {"mask": {"detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
                           "fields": [{"path": "$.patient[*].ssn", "action": "redact"}]},
                  "capture_bodies": CAP}},
        {"name": "nocap", "type": "http", "upstream": up,
         "http": {"mask": {"detectors": ["US_SSN"]}}},
        {"name": "ngx", "type": "http", "upstream": ngx, "http": {"mask": mask}},
        {"name": "ngxz", "type": "http", "upstream": ngx,
         "http": {"mask": dict(mask, accept_compressed=True), "capture_bodies": 4096}},
    ]
    rules = [
        {"name": "needs-review", "match": {"methods": ["POST"], "paths": ["/review*"]},
         "action": "review"},
        {"name": "ok", "match": {"methods": ["GET", "HEAD", "POST"]}, "action": "allow"},
    ]
    roles = {"client": {"resources": ["cap", "nocap", "ngx", "ngxz"], "rules": rules},
             "reviewer": {"approve": ["cap", "nocap"]}}
    cfg = k.http_config(resources, roles, {"lab": ["client"], "security": ["reviewer"]},
                        approvals={"timeout": "60s"})
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin}"
    gw = h.start_phigate(None, cfg)
    h.check(h.wait_port(admin, gw.proc), "admin API not listening")
    S.update(cfg=cfg, rec=rec, gw=gw, nginx=nginx_port, port=gw.port, admin=admin, tok=gw.token("worker-1", ["lab"]),
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


def headers_and_body(path, args=()):
    a = ["-i", url(path), "-H", f"Authorization: Bearer {S['tok']}"] + list(args)
    rc, out, err = k.curl(a)
    return rc, out, err


def no_phi(text):
    for phi in k.PHI_STRINGS:
        h.check(phi not in text, f"{phi} reached the client")


def test_gzip_and_deflate_from_upstream_are_decoded_and_masked():
    for route in ("/cap/gzip", "/cap/deflate", "/cap/gzip-chunked"):
        rc, out, err = headers_and_body(route)
        h.eq(rc, 0, err)
        head, _, body = out.partition("\n\n")
        h.check(head.startswith("HTTP/1.1 200"), f"{route}: {head}")
        h.check("content-encoding" not in head.lower(), f"{route}: Content-Encoding sent: {head}")
        j = json.loads(body)
        h.eq(j["patient"][0]["name"], "Ann Lee", route)
        no_phi(body)
        res = last(S["gw"], "http_result")
        h.check(res["masked"].get("json:$.patient[*].ssn") == 2, res)
    # the capture holds the decoded, masked body
    blob = json.loads(blobs(S["gw"].data_dir)[res["capture"]])
    h.check(blob["response"]["body"].startswith('{"resourceType"'), blob)


def fetch_failing(path):
    """A response that fails while decoding: 502 when nothing was sent yet, else the head is out
    and the body ends incomplete (no last chunk: curl error 18)."""
    rc, out, err = k.curl(["-o", "-", "-w", "\n%{http_code}", url(path),
                           "-H", f"Authorization: Bearer {S['tok']}"])
    body, _, code = out.rpartition("\n")
    h.check((rc == 0 and code == "502") or rc == 18, f"{path}: rc={rc} code={code} {err}")
    no_phi(out)
    res = last(S["gw"], "http_result")
    h.eq(res["status"], "error")
    return res["message"] + " " + body


def test_head_of_a_decoded_response_has_no_content_encoding():
    rc, out, err = headers_and_body("/cap/gzip", ["-I"])
    h.eq(rc, 0, err)
    h.check(out.startswith("HTTP/1.1 200") and "content-encoding" not in out.lower(), out)


def test_corrupt_or_truncated_gzip_fails_closed():
    why = fetch_failing("/cap/gzip-badcrc")
    h.check("CRC-32 mismatch" in why, why)
    why = fetch_failing("/cap/gzip-truncated")
    h.check("truncated" in why, why)


def test_unknown_encoding_refused():
    code, body = curl("/cap/br")
    h.eq(code, 502, body)
    h.eq(json.loads(body)["error"], "unmaskable_response")


def test_nginx_gzip_static_always_is_decoded():
    # nginx sends the .gz twin although phigate asked for identity
    rc, out, err = k.curl(["-D", "-", "-o", "/dev/null",
                           f"http://127.0.0.1:{S['nginx']}/static/patient.json",
                           "-H", "Accept-Encoding: identity"])
    h.check("Content-Encoding: gzip" in out, f"nginx variant does not compress: {out[:400]}")
    for extra in ([], ["--compressed"]):
        rc, out, err = headers_and_body("/ngx/static/patient.json", extra)
        h.eq(rc, 0, err)
        head, _, body = out.partition("\n\n")
        h.check(head.startswith("HTTP/1.1 200"), head)
        h.check("content-encoding" not in head.lower(), head)
        h.eq(json.loads(body)["served_from"], "gz", "the .gz twin was served and decoded")
        no_phi(body)


def test_nginx_dynamic_gzip_with_accept_compressed():
    rc, out, err = k.curl(["-D", "-", "-o", "/dev/null",
                           f"http://127.0.0.1:{S['nginx']}/dyn/patient.json",
                           "-H", "Accept-Encoding: gzip, deflate"])
    h.check("Content-Encoding: gzip" in out, "nginx compresses for gzip clients")
    rc, out, err = headers_and_body("/ngxz/dyn/patient.json")
    h.eq(rc, 0, err)
    head, _, body = out.partition("\n\n")
    h.check(head.startswith("HTTP/1.1 200") and "content-encoding" not in head.lower(), head)
    h.eq(json.loads(body)["patient"][1]["name"], "Bob Roe")
    no_phi(body)
    res = last(S["gw"], "http_result")
    h.check(res["masked"].get("json:$.patient[*].ssn") == 2, res)
    blob = json.loads(blobs(S["gw"].data_dir)[res["capture"]])
    eq_body = json.loads(blob["response"]["body"])
    h.eq(eq_body, json.loads(body), "capture = decoded masked body sent")
    # the default resource still asks for identity: nginx then sends it plain
    code, body = curl("/ngx/dyn/patient.json")
    h.eq(code, 200, body)
    no_phi(body)


def approvals(state="pending", gw=None, token=None):
    gw = gw or S["gw"]
    rc, out, err = gw.cli("approvals", "list", "--state", state, "--json", "--config",
                          gw.config, "--token", token or S["rev"])
    h.eq(rc, 0, err)
    return json.loads(out)["approvals"]


def wait_for(fn, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return None


def pending(needle):
    return wait_for(lambda: [a for a in approvals() if needle in a["summary"]])


def test_client_hangup_cancels_held_request():
    rec = S["rec"]
    rec.clear()
    proc = subprocess.Popen(["curl", "-sS", "-X", "POST", url("/cap/review/hangup"),
                             "-H", f"Authorization: Bearer {S['tok']}",
                             "-H", "Content-Type: application/json", "--data-binary", '{"x":1}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.on_exit(lambda: proc.poll() is None and proc.kill())
    held = pending("/review/hangup")
    h.check(held, "request not held")
    rid = held[0]["id"]
    proc.kill()
    proc.wait(10)
    gone = wait_for(lambda: not [a for a in approvals() if a["id"] == rid], 10)
    h.check(gone, "the approval is still pending after the client hung up")
    st = [a for a in approvals("cancelled") if a["id"] == rid]
    h.eq(len(st), 1, "the approval is cancelled")
    # approving it now fails: it was withdrawn
    rc, out, err = S["gw"].cli("approvals", "approve", rid, "--config", S["gw"].config,
                               "--token", S["rev"])
    h.check(rc != 0, f"approved a withdrawn request: {out}")
    h.check("/review/hangup" not in rec.paths(), "the held request was forwarded")
    gw = S["gw"]
    res = last(gw, "http_result")
    h.eq((res["status"], res["error_code"]), ("cancelled", "499"), str(res))
    h.eq(res["action"], "POST /review/hangup")
    reqs = [json.loads(r[0]) for r in gw.audit_query(
        "SELECT record FROM audit_events WHERE type='http_request' AND session_id=? ORDER BY seq",
        (res["session_id"],))]
    h.eq([r["decision"] for r in reqs], ["hold", "deny"])
    h.check("cancelled" in reqs[-1]["message"], reqs[-1])
    decisions = [json.loads(r[0]) for r in gw.audit_query(
        "SELECT record FROM audit_events WHERE type='approval_decision' ORDER BY seq DESC LIMIT 5")]
    h.check(any(d.get("approval_id") == rid and d.get("decision") == "cancelled"
                for d in decisions), f"approval_decision cancelled: {decisions}")


def test_pipelined_bytes_during_hold_are_kept():
    rec = S["rec"]
    rec.clear()
    s = socket.create_connection(("127.0.0.1", S["port"]), timeout=30)
    body = b'{"y":2}'
    s.sendall(b"POST /cap/review/pipelined HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              S["tok"].encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    held = pending("/review/pipelined")
    h.check(held, "request not held")
    # the next request arrives while the first is held
    s.sendall(b"GET /cap/v1/after-hold HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              S["tok"].encode() + b"\r\nConnection: close\r\n\r\n")
    time.sleep(0.5)
    h.eq([a["id"] for a in approvals() if a["id"] == held[0]["id"]], [held[0]["id"]],
         "still pending: pipelined bytes are not a hang-up")
    rc, out, err = S["gw"].cli("approvals", "approve", held[0]["id"], "--config", S["gw"].config,
                               "--token", S["rev"])
    h.eq(rc, 0, out + err)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    h.eq(data.count(b"HTTP/1.1 200"), 2, data[:600])
    h.eq(rec.paths(), ["/review/pipelined", "/v1/after-hold"], "both forwarded in order")
    first = data.index(b"/review/pipelined")
    h.check(first < data.index(b"/v1/after-hold"), "responses in order")


def test_hold_over_tls_approved_then_answered():
    """Over TLS the hold's client watch keeps a read in flight on the TLS stream while phigate
    waits; once approved, the response is written on that same stream."""
    d = h.tmpdir("http-tls")
    crt, key = os.path.join(d, "gw.crt"), os.path.join(d, "gw.key")
    h.make_cert(crt, key)
    cfg = json.loads(json.dumps(S["cfg"]))
    admin = h.free_port()
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin}"
    gw = h.start_phigate(None, cfg, tls=(crt, key))
    h.check(h.wait_port(admin, gw.proc), "admin API not listening")
    tok, rev = gw.token("worker-1", ["lab"]), gw.token("boss", ["security"])
    S["rec"].clear()
    proc = subprocess.Popen(["curl", "-sS", "-k", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
                             f"https://127.0.0.1:{gw.port}/cap/review/tls",
                             "-H", f"Authorization: Bearer {tok}",
                             "-H", "Content-Type: application/json", "--data-binary", '{"z":3}'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    h.on_exit(lambda: proc.poll() is None and proc.kill())
    held = wait_for(lambda: [a for a in approvals(gw=gw, token=rev)
                             if "/review/tls" in a["summary"]])
    h.check(held, "request not held")
    h.check("/review/tls" not in S["rec"].paths(), "forwarded before approval")
    rc, out, err = gw.cli("approvals", "approve", held[0]["id"], "--config", gw.config,
                          "--token", rev)
    h.eq(rc, 0, f"approve: {out} {err}")
    out, err = proc.communicate(timeout=30)
    body, _, code = out.rpartition("\n")
    h.eq(code, "200", f"{out} {err}")
    h.check("/review/tls" in S["rec"].paths(), "the approved request was not forwarded")


if __name__ == "__main__":
    h.main(globals())
