// CPU of one proxied HTTP request's audit records on the io thread, without the journal write:
// build the `http_request` record the way HttpSession does (identity chain via set_identity, a
// realistic delegated identity), commit it with Log::append_now, then the same for `http_result`.
// The store drops what it is given, so what is measured is building, encoding, chain hashing and
// the Merkle leaf (checkpointing on, as configured by default): the part phigate can make cheaper.
// audit_bench measures the same with the real SQLite store and journal.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "audit/canonical.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/discard_store.h"
#include "audit/log.h"
#include "identity/identity.h"

namespace {

using namespace phigate;

// A token-exchanged task token acting for a human through a pipeline: every identity field set,
// several of them longer than the small-string buffer.
Identity realistic_identity() {
  Identity id;
  id.sub = "svc-claims-etl@prod.example.org";
  id.issuer = "corp-oidc";
  id.jti = "7c1f3b9e-5a2d-4e8f-9b61-0d4c2a7e8f13";
  id.task_id = "task-2024-11-26-claims-reconcile";
  id.workflow_id = "wf-nightly-claims";
  id.act_sub = "airflow-scheduler";
  id.act_chain = "airflow-scheduler>alice.smith@example.org";
  id.groups = {"claims-etl", "data-engineering", "phi-readers"};
  id.roles = {"fhir-reader", "claims-writer"};
  return id;
}

audit::Event base_event(const Identity& id, const char* type, uint64_t i) {
  audit::Event e;
  e.time_ns = 1764000000000000000 + static_cast<int64_t>(i);
  e.session_id = "h-5f0c2d7a9b3e41c8";
  e.type = type;
  audit::set_identity(e, id);
  e.client_addr = "10.20.30.40:51234";
  e.resource = "fhir";
  e.protocol = "http";
  e.action = "GET /Patient/" + std::to_string(i % 9973) + "/$everything";
  e.statement_kind = "GET";
  e.parameters = {"_count=50", "_format=json"};
  return e;
}

void BM_HttpRecordPair(benchmark::State& state) {
  auto key = audit::CheckpointKey::generate();
  audit::Log log(std::make_unique<audit::DiscardStore>(), "gw-bench-1");
  log.set_checkpointing(*key, 1000, std::chrono::seconds(10));
  if (!log.open()) {
    state.SkipWithError("open failed");
    return;
  }
  const Identity id = realistic_identity();
  std::vector<audit::Event> batch(1);
  uint64_t i = 0;
  for (auto _ : state) {
    audit::Event& req = batch[0] = base_event(id, "http_request", ++i);
    req.decision = "allow";
    req.rule = "fhir-reader#2";
    auto seq = log.append_now(batch);
    benchmark::DoNotOptimize(seq);
    audit::Event& res = batch[0] = base_event(id, "http_result", i);
    res.ref_seq = seq ? *seq : 0;
    res.status = "ok";
    res.error_code = "200";
    res.bytes = 48213;
    res.rows = 0;
    res.duration_ns = 1834000;
    if (i % 4 == 0) res.masked = {{"US_SSN", 3}, {"fhir:Patient.name", 1}};
    benchmark::DoNotOptimize(log.append_now(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
}
BENCHMARK(BM_HttpRecordPair);

// Encoding alone (the stored line, hash field included, into a reused buffer).
void BM_EncodeHttpRecord(benchmark::State& state) {
  const Identity id = realistic_identity();
  audit::Event e = base_event(id, "http_request", 42);
  e.seq = 123456;
  e.node_id = "gw-bench-1";
  e.prev_hash = std::string(64, 'a');
  e.hash = std::string(64, 'b');
  e.decision = "allow";
  e.rule = "fhir-reader#2";
  std::string line;
  for (auto _ : state) {
    line.clear();
    audit::append_json_line(e, line);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(BM_EncodeHttpRecord);

}  // namespace

BENCHMARK_MAIN();
