#!/usr/bin/env python3
"""`phigate policy test` shows the decision a session would get, without any traffic, using the
same classifier and snapshot code as the proxy."""
import json
import os

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

EXAMPLE = os.path.join(os.environ.get("PHIGATE_SRC", "."), "examples", "phigate.yaml")


EXIT = {"allow": 0, "deny": 1, "hold": 3}  # the exit status reflects the verdict


def decide(sub, groups, resource, sql):
    rc, out, err = h.run([h.phigate_bin(), "policy", "test", "--config", EXAMPLE, "--sub", sub,
                          "--groups", groups, "--resource", resource, "--sql", sql, "--json"])
    d = json.loads(out)
    h.eq(rc, EXIT[d["decision"]], f"exit status for {d['decision']}: {err}")
    return d


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


def test_classification_in_json():
    d = decide("alice", "analysts", "clinic",
               "SELECT p.mrn, lower(p.last_name) FROM patients p WHERE p.id = 1 LIMIT 1; "
               "UPDATE visits SET notes = 'x' WHERE id = 2")
    h.eq(d["statement_kinds"], "select,update")
    s0, s1 = d["statements"]
    h.eq(s0["kind"], "select")
    h.eq(s0["writes"], False)
    h.eq(s0["tables"], [{"name": "patients", "ops": "read"}])
    h.eq(s0["columns"], ["p.mrn", "p.last_name", "p.id"])
    h.eq(s0["functions"], ["lower"])
    h.eq(s0["has_limit"], True)
    h.eq(s1["kind"], "update")
    h.eq(s1["writes"], True)
    h.eq(s1["has_where"], True)
    h.eq(s1["tables"], [{"name": "visits", "ops": "update"}])


def test_execute_resolves_against_prepare_in_same_string():
    d = decide("alice", "analysts", "clinic", "PREPARE q AS DELETE FROM visits; EXECUTE q")
    h.eq(d["decision"], "deny")
    h.eq(d["rule"], "bulk-change")
    d = decide("alice", "analysts", "clinic", "EXECUTE unknown_name")
    h.eq(d["decision"], "deny")
    h.eq(d["rule"], "prepared")


def test_text_output():
    rc, out, _ = h.run([h.phigate_bin(), "policy", "test", "--config", EXAMPLE, "--sub", "x",
                        "--groups", "analysts", "--resource", "clinic", "--sql", "SELECT 1"])
    h.eq(rc, 0)
    h.check("decision: allow" in out, out)
    h.check("kind:      select" in out, out)
    rc, out, _ = h.run([h.phigate_bin(), "policy", "test", "--config", EXAMPLE, "--sub", "x",
                        "--groups", "analysts", "--resource", "clinic", "--sql", "DROP TABLE t"])
    h.eq(rc, 1, out)
    h.check("decision: deny" in out and "tables:    t (ddl)" in out, out)


if __name__ == "__main__":
    h.main(globals())
