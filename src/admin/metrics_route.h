#pragma once
// GET /metrics: the Prometheus text format (version 0.0.4) for a scraper. Counts only, no
// identities and no statement text: the audit log's record counts and health, what the audit
// stream says was decided and masked (audit/metrics.h), failed authentications by reason, and how
// far each SIEM exporter is behind. A public route like /v1/health (scrapers rarely carry
// short-lived tokens); the admin listener's address decides who can reach it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "admin/router.h"

namespace phigate {
class AuthFailureCounters;
namespace audit {
class Metrics;
}  // namespace audit
}  // namespace phigate

namespace phigate::admin {

struct ExporterLag {
  std::string name;
  uint64_t records_behind = 0, failures = 0;
};

struct MetricsSources {
  std::string node_id;
  const audit::Log* log = nullptr;            // required
  const audit::Metrics* events = nullptr;     // null: the audit-stream families are left out
  const AuthFailureCounters* auth = nullptr;  // null: left out
  std::function<std::vector<ExporterLag>()> exporters;  // empty: left out
};

// The whole exposition, as GET /metrics answers it.
std::string render_metrics(const MetricsSources& s);
void add_metrics_route(Router& r, MetricsSources s);

}  // namespace phigate::admin
