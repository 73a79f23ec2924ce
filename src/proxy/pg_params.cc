#include "proxy/pg_params.h"

#include "common/crypto.h"

namespace phigate::proxy {

std::string render_param(const pg::BindParam& p, int16_t format) {
  if (p.is_null) return "NULL";
  if (format == 1) {
    size_t n = std::min(p.value.size(), kMaxAuditParam / 2);
    std::string s = "\\x" + to_hex(p.value.first(n));
    if (n < p.value.size()) s += "…(" + std::to_string(p.value.size()) + " bytes)";
    return s;
  }
  std::string_view v = as_sv(p.value);
  if (v.size() <= kMaxAuditParam) return std::string(v);
  return std::string(v.substr(0, kMaxAuditParam)) + "…(" + std::to_string(v.size()) + " bytes)";
}

std::vector<std::string> render_params(const pg::Bind& b) {
  std::vector<std::string> out;
  out.reserve(b.params.size());
  for (size_t i = 0; i < b.params.size(); ++i)
    out.push_back(render_param(b.params[i], b.param_format(i)));
  return out;
}

std::string audit_text(std::string_view text) {
  if (text.size() <= kMaxAuditText) return std::string(text);
  return std::string(text.substr(0, kMaxAuditText)) + "…[truncated; " +
         std::to_string(text.size()) + " bytes, sha256 " + to_hex(sha256(text)) + "]";
}

}  // namespace phigate::proxy
