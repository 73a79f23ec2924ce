#pragma once
// Operational counters derived from the audit stream, rendered in the Prometheus text format
// (version 0.0.4) by the admin API's GET /metrics. They are counted from the records the Log
// committed, so a metric never says something the audit log does not: every decision, result and
// masked value counted here is a record an auditor can find. Nothing reads them to decide.
//
// Families (label values are the records' own fields):
//   phigate_audit_events_total{type}
//   phigate_decisions_total{protocol,resource,decision}   statement / http_request records
//   phigate_results_total{protocol,resource,status}        result / http_result records
//   phigate_masked_values_total{protocol,resource}         the results' masked counts, summed
//   phigate_result_duration_seconds{protocol}              histogram of the results' duration
// Label sets are capped (kMaxSeries per family): further ones are counted under resource="_other"
// (or type="_other"), so a flood of odd values cannot grow memory.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"

namespace phigate::audit {

class Metrics {
 public:
  static constexpr size_t kMaxSeries = 512;
  // Upper bounds of the duration histogram, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // One committed record (the Log calls this in seq order, under its commit lock).
  void observe(const Event& e);
  // Appends the families above, with HELP and TYPE lines, to `out`.
  void render(std::string& out) const;

 private:
  // A labelled counter: up to three label values, compared in place (no allocation per record
  // once the series exists).
  struct Series {
    std::array<std::string, 3> labels;
    uint64_t value = 0;
  };
  struct Histogram {
    std::string protocol;
    std::array<uint64_t, kBuckets.size()> buckets{};  // cumulative at render time, not here
    uint64_t count = 0;
    double sum = 0;
  };
  static void add(std::vector<Series>& family, std::string_view a, std::string_view b,
                  std::string_view c, uint64_t n, size_t overflow_label);

  mutable std::mutex mu_;
  std::vector<Series> types_, decisions_, results_, masked_;
  std::vector<Histogram> durations_;
};

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string prometheus_label(std::string_view v);
// Appends a metric family's `# HELP` and `# TYPE` lines.
void prometheus_head(std::string& out, const char* name, const char* help, const char* type);

}  // namespace phigate::audit
