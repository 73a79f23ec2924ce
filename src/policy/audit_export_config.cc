// The `audit.export` entries (DESIGN.md §4): what each exporter type needs.
//   common:  type (syslog | jsonl | webhook), name, format (jsonl | ocsf), batch (records per send,
//            default 500), backoff_max (retry ceiling, default 30s)
//   syslog:  address udp://host:port | tcp://host:port (RFC 5424; TCP framed per RFC 6587 §3.4.1)
//   jsonl:   path, max_size (default 100MiB), keep (rotated files, default 5)
//   webhook: url http://host:port/path (Splunk HEC shape), token_env | token_file
#include <cctype>

#include "common/crypto.h"
#include "common/byte_size.h"
#include "policy/config.h"

namespace phigate {


std::string audit_export_name(const AuditExportConfig& e) {
  if (!e.name.empty()) return e.name;
  std::string dest = e.type == "syslog" ? e.address : e.type == "jsonl" ? e.path : e.url;
  return e.type + "-" + to_hex(sha256(std::string_view(dest))).substr(0, 8);
}

std::vector<std::string> check_audit_export(const AuditExportConfig& e) {
  std::vector<std::string> out;
  for (char c : e.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      out.push_back("name '" + e.name + "' may only hold letters, digits, '-' and '_'");
      break;
    }
  }
  if (e.format != "jsonl" && e.format != "ocsf") {
    out.push_back("format '" + e.format + "' is not one of jsonl, ocsf");
  }
  if (e.batch == 0) out.push_back("batch must be at least 1");
  if (e.backoff_max.count() < 100) out.push_back("backoff_max must be at least 100ms");
  if (e.type == "syslog" && !e.address.empty() && !e.address.starts_with("udp://") &&
      !e.address.starts_with("tcp://")) {
    out.push_back("syslog address must be udp://host:port or tcp://host:port");
  }
  if (e.type == "jsonl" && !parse_byte_size(e.max_size).ok()) {
    out.push_back("max_size '" + e.max_size + "' is not a size such as 100MiB");
  }
  if (e.type == "webhook") {
    if (!e.url.empty() && !e.url.starts_with("http://")) {
      out.push_back("webhook url must start with http:// (https is not supported yet)");
    }
    if (!e.token_env.empty() && !e.token_file.empty()) {
      out.push_back("give token_env or token_file, not both");
    }
  }
  return out;
}

}  // namespace phigate
