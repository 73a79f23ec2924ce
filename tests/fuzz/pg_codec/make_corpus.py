#!/usr/bin/env python3
"""Writes the seed corpus for the pg_codec fuzz target: valid messages of every kind plus a few
malformed ones. Run once from anywhere; rerun after adding message kinds."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def frame(t, body=b""):
    return t.encode() + struct.pack("!i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(params, version=196608):
    body = struct.pack("!I", version) + b"".join(cstr(k) + cstr(v) for k, v in params) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def value(v):
    return struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v


def bind(portal, stmt, fmts, params, rfmts):
    return frame("B", cstr(portal) + cstr(stmt) + struct.pack("!H", len(fmts))
                 + b"".join(struct.pack("!h", f) for f in fmts) + struct.pack("!H", len(params))
                 + b"".join(value(p) for p in params) + struct.pack("!H", len(rfmts))
                 + b"".join(struct.pack("!h", f) for f in rfmts))


def field(name, col, typ):
    return cstr(name) + struct.pack("!IhIhih", 16384, col, typ, -1, -1, 0)


SEEDS = {
    "startup_then_query": startup([("user", "alice"), ("database", "clinic")])
    + frame("Q", cstr("SELECT 1")),
    "ssl_request": struct.pack("!iI", 8, 80877103),
    "gssenc_request": struct.pack("!iI", 8, 80877104),
    "cancel_request": struct.pack("!iIii", 16, 80877102, 4242, 99),
    "frontend_extended": frame("P", cstr("s1") + cstr("SELECT $1") + struct.pack("!HI", 1, 23))
    + bind("", "s1", [0], [b"42"], [1]) + frame("D", b"P" + cstr("")) + frame("E", cstr("") + struct.pack("!i", 0))
    + frame("S"),
    "frontend_function_call": frame("F", struct.pack("!IHhH", 1598, 1, 1, 2) + value(b"\x01") + value(None) + struct.pack("!h", 1))
    + frame("C", b"S" + cstr("s1")) + frame("H") + frame("X"),
    "frontend_sasl": frame("p", cstr("SCRAM-SHA-256") + value(b"n,,n=,r=abc"))
    + frame("p", b"c=biws,r=abcdef,p=AAAA") + frame("p", cstr("token")) + frame("f", cstr("oops")),
    "backend_login": frame("R", struct.pack("!i", 0)) + frame("S", cstr("server_version") + cstr("16.2"))
    + frame("S", cstr("client_encoding") + cstr("UTF8")) + frame("K", struct.pack("!ii", 7, 8)) + frame("Z", b"I"),
    "backend_auth": frame("R", struct.pack("!i", 5) + b"\x01\x02\x03\x04")
    + frame("R", struct.pack("!i", 10) + cstr("SCRAM-SHA-256") + b"\0")
    + frame("R", struct.pack("!i", 11) + b"r=abc,s=c2FsdA==,i=4096") + frame("R", struct.pack("!i", 12) + b"v=abc"),
    "backend_results": frame("T", struct.pack("!H", 2) + field("id", 1, 23) + field("ssn", 2, 25))
    + frame("D", struct.pack("!H", 2) + value(b"1") + value(None)) + frame("C", cstr("SELECT 1")) + frame("Z", b"T"),
    "backend_error_notice": frame("E", b"S" + cstr("ERROR") + b"C" + cstr("42P01") + b"M" + cstr("no table") + b"\0")
    + frame("N", b"S" + cstr("NOTICE") + b"M" + cstr("hi") + b"\0"),
    "backend_copy": frame("G", struct.pack("!bHh", 0, 1, 0)) + frame("H", struct.pack("!bHhh", 1, 2, 1, 0))
    + frame("W", struct.pack("!bH", 0, 0)) + frame("d", b"1\t2\n") + frame("c") + frame("C", cstr("COPY 1")),
    "backend_misc": frame("t", struct.pack("!HII", 2, 23, 25)) + frame("A", struct.pack("!i", 5) + cstr("ch") + cstr("payload"))
    + frame("v", struct.pack("!Ii", 0, 1) + cstr("_pq_.x")) + frame("V", value(b"ok")) + frame("1") + frame("2")
    + frame("3") + frame("n") + frame("s") + frame("I"),
    "scram_server_messages": b"r=rABC,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    "bad_startup_version_3_2": startup([("user", "alice")], version=(3 << 16) | 2),
    "bad_startup_length": struct.pack("!iI", 4, 196608),
    "bad_frame_negative_length": b"D\xff\xff\xff\xff" + b"\0" * 8,
    "bad_bind_count_overflow": frame("B", cstr("") + cstr("") + struct.pack("!HH", 0, 0xFFFF) + value(b"x")),
    "bad_datarow_negative_length": frame("D", struct.pack("!Hi", 1, -2)),
}

os.makedirs(HERE, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
print(f"wrote {len(SEEDS)} seeds to {HERE}")
