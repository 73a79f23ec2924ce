#include "proxy/http_body_json.h"

#include <set>
#include <string>
#include <vector>

namespace phigate::proxy {

nlohmann::json parse_rule_body(std::string_view body) {
  using json = nlohmann::json;
  // One set of member names per open object, innermost last.
  std::vector<std::set<std::string>> open;
  bool duplicate = false;
  json out = json::parse(
      body,
      [&](int, json::parse_event_t ev, json& parsed) {
        switch (ev) {
          case json::parse_event_t::object_start:
            open.emplace_back();
            break;
          case json::parse_event_t::object_end:
            if (!open.empty()) open.pop_back();
            break;
          case json::parse_event_t::key:
            if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second) {
              duplicate = true;
            }
            break;
          default:
            break;
        }
        return true;
      },
      /*allow_exceptions=*/false);
  if (duplicate) return json(json::value_t::discarded);
  return out;
}

}  // namespace phigate::proxy
