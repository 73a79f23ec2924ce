#include "admin/metrics_route.h"

#include "audit/log.h"
#include "audit/metrics.h"
#include "identity/token_verifier.h"

namespace phigate::admin {

namespace {

void metric(std::string& out, const char* name, const char* help, const char* type,
            const std::vector<std::pair<std::string, uint64_t>>& samples) {
  audit::prometheus_head(out, name, help, type);
  for (const auto& [labels, v] : samples) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " " + std::to_string(v) + "\n";
  }
}

std::string label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + audit::prometheus_label(value) + "\"";
}

}  // namespace

std::string render_metrics(const MetricsSources& s) {
  std::string out;
  metric(out, "phigate_info", "This gateway node.", "gauge", {{label("node_id", s.node_id), 1}});
  const audit::Log::Stats st = s.log->stats();
  metric(out, "phigate_audit_records_total", "Audit records committed since start.", "counter",
         {{"", st.records}});
  metric(out, "phigate_audit_commits_total", "Audit commits (group commits) since start.",
         "counter", {{"", st.batches}});
  metric(out, "phigate_audit_checkpoints_total", "Signed Merkle checkpoints since start.",
         "counter", {{"", st.checkpoints}});
  metric(out, "phigate_audit_failed",
         "1 once an audit commit failed: the gateway then refuses all traffic (fail closed).",
         "gauge", {{"", s.log->failed() ? 1u : 0u}});
  if (s.auth) {
    std::vector<std::pair<std::string, uint64_t>> v;
    for (const auto& [reason, n] : s.auth->snapshot()) v.emplace_back(label("reason", reason), n);
    metric(out, "phigate_auth_failures_total", "Tokens refused, by reason.", "counter", v);
  }
  if (s.exporters) {
    std::vector<std::pair<std::string, uint64_t>> behind, failures;
    for (const ExporterLag& e : s.exporters()) {
      behind.emplace_back(label("exporter", e.name), e.records_behind);
      failures.emplace_back(label("exporter", e.name), e.failures);
    }
    metric(out, "phigate_exporter_records_behind", "Audit records not yet delivered to a SIEM.",
           "gauge", behind);
    metric(out, "phigate_exporter_failures_total", "Failed deliveries to a SIEM.", "counter",
           failures);
  }
  if (s.events) s.events->render(out);
  return out;
}

void add_metrics_route(Router& r, MetricsSources s) {
  r.add(
      "GET", "/metrics",
      [s = std::move(s)](const Call&) {
        Reply rep;
        rep.content_type = "text/plain; version=0.0.4; charset=utf-8";
        rep.raw = render_metrics(s);
        return rep;
      },
      /*public_route=*/true);
}

}  // namespace phigate::admin
