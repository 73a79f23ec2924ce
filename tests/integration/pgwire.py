"""A tiny raw PostgreSQL v3 frontend (stdlib only) for what libpq hides from tests:
the exact SQLSTATE of a FATAL during startup, whether the server closed the socket after it,
CancelRequests with chosen keys, and reading a result at a chosen (slow) pace.

Protocol reference: PostgreSQL docs, "Frontend/Backend Protocol" §55.2 (flow) and §55.7 (formats).
"""
import socket
import ssl as _ssl
import struct
import time

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
CANCEL_REQUEST = 80877102


class WireError(Exception):
    pass


def parse_fields(payload):
    """ErrorResponse / NoticeResponse fields → dict keyed by the one-letter code (S, V, C, M, ...)."""
    out = {}
    i = 0
    while i < len(payload) and payload[i] != 0:
        code = chr(payload[i])
        j = payload.index(b"\0", i + 1)
        out[code] = payload[i + 1:j].decode("utf-8", "replace")
        i = j + 1
    return out


class Conn:
    def __init__(self, host, port, timeout=15.0, use_ssl=False):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.pid = self.key = None
        self.params = {}
        if use_ssl:
            self.sock.sendall(struct.pack("!II", 8, SSL_REQUEST))
            if self.sock.recv(1) != b"S":
                raise WireError("server refused SSL")
            ctx = _ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = _ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- framing
    def send(self, typ, payload=b""):
        self.sock.sendall(typ + struct.pack("!I", len(payload) + 4) + payload)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk

    def read(self):
        """Returns (type byte string, payload)."""
        self._fill(5)
        typ = self.buf[:1]
        (ln,) = struct.unpack("!I", self.buf[1:5])
        self._fill(1 + ln)
        payload = self.buf[5:1 + ln]
        self.buf = self.buf[1 + ln:]
        return typ, payload

    def closed_by_peer(self, wait=2.0):
        """True if the server closes the socket (EOF) within `wait` seconds, sending nothing more."""
        self.sock.settimeout(wait)
        try:
            extra = self.buf or self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return True
        return extra == b""

    # -- startup
    def startup(self, user, database, password, **params):
        """Runs the startup flow. Returns ("ok", None) on ReadyForQuery, ("error", fields) on
        ErrorResponse."""
        body = struct.pack("!I", PROTOCOL_3)
        for k, v in [("user", user), ("database", database)] + list(params.items()):
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        while True:
            typ, p = self.read()
            if typ == b"R":
                (code,) = struct.unpack("!I", p[:4])
                if code == 0:
                    continue
                if code == 3:  # AuthenticationCleartextPassword
                    self.send(b"p", password.encode() + b"\0")
                    continue
                raise WireError(f"unsupported authentication request {code}")
            if typ == b"E":
                return "error", parse_fields(p)
            if typ == b"S":
                k, v = p.split(b"\0")[:2]
                self.params[k.decode()] = v.decode()
            elif typ == b"K":
                self.pid, self.key = struct.unpack("!II", p)
            elif typ == b"Z":
                return "ok", None

    # -- simple query
    def query(self, sql):
        self.send(b"Q", sql.encode() + b"\0")

    def collect(self):
        """Reads until ReadyForQuery; returns a dict with rows, tags, errors, notices."""
        res = {"rows": [], "tags": [], "errors": [], "notices": []}
        while True:
            typ, p = self.read()
            if typ == b"D":
                res["rows"].append(decode_datarow(p))
            elif typ == b"C":
                res["tags"].append(p.rstrip(b"\0").decode())
            elif typ == b"E":
                res["errors"].append(parse_fields(p))
            elif typ == b"N":
                res["notices"].append(parse_fields(p))
            elif typ == b"Z":
                res["status"] = p.decode()
                return res


def decode_datarow(p):
    (n,) = struct.unpack("!H", p[:2])
    i = 2
    out = []
    for _ in range(n):
        (ln,) = struct.unpack("!i", p[i:i + 4])
        i += 4
        if ln < 0:
            out.append(None)
        else:
            out.append(p[i:i + ln].decode("utf-8", "replace"))
            i += ln
    return out


def connect_error(host, port, user, database, password, **params):
    """Attempts a startup; returns (fields or None, closed_after). fields is None on success."""
    c = Conn(host, port)
    try:
        status, fields = c.startup(user, database, password, **params)
        if status == "ok":
            return None, False
        return fields, c.closed_by_peer()
    finally:
        c.close()


def send_cancel(host, port, pid, key):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST, pid, key))
        s.settimeout(5)
        try:
            s.recv(1)  # the server closes the connection without replying
        except OSError:
            pass


def wait_until(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# --------------------------------------------------------------------------------------------
# Extended query protocol and raw framing helpers (§55.2.3, §55.7). Each *_msg builds the bytes of
# one frontend message, so that tests can pipeline several in a single write.


def _b(s):
    return s if isinstance(s, (bytes, bytearray)) else str(s).encode()


def frame(typ, payload=b""):
    """One frontend message: type byte + int32 length (self-inclusive) + payload."""
    return typ + struct.pack("!I", len(payload) + 4) + payload


def parse_msg(name, sql, param_oids=()):
    body = _b(name) + b"\0" + _b(sql) + b"\0" + struct.pack("!H", len(param_oids))
    for oid in param_oids:
        body += struct.pack("!I", oid)
    return frame(b"P", body)


def bind_msg(portal, stmt, params=(), formats=(), result_formats=()):
    """params: str/bytes values or None for NULL; formats: per-parameter format codes (0 text,
    1 binary), or one code for all, or () for all text."""
    body = _b(portal) + b"\0" + _b(stmt) + b"\0"
    body += struct.pack("!H", len(formats)) + b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!H", len(params))
    for v in params:
        if v is None:
            body += struct.pack("!i", -1)
        else:
            v = _b(v)
            body += struct.pack("!i", len(v)) + v
    body += struct.pack("!H", len(result_formats))
    body += b"".join(struct.pack("!h", f) for f in result_formats)
    return frame(b"B", body)


def describe_msg(kind, name=""):
    return frame(b"D", _b(kind) + _b(name) + b"\0")


def execute_msg(portal="", max_rows=0):
    return frame(b"E", _b(portal) + b"\0" + struct.pack("!i", max_rows))


def close_msg(kind, name=""):
    return frame(b"C", _b(kind) + _b(name) + b"\0")


def sync_msg():
    return frame(b"S")


def flush_msg():
    return frame(b"H")


def function_call_msg(oid, args=(), arg_formats=(), result_format=0):
    body = struct.pack("!I", oid) + struct.pack("!H", len(arg_formats))
    body += b"".join(struct.pack("!h", f) for f in arg_formats)
    body += struct.pack("!H", len(args))
    for v in args:
        if v is None:
            body += struct.pack("!i", -1)
        else:
            v = _b(v)
            body += struct.pack("!i", len(v)) + v
    body += struct.pack("!h", result_format)
    return frame(b"F", body)


def send_raw(conn, data):
    """Writes bytes as they are: several messages at once, or deliberately malformed ones."""
    conn.sock.sendall(data)


def read_until_ready(conn):
    """Reads messages up to and including ReadyForQuery; returns [(type, payload), ...]."""
    out = []
    while True:
        typ, p = conn.read()
        out.append((typ, p))
        if typ == b"Z":
            return out


def types_of(msgs):
    """The message types of read_until_ready()'s result as one string, e.g. "12TDCZ"."""
    return "".join(t.decode() for t, _ in msgs)


def errors_of(msgs):
    return [parse_fields(p) for t, p in msgs if t == b"E"]


def rows_of(msgs):
    return [decode_datarow(p) for t, p in msgs if t == b"D"]
