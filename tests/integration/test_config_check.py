#!/usr/bin/env python3
"""`phigate config check FILE`: 0 for a good file; non-zero with the offending line number for
unknown keys, bad values, dangling references and YAML syntax errors. No PostgreSQL needed."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

D = None

GOOD = """\
gateway:
  node_id: gw-test
  data_dir: @DIR@/data
  listen:
    postgres: 127.0.0.1:25432
identity:
  issuers:
    - { name: local, type: local }
  group_roles:
    analysts: [analyst]
    dbas: [dba]
resources:
  - name: clinic
    type: postgres
    upstream: 127.0.0.1:5432
    database: clinic
    upstream_tls: disable
    credentials: { username: phigate_clinic, password_file: @DIR@/pw }
roles:
  analyst:
    resources: [clinic]
    rules:
      - { match: { statement: [select] }, action: allow }
      - { match: { statement: [delete, update], where: absent }, action: deny, message: "bulk change" }
  dba:
    resources: [clinic]
    rules:
      - { match: { statement: [select, insert, update, delete, ddl, other] }, action: allow }
    allow_function_call: true
audit:
  durability: strict
"""


def setup_module():
    global D
    D = harness.tmpdir("cfg")
    os.makedirs(os.path.join(D, "data"))
    with open(os.path.join(D, "pw"), "w") as f:
        f.write("secret\n")


def write(name, text):
    p = os.path.join(D, name)
    with open(p, "w") as f:
        f.write(text.replace("@DIR@", D))
    return p


def check_file(text, name="c.yaml"):
    rc, out, err = harness.run([harness.phigate_bin(), "config", "check", write(name, text)])
    return rc, out + err


def line_of(text, needle):
    for i, l in enumerate(text.splitlines(), 1):
        if needle in l:
            return i
    raise AssertionError(f"{needle!r} not in text")


def mentions_line(out, n):
    return re.search(rf"(line[ :]*{n}\b)|(:{n}(:\d+)?\b)", out) is not None


def expect_error(text, needle, what, name="bad.yaml"):
    n = line_of(text, needle)
    rc, out = check_file(text, name)
    check(rc != 0, f"{what}: config check accepted it (rc 0): {out}")
    check(mentions_line(out, n), f"{what}: output should name line {n}: {out!r}")
    check("Traceback" not in out and "terminate called" not in out, f"{what}: crashed: {out}")
    print(f"  {what}: {out.strip().splitlines()[0] if out.strip() else '<no output>'}")


def test_good_file():
    rc, out = check_file(GOOD, "good.yaml")
    eq(rc, 0, f"good config rejected: {out}")


def test_unknown_key():
    bad = GOOD.replace("  node_id: gw-test\n", "  node_id: gw-test\n  bogus_key: 1\n")
    expect_error(bad, "bogus_key", "unknown key under gateway")


def test_unknown_key_in_rule():
    bad = GOOD.replace('message: "bulk change" }\n',
                       'message: "bulk change" }\n      - { match: { statment: [select] }, action: allow }\n', 1)
    check("statment" in bad, "fixture")
    expect_error(bad, "statment", "misspelt key inside a rule")


def test_bad_action():
    bad = GOOD.replace("{ match: { statement: [select] }, action: allow }",
                       "{ match: { statement: [select] }, action: alow }")
    expect_error(bad, "alow", "unknown action")


def test_unknown_resource_reference():
    bad = GOOD.replace("  dba:\n    resources: [clinic]", "  dba:\n    resources: [clinc]")
    expect_error(bad, "clinc", "role names an unknown resource")


def test_bad_duration():
    bad = GOOD.replace("audit:\n  durability: strict",
                       "audit:\n  durability: strict\n  checkpoint: { every_events: 1000, every: soon }")
    expect_error(bad, "soon", "duration that is not a duration")


def test_yaml_syntax_error():
    bad = GOOD.replace("    database: clinic\n", "    database: [clinic\n")
    rc, out = check_file(bad, "syntax.yaml")
    check(rc != 0, f"YAML syntax error accepted: {out}")
    check(re.search(r"line[ :]*\d+|:\d+", out), f"syntax error without a line number: {out!r}")


def test_missing_file():
    rc, out, err = harness.run([harness.phigate_bin(), "config", "check",
                                os.path.join(D, "does-not-exist.yaml")])
    check(rc != 0, "missing file accepted")
    check("does-not-exist.yaml" in out + err, f"should name the file: {out + err!r}")


if __name__ == "__main__":
    harness.main(globals())
