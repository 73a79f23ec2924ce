#include "cli/exporters.h"

#include "common/byte_size.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "audit/export_sinks.h"

namespace phigate::cli {
namespace {
// Validated by config check; the default covers an absent key.
uint64_t max_size_or_default(const std::string& text) {
  auto v = parse_byte_size(text);
  return v.ok() ? *v : uint64_t(100) << 20;
}

Result<std::string> read_token(const AuditExportConfig& e) {
  if (!e.token_env.empty()) {
    const char* v = std::getenv(e.token_env.c_str());
    if (!v || !*v)
      return make_error("config", "environment variable " + e.token_env + " is not set");
    return std::string(v);
  }
  if (!e.token_file.empty()) {
    std::ifstream in(e.token_file, std::ios::binary);
    if (!in) return make_error("config", "cannot read token_file " + e.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) return make_error("config", "token_file " + e.token_file + " is empty");
    return t;
  }
  return std::string();
}

}  // namespace

std::vector<AuditExporters::Lag> AuditExporters::lags() const {
  std::vector<Lag> out;
  for (const auto& e : list_)
    out.push_back({e->name(), e->lag(), e->delivered_seq(), e->failures()});
  return out;
}

Result<std::unique_ptr<AuditExporters>> start_audit_exporters(const Config& config,
                                                              const Wiring& wiring,
                                                              const audit::Log& log) {
  auto set = std::make_unique<AuditExporters>();
  for (const AuditExportConfig& e : config.audit.exports) {
    const std::string name = audit_export_name(e);
    audit::ExporterOptions o;
    o.name = name;
    o.format = audit::parse_export_format(e.format).value_or(audit::ExportFormat::kJsonl);
    o.cursor_path =
        (std::filesystem::path(config.gateway.data_dir) / ("export-" + name + ".cursor")).string();
    o.batch = e.batch;
    o.backoff_max = e.backoff_max;
    std::unique_ptr<audit::Sink> sink;
    if (e.type == "jsonl") {
      sink = audit::make_jsonl_sink(e.path, max_size_or_default(e.max_size), e.keep);
    } else if (e.type == "syslog") {
      sink = audit::make_syslog_sink(e.address, config.gateway.node_id);
    } else if (e.type == "webhook") {
      auto token = read_token(e);
      if (!token)
        return make_error("config", "audit export " + name + ": " + token.error().message);
      sink = audit::make_webhook_sink(e.url, *token, config.gateway.node_id, o.format);
    } else {
      return make_error("config", "audit export " + name + ": unknown type '" + e.type + "'");
    }
    const Config* cfg = &config;
    auto open_reader = [cfg, &wiring]() { return wiring.open_store(*cfg, true); };
    auto head = [&log]() { return log.last_seq(); };
    auto ex = std::make_unique<audit::Exporter>(std::move(o), std::move(sink), open_reader, head);
    if (auto st = ex->start(); !st.ok()) {
      return make_error("config", "audit export " + name + ": " + st.error().message);
    }
    spdlog::info("audit export {} started", name);
    set->list_.push_back(std::move(ex));
  }
  return set;
}

}  // namespace phigate::cli
