// Detector-engine micro-benchmarks (issue 5): throughput over a mixed clinical corpus (all
// built-in detectors, with and without custom/deny patterns), one detector at a time, per-value
// cost on short column values, and a 10-column DataRow scanned per field vs with scan_fields.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"
#include "mask/json_path.h"
#include "mask/json_stream.h"
#include "sql/lineage.h"
#include "../http/bundle_mask.h"

namespace {

using phigate::mask::Engine;
using phigate::mask::Finding;
using phigate::mask::Profile;

Profile all_builtins() {
  Profile p;
  for (std::string_view n : phigate::mask::builtin_detector_names()) p.detectors.emplace_back(n);
  return p;
}

const Engine& engine_full() {  // every built-in + a custom regex + a deny list
  static auto e = [] {
    Profile p = all_builtins();
    p.custom = {{"MRN", "MRN-[0-9]{8}"}};
    p.deny_lists = {{"VIP", {"Jane Roe", "John Q. Sample"}}};
    return Engine::compile(p).value();
  }();
  return *e;
}

const Engine& engine_builtins() {
  static auto e = Engine::compile(all_builtins()).value();
  return *e;
}

// Clinical prose with numbers (vitals, dates, doses, codes). kMixed is the corpus of the earlier
// baseline (≈0.33 GB/s with one hyperscan database): PHI in about one sentence in five. kDense adds
// every new detector's kind and puts PHI in about one sentence in three (≈11k findings per MiB).
enum class Density { kMixed, kDense };

std::string corpus(size_t bytes, Density density = Density::kDense) {
  static const char* kSentences[] = {
      "Patient reports intermittent headache for 3 days, worse in the morning. ",
      "BP 128/84, HR 72, SpO2 98% on room air, temp 37.1 C. ",
      "Started amoxicillin 500 mg PO q8h x 10 days; follow up 2024-03-14 at 10:30. ",
      "Labs: WBC 7.2, Hgb 13.9, Plt 250, Na 139, K 4.1, Cr 0.9 mg/dL. ",
      "No known drug allergies. Lives with spouse; non-smoker, occasional alcohol. ",
      "Order #48213 sent to pharmacy 3; ICD-10 R51.9, CPT 99213, room 4B. ",
      "Discussed imaging options; patient prefers MRI next week if symptoms persist. ",
      "Contact jane.doe@example.org or (555) 234-5678; SSN 536-22-1234 on file. ",
      "Insurance MBI 1EG4-TE5-MK73, NPI 1234567893, chart MRN-12345678. ",
      "Family history of hypertension and type 2 diabetes in both parents. ",
      // Dense only from here.
      "DOB: 04/02/1980. Refill via prescriber DEA AB1234563, portal login from 10.20.30.40. ",
      "Weight 81.4 kg (was 83.0 kg on 2023-11-02); A1c 6.8%, LDL 112 mg/dL. ",
      "Refund to routing 021000021, IBAN GB82 WEST 1234 5698 7654 32, passport 912803456. ",
      "Ultrasound 12/03/2024: no acute findings; recheck in 6-8 weeks; card 4111 1111 1111 1111. ",
      "Vaccinated 2021-04-17 and 2021-05-08 (lot 3012A-4); no adverse events. ",
      "Plan: continue lisinopril 10 mg daily, metformin 1000 mg BID, recheck BMP in 3 months. ",
  };
  const size_t count = density == Density::kMixed ? 10 : sizeof(kSentences) / sizeof(kSentences[0]);
  std::string s;
  size_t i = 0;
  while (s.size() < bytes) s += kSentences[(i++ * 7) % count];
  s.resize(bytes);
  return s;
}

void scan_corpus(benchmark::State& state, const Engine& e, size_t bytes,
                 Density density = Density::kDense) {
  std::string text = corpus(bytes, density);
  std::vector<Finding> f;
  f.reserve(4096);
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(e.scan(text, f));
  }
  state.counters["findings"] = static_cast<double>(f.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ScanCorpus(benchmark::State& state) {
  scan_corpus(state, engine_full(), static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_ScanCorpus)->Arg(4096)->Arg(1 << 20);

// The earlier baseline's corpus (every built-in plus custom and deny patterns).
void BM_ScanMixedCorpus(benchmark::State& state) {
  scan_corpus(state, engine_full(), static_cast<size_t>(state.range(0)), Density::kMixed);
}
BENCHMARK(BM_ScanMixedCorpus)->Arg(4096)->Arg(1 << 20);

// Every built-in, no custom/deny patterns (no hyperscan call at all).
void BM_ScanMixedCorpusBuiltinsOnly(benchmark::State& state) {
  scan_corpus(state, engine_builtins(), static_cast<size_t>(state.range(0)), Density::kMixed);
}
BENCHMARK(BM_ScanMixedCorpusBuiltinsOnly)->Arg(1 << 20);

// The earlier baseline's profile too: SSN, card, email, phone, NPI, IP, MBI + MRN (all it had).
void BM_ScanMixedCorpusBaselineProfile(benchmark::State& state) {
  static auto e = [] {
    Profile p;
    p.detectors = {"US_SSN", "CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER",
                   "US_NPI", "IP_ADDRESS",  "US_MBI"};
    p.custom = {{"MRN", "MRN-[0-9]{8}"}};
    return Engine::compile(p).value();
  }();
  scan_corpus(state, *e, static_cast<size_t>(state.range(0)), Density::kMixed);
}
BENCHMARK(BM_ScanMixedCorpusBaselineProfile)->Arg(1 << 20);

void BM_ScanCorpusBuiltinsOnly(benchmark::State& state) {
  scan_corpus(state, engine_builtins(), static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_ScanCorpusBuiltinsOnly)->Arg(4096)->Arg(1 << 20);

void BM_ScanCorpusCustomAndDenyOnly(benchmark::State& state) {
  static auto e = [] {
    Profile p;
    p.custom = {{"MRN", "MRN-[0-9]{8}"}};
    p.deny_lists = {{"VIP", {"Jane Roe", "John Q. Sample"}}};
    return Engine::compile(p).value();
  }();
  scan_corpus(state, *e, static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_ScanCorpusCustomAndDenyOnly)->Arg(1 << 20);

// One detector alone over the 1 MiB corpus: which detector costs what.
void BM_ScanCorpusOneDetector(benchmark::State& state) {
  const auto& names = phigate::mask::builtin_detector_names();
  Profile p;
  p.detectors = {std::string(names[static_cast<size_t>(state.range(0))])};
  auto e = Engine::compile(p).value();
  state.SetLabel(p.detectors[0]);
  scan_corpus(state, *e, 1 << 20);
}
BENCHMARK(BM_ScanCorpusOneDetector)->DenseRange(0, 11)->ArgNames({"detector"});

void BM_ScanShortValue(benchmark::State& state) {
  std::string v = "Jane Q. Public, 42 Elm St";  // a typical non-PHI-detector text column
  std::vector<Finding> f;
  f.reserve(16);
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(engine_full().scan(v, f));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * v.size()));
}
BENCHMARK(BM_ScanShortValue);

const std::vector<std::string_view>& row10() {
  static const std::vector<std::string_view> row = {"42",
                                                    "Jane",
                                                    "Public",
                                                    "1980-04-02",
                                                    "536-22-1234",
                                                    "jane.doe@example.org",
                                                    "(555) 234-5678",
                                                    "42 Elm St",
                                                    "Springfield",
                                                    "Follow-up in two weeks; BP 128/84."};
  return row;
}

// A 10-column DataRow, each field scanned and masked on its own (scan() per value).
void BM_Row10PerField(benchmark::State& state) {
  const Engine& e = state.range(0) ? engine_full() : engine_builtins();
  std::vector<Finding> f;
  f.reserve(16);
  std::string out;
  out.reserve(512);
  phigate::mask::ActionOptions o;
  o.action = phigate::mask::Action::kPartial;
  for (auto _ : state) {
    for (std::string_view v : row10()) {
      f.clear();
      benchmark::DoNotOptimize(e.scan(v, f));
      phigate::mask::apply_findings(v, f, o, out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetLabel(state.range(0) ? "builtins+custom+deny" : "builtins");
}
BENCHMARK(BM_Row10PerField)->Arg(0)->Arg(1);

// The same row through scan_fields (one hyperscan call for custom/deny), then masked per field.
void BM_Row10ScanFields(benchmark::State& state) {
  const Engine& e = state.range(0) ? engine_full() : engine_builtins();
  phigate::mask::RowFindings rf;
  std::string out;
  out.reserve(512);
  phigate::mask::ActionOptions o;
  o.action = phigate::mask::Action::kPartial;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.scan_fields(row10(), rf));
    for (size_t i = 0; i < row10().size(); ++i) {
      phigate::mask::apply_findings(row10()[i], rf.field(i), o, out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetLabel(state.range(0) ? "builtins+custom+deny" : "builtins");
}
BENCHMARK(BM_Row10ScanFields)->Arg(0)->Arg(1);

// The HTTP benchmark's response (bench/http/run.py): a FHIR-like 1118-byte Bundle of 8 entries,
// masked with detectors [US_SSN, EMAIL_ADDRESS, PHONE_NUMBER] and the rule $.entry[*].ssn redact,
// one JsonStreamMasker per response as the proxy does (construct, feed, finish, read counts).
// Time is ns per body; bytes_per_second the JSON throughput.
std::string http_bundle() {
  std::string b = R"({"resourceType": "Bundle", "entry": [)";
  static const char* kScores[] = {"0.0", "1.5", "3.0", "4.5", "6.0", "7.5", "9.0", "10.5"};
  for (int i = 0; i < 8; ++i) {
    std::string n = std::to_string(i);
    if (i) b += ", ";
    b += R"({"id": )" + n + R"(, "name": "Patient )" + n +
         R"(", "ssn": "412-39-7710", "email": "p)" + n +
         R"(@example.org", "note": "stable, follow up in 2 weeks", "score": )" + kScores[i] + "}";
  }
  b += "]}";
  return b;
}

// Arg: bytes per feed() call (0: the whole body at once).
void BM_JsonMaskHttpBundle(benchmark::State& state) {
  const std::string body = http_bundle();
  if (body.size() != 1118) state.SkipWithError("bundle is not the 1118 bytes of bench/http");
  const size_t piece = state.range(0) ? static_cast<size_t>(state.range(0)) : body.size();
  std::string out;
  out.reserve(2048);
  uint64_t masked = 0;
  for (auto _ : state) {
    out.clear();
    phigate::mask::JsonStreamMasker m(phigate::bench::bundle_mask_config());
    bool ok = true;
    for (size_t at = 0; at < body.size(); at += piece)
      ok &= m.feed(std::string_view(body).substr(at, piece), out);
    ok &= m.finish(out);
    if (!ok) state.SkipWithError("masking failed");
    for (const auto& [name, n] : m.counts()) masked += n;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["masked_per_body"] =
      static_cast<double>(masked) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_JsonMaskHttpBundle)->Arg(0)->Arg(256);

// Lineage per statement (issue 5 part ii): a cache miss parses with libpg_query, builds the JSON
// DOM and walks it (plus a view expansion: a second parse); a hit is a hash lookup.
const phigate::sql::LineageCatalog& lineage_catalog() {
  static const phigate::sql::LineageCatalog c = [] {
    phigate::sql::LineageCatalog cat;
    cat.is_masked = [](std::string_view, std::string_view table,
                       std::string_view column) -> std::optional<std::string> {
      if (table == "patients" && (column == "ssn" || column == "email")) return "phi";
      return std::nullopt;
    };
    cat.view_definition = [](std::string_view,
                             std::string_view name) -> std::optional<std::string> {
      if (name == "patients_v") return "SELECT id, ssn AS s, name FROM patients";
      return std::nullopt;
    };
    cat.table_columns = [](std::string_view,
                           std::string_view name) -> std::optional<std::vector<std::string>> {
      if (name == "patients") return std::vector<std::string>{"id", "name", "ssn", "email", "dob"};
      if (name == "visits") return std::vector<std::string>{"id", "patient_id", "note", "at"};
      return std::nullopt;
    };
    return cat;
  }();
  return c;
}

const char* kLineageQueries[] = {
    "SELECT id, name, ssn FROM patients WHERE id = $1",
    "SELECT p.name, replace(p.ssn, '-', ''), v.note FROM patients p JOIN visits v ON v.patient_id "
    "= p.id WHERE v.at > now() - interval '7 days'",
    "WITH x AS (SELECT id, ssn FROM patients_v) SELECT json_agg(x) FROM x UNION ALL SELECT "
    "string_agg(email, ',') FROM patients",
};

void BM_LineageMiss(benchmark::State& state) {
  const char* q = kLineageQueries[state.range(0)];
  for (auto _ : state)
    benchmark::DoNotOptimize(phigate::sql::analyse_lineage(q, lineage_catalog()));
  state.SetLabel(state.range(0) == 0   ? "point select"
                 : state.range(0) == 1 ? "2-table join"
                                       : "view+cte+union");
}
BENCHMARK(BM_LineageMiss)->DenseRange(0, 2);

void BM_LineageHit(benchmark::State& state) {
  const char* q = kLineageQueries[state.range(0)];
  for (auto _ : state)
    benchmark::DoNotOptimize(phigate::sql::analyse_lineage_cached(q, 1, lineage_catalog()));
}
BENCHMARK(BM_LineageHit)->DenseRange(0, 2);

}  // namespace

BENCHMARK_MAIN();
