// Detector-engine micro-benchmarks (issue 5): throughput over a mixed clinical corpus, per-value
// cost on short column values, and a 10-column row scanned as one buffer (DESIGN.md §9 advice).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"

namespace {

using phigate::mask::Engine;
using phigate::mask::Finding;

const Engine& engine() {
  static auto e = [] {
    phigate::mask::Profile p;
    p.detectors = {"US_SSN", "CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER",
                   "US_NPI", "IP_ADDRESS",  "US_MBI"};
    p.custom = {{"MRN", "MRN-[0-9]{8}"}};
    return Engine::compile(p).value();
  }();
  return *e;
}

// Clinical prose with numbers (vitals, dates, doses) and PHI in roughly one sentence in ten.
std::string corpus(size_t bytes) {
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
  };
  std::string s;
  size_t i = 0;
  while (s.size() < bytes) s += kSentences[(i++ * 7) % 10];
  s.resize(bytes);
  return s;
}

void BM_ScanCorpus(benchmark::State& state) {
  std::string text = corpus(static_cast<size_t>(state.range(0)));
  std::vector<Finding> f;
  f.reserve(1024);
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(engine().scan(text, f));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ScanCorpus)->Arg(4096)->Arg(1 << 20);

// One detector alone over the 4 KiB corpus: shows which pattern dominates the combined database.
void BM_ScanCorpusOneDetector(benchmark::State& state) {
  const auto& names = phigate::mask::builtin_detector_names();
  phigate::mask::Profile p;
  p.detectors = {std::string(names[static_cast<size_t>(state.range(0))])};
  auto e = Engine::compile(p).value();
  state.SetLabel(p.detectors[0]);
  std::string text = corpus(4096);
  std::vector<Finding> f;
  f.reserve(1024);
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(e->scan(text, f));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ScanCorpusOneDetector)->DenseRange(0, 6);

void BM_ScanShortValue(benchmark::State& state) {
  std::string v = "Jane Q. Public, 42 Elm St";  // a typical non-PHI-detector text column
  std::vector<Finding> f;
  f.reserve(16);
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(engine().scan(v, f));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * v.size()));
}
BENCHMARK(BM_ScanShortValue);

// One DataRow of 10 text columns scanned as a single buffer, then masked (partial).
void BM_ScanAndMaskRow10(benchmark::State& state) {
  std::string row =
      "42\x1f"
      "Jane\x1f"
      "Public\x1f"
      "1980-04-02\x1f"
      "536-22-1234\x1f"
      "jane.doe@example.org\x1f"
      "(555) 234-5678\x1f"
      "42 Elm St\x1f"
      "Springfield\x1f"
      "Follow-up in two weeks; BP 128/84.";
  std::vector<Finding> f;
  f.reserve(16);
  std::string out;
  out.reserve(512);
  phigate::mask::ActionOptions o;
  o.action = phigate::mask::Action::kPartial;
  for (auto _ : state) {
    f.clear();
    benchmark::DoNotOptimize(engine().scan(row, f));
    phigate::mask::apply_findings(row, f, o, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * row.size()));
}
BENCHMARK(BM_ScanAndMaskRow10);

}  // namespace

BENCHMARK_MAIN();
