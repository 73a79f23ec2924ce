"""HTTP test kit: a recording upstream, nginx from Debian, raw-socket and curl clients.

The recording upstream is a tiny threaded HTTP/1.1 server (Python's http.server) that remembers
every request it received (method, path, headers, body) so a test can prove what phigate forwarded
— and what it never forwarded. Its routes:
  /json/patient      a JSON body with PHI (SSN, email, phone) in known places
  /text              a text/plain body with an SSN and an email
  /chunked           a chunked JSON response written in several pieces
  /big?n=N           a chunked JSON array of N records (for streaming/RSS tests)
  /gzip              a gzip-encoded JSON body, whatever the client asked for
  /deflate           a zlib-wrapped deflate JSON body (Content-Encoding: deflate)
  /gzip-chunked      the gzip body sent in chunks of 5 bytes
  /gzip-badcrc       a gzip body whose CRC-32 is wrong
  /gzip-truncated    a gzip body cut short (chunked, so the framing itself is fine)
  /br                Content-Encoding: br (phigate cannot decode it)
  /binary            application/octet-stream
  /slow              answers after a delay given by ?s= seconds
  anything else      echo: 200, JSON {"method","path","headers","body_len"}
"""
import gzip
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import zlib

import harness as h

PATIENT = {
    "resourceType": "Patient",
    "patient": [
        {"name": "Ann Lee", "ssn": "123-45-6789", "email": "ann.lee@example.org",
         "note": "call 555-867-5309 or mail ann.lee@example.org", "mrn": 1001},
        {"name": "Bob Roe", "ssn": "987-65-4321", "email": "bob@example.com",
         "note": "SSN on file: 536-22-8741", "mrn": 1002},
    ],
    "escaped": "ESCAPED_SSN",
}
PHI_STRINGS = ["123-45-6789", "412-39-7710", "987-65-4321", "536-22-8741", "ann.lee@example.org",
               "bob@example.com"]
def patient_json():
    # The JSON text carries an SSN written with \\u escapes, which a masker must unescape to see.
    return json.dumps(PATIENT).replace("ESCAPED_SSN", "\\u0034\\u0031\\u0032-39-7710").encode()


TEXT = "Patient Ann Lee, SSN 412-39-7710, contact ann.lee@example.org.\nNothing else.\n"


class Recorder:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()

    def add(self, r):
        with self.lock:
            self.requests.append(r)

    def clear(self):
        with self.lock:
            self.requests.clear()

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None


def _handler(rec):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _body(self):
            te = self.headers.get("Transfer-Encoding", "")
            if te.lower() == "chunked":
                out = b""
                while True:
                    line = self.rfile.readline()
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out, True
                    out += self.rfile.read(size)
                    self.rfile.read(2)
            n = int(self.headers.get("Content-Length", "0") or 0)
            return (self.rfile.read(n) if n else b""), False

        def _send(self, status, body, ctype="application/json", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _chunked(self, pieces, ctype="application/json"):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for p in pieces:
                if p:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def handle_any(self):
            body, chunked = self._body()
            path = self.path
            rec.add({"method": self.command, "path": path, "headers": dict(self.headers.items()),
                     "header_list": list(self.headers.items()), "body": body,
                     "chunked": chunked})
            route = path.split("?")[0]
            if route.endswith("/json/patient"):
                return self._send(200, patient_json())
            if route.endswith("/text"):
                return self._send(200, TEXT.encode(), "text/plain; charset=utf-8")
            if route.endswith("/chunked"):
                raw = patient_json()
                return self._chunked([raw[i:i + 7] for i in range(0, len(raw), 7)])
            if route.endswith("/big"):
                n = int(path.split("n=")[1]) if "n=" in path else 1000
                rec_ = b'{"id":%d,"ssn":"412-39-7710","email":"x%d@example.org","pad":"' \
                       + b"p" * 200 + b'"}'
                def gen():
                    yield b"["
                    batch = []
                    for i in range(n):
                        batch.append((b"," if i else b"") + rec_ % (i, i))
                        if len(batch) == 200:
                            yield b"".join(batch)
                            batch = []
                    yield b"".join(batch) + b"]"
                return self._chunked(gen())
            if route.endswith("/gzip"):
                return self._send(200, gzip.compress(json.dumps(PATIENT).encode()),
                                  extra=[("Content-Encoding", "gzip")])
            if route.endswith("/deflate"):
                return self._send(200, zlib.compress(patient_json()),
                                  extra=[("Content-Encoding", "deflate")])
            if route.endswith("/gzip-chunked") or route.endswith("/gzip-truncated"):
                g = gzip.compress(patient_json())
                if route.endswith("/gzip-truncated"):
                    g = g[:len(g) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(g), 5):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(g[i:i + 5]), g[i:i + 5]))
                self.wfile.write(b"0\r\n\r\n")
                return None
            if route.endswith("/gzip-badcrc"):
                g = bytearray(gzip.compress(patient_json()))
                g[-8] ^= 0xFF
                return self._send(200, bytes(g), extra=[("Content-Encoding", "gzip")])
            if route.endswith("/br"):
                return self._send(200, b"\x0b\x02\x80{}\x03", extra=[("Content-Encoding", "br")])
            if route.endswith("/binary"):
                return self._send(200, b"\x00\x01123-45-6789", "application/octet-stream")
            if route.endswith("/slow"):
                time.sleep(float(path.split("s=")[1]) if "s=" in path else 5)
                return self._send(200, b'{"slow":true}')
            echo = {"method": self.command, "path": path, "headers": dict(self.headers.items()),
                    "body_len": len(body), "chunked": chunked}
            return self._send(200, json.dumps(echo).encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any

    return H


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_recorder():
    rec = Recorder()
    srv = _Server(("127.0.0.1", 0), _handler(rec))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    h.on_exit(srv.shutdown)
    rec.port = srv.server_address[1]
    return rec


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  default_type application/json;
  types {{ application/json json; application/fhir+ndjson ndjson; application/fhir+xml xml; text/html html; text/plain txt; }}
  keepalive_requests 1000000;
  upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 64; }}
  {gzip}
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    {gzip_static}
    location /proxy/ {{
      proxy_pass http://origin/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


# The compression variant (start_nginx(..., gzip=True)): responses compressed when the client
# accepts gzip, and /static/ serving a file's pre-compressed .gz twin to every client.
NGINX_GZIP = ("gzip on; gzip_types application/json text/plain; gzip_min_length 0; "
              "gzip_proxied any;")
NGINX_GZIP_STATIC = "location /static/ { gzip_static always; }"


def start_nginx(fixtures, origin_port=None, workers=1, gzip=False):
    """nginx serving `fixtures` ({relpath: bytes}) from a temp root; /proxy/ passes to
    origin_port (itself when None). gzip: the compression variant (NGINX_GZIP). Returns
    (port, dir)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        raise h.Skip("nginx is not installed (scripts/install-deps.sh)")
    d = h.tmpdir("nginx")
    www = os.path.join(d, "www")
    for rel, data in fixtures.items():
        p = os.path.join(www, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(www, exist_ok=True)
    port = h.free_port()
    user = "user root;" if os.getuid() == 0 else ""
    conf = NGINX_CONF.format(dir=d, port=port, origin_port=origin_port or port, user=user,
                             gzip=NGINX_GZIP if gzip else "",
                             gzip_static=NGINX_GZIP_STATIC if gzip else "")
    conf = conf.replace("worker_processes 1;", f"worker_processes {workers};")
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    proc = subprocess.Popen([nginx, "-c", os.path.join(d, "nginx.conf"), "-p", d],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    h.on_exit(stop)
    if not h.wait_port(port, proc, timeout=20):
        raise AssertionError("nginx did not start: " + h.tail(os.path.join(d, "error.log")))
    return port, d


def raw_exchange(port, data, timeout=10.0, read_all=True):
    """Sends raw bytes and returns everything read until the server closes (or `timeout`
    passes without data when read_all is False)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def curl(args, timeout=60, input=None):
    """Runs curl; returns (rc, stdout, stderr) as text."""
    if not shutil.which("curl"):
        raise h.Skip("curl is not installed")
    return h.run(["curl", "-sS"] + list(args), timeout=timeout, input=input)


def http_config(resources, roles, group_roles, extra_gateway=None, approvals=None):
    cfg = {
        "gateway": {"node_id": "gw-http", "data_dir": "@DATA_DIR@",
                    "listen": {"http": "127.0.0.1:@PORT@"}},
        "identity": {"issuers": [{"name": "local", "type": "local"}],
                     "group_roles": group_roles},
        "resources": resources,
        "roles": roles,
        "audit": {"durability": "strict"},
    }
    if extra_gateway:
        cfg["gateway"].update(extra_gateway)
    if approvals:
        cfg["approvals"] = approvals
    return cfg
