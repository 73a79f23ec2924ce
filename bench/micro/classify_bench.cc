// Micro-benchmarks of the per-statement policy path: classification (cache miss and hit) and the
// decision, so regressions show up without a database.
#include <benchmark/benchmark.h>
#include <pg_query.h>

#include <string>

#include "policy/config.h"
#include "policy/snapshot.h"
#include "sql/classify.h"

namespace {

void BM_ClassifyMissPointSelect(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string q =
        "SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(++i) + ";";
    benchmark::DoNotOptimize(phigate::sql::classify(q));
  }
}
BENCHMARK(BM_ClassifyMissPointSelect);

void BM_ClassifyHit(benchmark::State& state) {
  std::string q = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  for (auto _ : state) benchmark::DoNotOptimize(phigate::sql::classify(q));
}
BENCHMARK(BM_ClassifyHit);

void BM_ClassifyMissJoin(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string q =
        "SELECT p.id, v.notes FROM patients p JOIN visits v ON v.patient_id = p.id "
        "WHERE p.id = " +
        std::to_string(++i);
    benchmark::DoNotOptimize(phigate::sql::classify(q));
  }
}
BENCHMARK(BM_ClassifyMissJoin);

// The floor for a miss: libpg_query's own parse (JSON output) of the same texts, nothing else.
void BM_PgQueryParseOnlyPointSelect(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string q =
        "SELECT abalance FROM pgbench_accounts WHERE aid = " + std::to_string(++i) + ";";
    PgQueryParseResult r = pg_query_parse(q.c_str());
    benchmark::DoNotOptimize(r.parse_tree);
    pg_query_free_parse_result(r);
  }
}
BENCHMARK(BM_PgQueryParseOnlyPointSelect);

void BM_PgQueryParseOnlyJoin(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string q =
        "SELECT p.id, v.notes FROM patients p JOIN visits v ON v.patient_id = p.id "
        "WHERE p.id = " +
        std::to_string(++i);
    PgQueryParseResult r = pg_query_parse(q.c_str());
    benchmark::DoNotOptimize(r.parse_tree);
    pg_query_free_parse_result(r);
  }
}
BENCHMARK(BM_PgQueryParseOnlyJoin);

// Two nested write kinds: the rare case that takes a second, path-recording scan.
void BM_ClassifyMissTwoNestedWrites(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    std::string q = "WITH a AS (INSERT INTO t1 VALUES (" + std::to_string(++i) +
                    ") RETURNING *), b AS (DELETE FROM t2 WHERE id = 1 RETURNING *) "
                    "SELECT * FROM a, b";
    benchmark::DoNotOptimize(phigate::sql::classify(q));
  }
}
BENCHMARK(BM_ClassifyMissTwoNestedWrites);

void BM_Decide(benchmark::State& state) {
  auto load = phigate::load_config_text(R"(
gateway: { node_id: b, data_dir: /tmp/x, listen: { postgres: 127.0.0.1:0 } }
identity: { issuers: [ { name: local, type: local } ], group_roles: { g: [r] } }
resources:
  - { name: db, type: postgres, upstream: 127.0.0.1:1, database: d, credentials: { username: u, password_env: X } }
roles:
  r: { resources: [db], rules: [ { match: { statement: [insert] }, action: deny }, { match: { statement: [select] }, action: allow } ] }
)");
  auto snap = phigate::PolicySnapshot::compile(*load.config, 1);
  phigate::Identity id;
  id.sub = "x";
  id.roles = {"r"};
  std::string q = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
  phigate::Request req;
  req.identity = &id;
  req.resource = "db";
  req.text = q;
  req.sql = phigate::sql::classify(q);
  for (auto _ : state) benchmark::DoNotOptimize((*snap)->decide(req));
}
BENCHMARK(BM_Decide);

}  // namespace

BENCHMARK_MAIN();
