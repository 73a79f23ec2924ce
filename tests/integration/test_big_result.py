#!/usr/bin/env python3
"""Results stream through phigate in bounded memory: a 1M-row result to a fast reader (psql) and a
~230 MB result to a client that reads slowly must keep the gateway's resident set below 200 MB.
A gateway that buffers what the client has not read yet would hold the whole result."""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

LIMIT_KB = 200 * 1024
pg = gw = None
TOKEN = None


def setup_module():
    global pg, gw, TOKEN
    pg = harness.start_postgres(patients=20)
    gw = harness.start_phigate(pg)
    TOKEN = gw.token("alice", ["analysts"])


class RssSampler:
    def __init__(self, gw, every=0.05):
        self.gw, self.every = gw, every
        self.peak = self.first = gw.rss_kb()
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.gw.rss_kb())
            self.samples += 1
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


def test_fast_reader_1m_rows():
    with RssSampler(gw) as s:
        t0 = time.time()
        rc, out, err = gw.psql(TOKEN, "SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) g",
                               args=["-o", "/dev/null"], timeout=300)
        took = time.time() - t0
    eq(rc, 0, f"psql 1M rows: {err}")
    eq(err, "", "stderr")
    print(f"  1M rows to psql in {took:.1f}s; phigate VmRSS start {s.first // 1024} MB, "
          f"peak {s.peak // 1024} MB ({s.samples} samples)")
    check(s.peak < LIMIT_KB, f"phigate VmRSS peaked at {s.peak // 1024} MB (limit 200 MB)")


def drain(sock, paced_until=0.0, chunk=1 << 20):
    """Reads protocol messages until ReadyForQuery; counts DataRows. Before paced_until it reads
    16 kB at a time with pauses (a slow client)."""
    buf = bytearray()
    rows, tags, errors = 0, [], []
    while True:
        slow = time.time() < paced_until
        data = sock.recv(16384 if slow else chunk)
        if not data:
            raise EOFError("gateway closed the connection mid-result")
        buf += data
        pos = 0
        n = len(buf)
        while n - pos >= 5:
            t = buf[pos]
            (ln,) = struct.unpack_from("!I", buf, pos + 1)
            if n - pos < 1 + ln:
                break
            if t == 0x44:  # 'D'
                rows += 1
            elif t == 0x43:  # 'C'
                tags.append(bytes(buf[pos + 5:pos + ln]).decode())
            elif t == 0x45:  # 'E'
                errors.append(pgwire.parse_fields(bytes(buf[pos + 5:pos + 1 + ln])))
            elif t == 0x5A:  # 'Z'
                return rows, tags, errors
            pos += 1 + ln
        del buf[:pos]
        if slow:
            time.sleep(0.02)


def test_slow_reader_bounded():
    c = pgwire.Conn("127.0.0.1", gw.port, timeout=120)
    status, fields = c.startup("tester", "clinic", TOKEN)
    eq(status, "ok", f"startup: {fields}")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    with RssSampler(gw) as s:
        c.query("SELECT g, repeat('x', 200) FROM generate_series(1, 1000000) g")
        t0 = time.time()
        rows, tags, errors = drain(c.sock, paced_until=t0 + 6.0)
        took = time.time() - t0
    c.close()
    eq(errors, [], "errors")
    eq(tags, ["SELECT 1000000"], "command tag")
    eq(rows, 1000000, "rows")
    print(f"  ~230 MB to a slow reader in {took:.1f}s; phigate VmRSS start {s.first // 1024} MB, "
          f"peak {s.peak // 1024} MB")
    check(s.peak < LIMIT_KB, f"phigate VmRSS peaked at {s.peak // 1024} MB with a slow reader "
                             f"(limit 200 MB): results are not streamed with backpressure")


def test_many_sessions_memory():
    # 20 concurrent sessions each pulling 100k rows: per-session memory must be bounded too
    errs = []

    def one():
        rc, out, err = gw.psql(TOKEN, "SELECT g, repeat('y', 300) FROM generate_series(1, 100000) g",
                               args=["-o", "/dev/null"], timeout=300)
        if rc != 0:
            errs.append(err)

    with RssSampler(gw) as s:
        ts = [threading.Thread(target=one) for _ in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    eq(errs, [], "concurrent sessions failed")
    print(f"  20 x 100k rows concurrently: phigate VmRSS peak {s.peak // 1024} MB")
    check(s.peak < LIMIT_KB, f"phigate VmRSS peaked at {s.peak // 1024} MB (limit 200 MB)")


if __name__ == "__main__":
    harness.main(globals())
