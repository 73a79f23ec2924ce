#!/usr/bin/env python3
"""End-to-end masking benchmark (issue 5): a 1M-row, 10-column SELECT of PHI-shaped data
(SSN, email, phone, MRN, free-text notes) to psql, in one run, alternating per round:

  direct      psql straight to PostgreSQL
  unmasked    psql through phigate, a role without masking (token auth, policy, strict audit)
  masked      psql through phigate, role with `masking: phi` (column rule on ssn, partial email,
              detectors US_SSN/EMAIL_ADDRESS/PHONE_NUMBER + custom MRN on every other text value)

Reports wall seconds (best and median of R rounds), rows/s, the masked/direct ratio (target
>= 0.8) and the gateway's peak VmRSS during the masked runs (target < 100 MB).

  python3 bench/mask/run.py            # R=3, ROWS=1000000, PHIGATE_BIN=build/dev/src/phigate
"""
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("PHIGATE_BIN", os.path.join(ROOT, "build", "dev", "src", "phigate"))
import harness  # noqa: E402

R = int(os.environ.get("R", "3"))
ROWS = int(os.environ.get("ROWS", "1000000"))
SQL = "SELECT * FROM bench_patients"


def main():
    pg = harness.start_postgres(load_demo=False)
    pg.admin(f"""
CREATE TABLE bench_patients AS
SELECT g AS id,
       'MRN-' || lpad(g::text, 8, '0') AS mrn,
       (ARRAY['Ann','Bob','Cara','Dan','Eve'])[1 + g % 5] AS first_name,
       (ARRAY['Lee','Kim','Diaz','Moore','Okafor'])[1 + g % 5] AS last_name,
       lpad((1 + g % 899)::text, 3, '0') || '-' || lpad((1 + g % 99)::text, 2, '0') || '-' ||
         lpad((1 + g % 9999)::text, 4, '0') AS ssn,
       'user' || g || '@example.org' AS email,
       '415-555-01' || lpad((g % 100)::text, 2, '0') AS phone,
       date '1940-01-01' + (g % 27000) AS date_of_birth,
       (100 + g % 9800) || ' Oak Ave, Springfield' AS address,
       CASE WHEN g % 10 = 0 THEN 'called back on 415-555-0100 re billing'
            ELSE 'routine follow-up, no changes' END AS notes
FROM generate_series(1, {ROWS}) g;
ALTER TABLE bench_patients OWNER TO phigate_clinic;
ANALYZE bench_patients;
""", dbname="clinic")
    cfg = harness.default_config(pg)
    cfg["roles"]["analyst"]["masking"] = "phi"
    cfg["masking"] = {"phi": {
        "detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
        "columns": [{"column": "bench_patients.ssn", "action": "redact"},
                    {"column": "*.email", "action": "partial"}],
        "custom": [{"name": "MRN", "regex": "MRN-[0-9]{8}"}]}}
    gw = harness.start_phigate(pg, cfg)
    masked_tok = gw.token("bench-analyst", ["analysts"])
    plain_tok = gw.token("bench-dba", ["dbas"])
    targets = {
        "direct": pg.dsn(),
        "unmasked": gw.dsn(plain_tok),
        "masked": gw.dsn(masked_tok),
    }
    times = {k: [] for k in targets}
    peak = [0]

    def sample(stop):
        while not stop.is_set():
            peak[0] = max(peak[0], gw.rss_kb())
            time.sleep(0.05)

    rss_start = gw.rss_kb()
    for r in range(R):
        for name, dsn in targets.items():
            stop = threading.Event()
            t = threading.Thread(target=sample, args=(stop,)) if name == "masked" else None
            if t:
                t.start()
            t0 = time.monotonic()
            p = subprocess.run([harness.PSQL, dsn, "-At", "-v", "ON_ERROR_STOP=1", "-c", SQL],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=harness.clean_env())
            took = time.monotonic() - t0
            if t:
                stop.set()
                t.join()
            if p.returncode != 0:
                raise SystemExit(f"{name}: psql failed: {p.stderr}")
            times[name].append(took)
            print(f"round {r + 1} {name:9s} {took:6.2f} s", flush=True)
    # Spot check that the masked run really masked.
    rc, out, err = harness.psql(targets["masked"], "SELECT ssn, email FROM bench_patients LIMIT 1",
                                args=["-At"])
    assert out.startswith("[bench_patients.ssn]|*"), out
    load = open("/proc/loadavg").read().split()[:3]
    print()
    print(f"{ROWS} rows x 10 columns, psql -At > /dev/null, R={R}, load average {' '.join(load)}")
    print("| target | best s | median s | rows/s (best) | vs direct |")
    print("|---|---|---|---|---|")
    best_direct = min(times["direct"])
    for name, ts in times.items():
        b = min(ts)
        print(f"| {name} | {b:.2f} | {statistics.median(ts):.2f} | {ROWS / b:,.0f} | "
              f"{best_direct / b:.2f}x |")
    print(f"phigate VmRSS: {rss_start // 1024} MB at start, {peak[0] // 1024} MB peak during "
          f"masked runs")


if __name__ == "__main__":
    try:
        main()
    finally:
        harness._run_cleanups()
