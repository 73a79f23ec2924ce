#!/usr/bin/env python3
"""Garbage on a live session: random frames, truncated messages and random bytes before and after
authentication never crash or wedge phigate; each bad connection ends (FATAL or close) and good
sessions keep working. Deterministic seed, so a failure reproduces."""
import random
import socket
import struct

import harness as h  # first: re-executes under Debian's python3 that has psycopg2
import pgwire

pg = gw = None
TOKEN = None


def setup_module():
    global pg, gw, TOKEN
    pg = h.start_postgres(patients=5)
    cfg = h.default_config(pg)
    cfg["gateway"]["startup_timeout"] = "2s"
    gw = h.start_phigate(pg, cfg)
    TOKEN = gw.token("fuzz", "dbas")


def drain(sock, timeout=5):
    """Reads until EOF or timeout; True if the connection ended."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def good_session_works():
    c = gw.connect(TOKEN)
    cur = c.cursor()
    cur.execute("SELECT 42")
    h.eq(cur.fetchone(), (42,))
    c.close()


def test_random_bytes_before_startup():
    rng = random.Random(1)
    for _ in range(60):
        s = socket.create_connection(("127.0.0.1", gw.port))
        s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
        h.check(drain(s), "connection with random startup bytes did not end")
        s.close()
    h.check(gw.alive(), "phigate died")
    good_session_works()


def test_random_frames_after_authentication():
    rng = random.Random(2)
    types = b"QPBEDCSHFdcfXpz\x00\xff"
    for i in range(80):
        c = pgwire.Conn("127.0.0.1", gw.port)
        status, _ = c.startup("fuzz", "clinic", TOKEN)
        h.eq(status, "ok")
        try:
            for _ in range(rng.randrange(1, 6)):
                t = bytes([types[rng.randrange(len(types))]])
                body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
                if rng.random() < 0.2:  # a lying length field
                    bad = rng.choice([0, 3, 5, 2**31 - 1, 2**32 - 1])
                    c.sock.sendall(t + struct.pack("!I", bad) + body)
                else:
                    c.send(t, body)
            c.send(b"S")
        except OSError:
            pass  # phigate already ended the session: that is an allowed outcome
        # The session either answers and stays usable, or ends; it must not hang.
        c.sock.settimeout(5)
        try:
            while True:
                typ, _ = c.read()
                if typ == b"Z":
                    break
        except (EOFError, OSError):
            pass
        c.close()
    h.check(gw.alive(), "phigate died")
    good_session_works()
    rc, out, err = gw.audit_verify()
    h.eq(rc, 0, f"audit verify after fuzzing: {out} {err}")


if __name__ == "__main__":
    h.main(globals())
