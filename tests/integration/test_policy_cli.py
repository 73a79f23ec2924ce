#!/usr/bin/env python3
"""`phigate policy test` shows the decision a session would get, without any traffic, using the
same classifier and snapshot code as the proxy."""
import json
import os

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

EXAMPLE = os.path.join(os.environ.get("PHIGATE_SRC", "."), "examples", "phigate.yaml")


def decide(sub, groups, resource, sql):
    rc, out, err = h.run([h.phigate_bin(), "policy", "test", "--config", EXAMPLE, "--sub", sub,
                          "--groups", groups, "--resource", resource, "--sql", sql, "--json"])
    h.eq(rc, 0, err)
    return json.loads(out)


def test_select_allowed_for_analyst():
    d = decide("alice", "analysts", "clinic", "SELECT mrn FROM patients WHERE id = 1")
    h.eq(d["decision"], "allow")
    h.eq(d["statement_kinds"], "select")


def test_bulk_delete_denied_with_rule():
    d = decide("alice", "analysts", "clinic", "/* sneaky */ DeLeTe FROM visits")
    h.eq(d["decision"], "deny")
    h.check(d["rule"] != "", f"no rule named: {d}")


def test_identity_change_denied():
    d = decide("alice", "analysts", "clinic", "SELECT set_config('role', 'postgres', false)")
    h.eq(d["decision"], "deny")


def test_resource_without_role_denied():
    d = decide("alice", "analysts", "labs-api", "SELECT 1")
    h.eq(d["decision"], "deny")
    h.eq(d["code"], "28000")


def test_text_output():
    rc, out, _ = h.run([h.phigate_bin(), "policy", "test", "--config", EXAMPLE, "--sub", "x",
                        "--groups", "analysts", "--resource", "clinic", "--sql", "SELECT 1"])
    h.eq(rc, 0)
    h.check("decision: allow" in out, out)


if __name__ == "__main__":
    h.main(globals())
