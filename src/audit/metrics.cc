#include "audit/metrics.h"

#include <cstdio>

namespace phigate::audit {

void prometheus_head(std::string& out, const char* name, const char* help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string prometheus_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::add(std::vector<Series>& family, std::string_view a, std::string_view b,
                  std::string_view c, uint64_t n, size_t overflow_label) {
  // Few series (resources x outcomes): a linear scan compares in place where a map would build a
  // key string per record.
  std::array<std::string_view, 3> want{a, b, c};
  auto bump = [&]() {
    for (Series& s : family) {
      if (s.labels[0] == want[0] && s.labels[1] == want[1] && s.labels[2] == want[2]) {
        s.value += n;
        return true;
      }
    }
    return false;
  };
  if (bump()) return;
  if (family.size() >= kMaxSeries) {
    // Full: new label sets share one series per remaining combination (a handful: the other
    // labels are protocols and outcomes).
    want[overflow_label] = "_other";
    if (bump()) return;
  }
  family.push_back(Series{{std::string(want[0]), std::string(want[1]), std::string(want[2])}, n});
}

void Metrics::observe(const Event& e) {
  std::lock_guard lk(mu_);
  add(types_, e.type, {}, {}, 1, 0);
  if (is_decision_record(e.type)) add(decisions_, e.protocol, e.resource, e.decision, 1, 1);
  if (!is_result_record(e.type)) return;
  add(results_, e.protocol, e.resource, e.status, 1, 1);
  uint64_t masked = 0;
  for (const auto& [what, n] : e.masked) masked += n;
  if (masked) add(masked_, e.protocol, e.resource, {}, masked, 1);
  Histogram* h = nullptr;
  for (Histogram& x : durations_) {
    if (x.protocol == e.protocol) h = &x;
  }
  if (h == nullptr) {
    if (durations_.size() >= 8) return;  // protocols are phigate's own: a handful
    h = &durations_.emplace_back();
    h->protocol = e.protocol;
  }
  const double s = static_cast<double>(e.duration_ns) / 1e9;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (s <= kBuckets[i]) {
      ++h->buckets[i];
      break;
    }
  }
  ++h->count;
  h->sum += s;
}

void Metrics::render(std::string& out) const {
  std::lock_guard lk(mu_);
  auto counters = [&](const char* name, const char* help, const std::vector<Series>& family,
                      std::array<const char*, 3> names) {
    prometheus_head(out, name, help, "counter");
    for (const Series& s : family) {
      out += name;
      out += '{';
      bool first = true;
      for (size_t i = 0; i < 3; ++i) {
        if (names[i] == nullptr) continue;
        if (!first) out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        out += prometheus_label(s.labels[i]);
        out += '"';
      }
      out += "} ";
      out += std::to_string(s.value);
      out += '\n';
    }
  };
  counters("phigate_audit_events_total", "Audit records committed, by type.", types_,
           {"type", nullptr, nullptr});
  counters("phigate_decisions_total",
           "Statements and HTTP requests decided (allow, deny, hold, error), as audited.",
           decisions_, {"protocol", "resource", "decision"});
  counters("phigate_results_total", "Statement and HTTP results, by status, as audited.", results_,
           {"protocol", "resource", "status"});
  counters("phigate_masked_values_total", "Values masked in results sent to clients.", masked_,
           {"protocol", "resource", nullptr});
  prometheus_head(out, "phigate_result_duration_seconds",
                  "Time from forwarding a statement or request to its result, as audited.",
                  "histogram");
  for (const Histogram& h : durations_) {
    const std::string p = "protocol=\"" + prometheus_label(h.protocol) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += "phigate_result_duration_seconds_bucket{" + p + ",le=\"" + number(kBuckets[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "phigate_result_duration_seconds_bucket{" + p + ",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "phigate_result_duration_seconds_sum{" + p + "} " + number(h.sum) + "\n";
    out += "phigate_result_duration_seconds_count{" + p + "} " + std::to_string(h.count) + "\n";
  }
}

}  // namespace phigate::audit
