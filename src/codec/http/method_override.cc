#include "codec/http/method_override.h"

#include <algorithm>

#include "common/ascii.h"

namespace phigate::http {

std::vector<std::string> override_methods(
    std::string_view method, const Fields& fields,
    const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::string> out;
  auto add = [&](std::string_view v) {
    std::string m = ascii_upper(trim_ows(v));
    if (m.empty() || m == method || std::find(out.begin(), out.end(), m) != out.end()) return;
    out.push_back(std::move(m));
  };
  for (const Field& f : fields.list) {
    if (iequals(f.name, "x-http-method-override") || iequals(f.name, "x-http-method") ||
        iequals(f.name, "x-method-override")) {
      add(f.value);
    }
  }
  for (const auto& [name, value] : query) {
    if (name == "_method") add(value);
  }
  return out;
}

}  // namespace phigate::http
