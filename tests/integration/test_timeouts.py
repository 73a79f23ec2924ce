#!/usr/bin/env python3
"""A client that connects and stalls during start-up is disconnected after
gateway.startup_timeout, so idle or trickling sockets cannot pile up; an authenticated idle
session is not affected."""
import socket
import struct
import time

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

pg = gw = None


def setup_module():
    global pg, gw
    pg = h.start_postgres(patients=5)
    cfg = h.default_config(pg)
    cfg["gateway"]["startup_timeout"] = "1s"
    gw = h.start_phigate(pg, cfg)


def closed_within(sock, seconds):
    sock.settimeout(seconds)
    t0 = time.time()
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return time.time() - t0
    except socket.timeout:
        return None
    except OSError:
        return time.time() - t0


def test_silent_client_disconnected():
    s = socket.create_connection(("127.0.0.1", gw.port))
    took = closed_within(s, 10)
    s.close()
    h.check(took is not None, "phigate kept a silent connection open for 10 s")
    print(f"  closed after {took:.1f}s")


def test_client_stalling_at_password_prompt_disconnected():
    s = socket.create_connection(("127.0.0.1", gw.port))
    body = struct.pack("!I", 196608) + b"user\0x\0database\0clinic\0\0"
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    took = closed_within(s, 10)  # reads the auth request, then EOF
    s.close()
    h.check(took is not None, "phigate kept a stalled login open for 10 s")


def test_authenticated_idle_session_survives():
    c = gw.connect(gw.token("ida", "analysts"))
    time.sleep(2.5)
    cur = c.cursor()
    cur.execute("SELECT 1")
    h.eq(cur.fetchone(), (1,))
    c.close()


if __name__ == "__main__":
    h.main(globals())
