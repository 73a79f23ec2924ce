#pragma once
// The JsonMaskConfig the masker tests start from: path rules given as {path, action} with their
// default labels, the named detectors (none: no engine) and HMAC key "k". Tests set the rest.
#include <string>
#include <utility>
#include <vector>

#include "mask/json_path.h"
#include "mask/json_stream.h"

namespace phigate::mask::testing {

inline JsonMaskConfig json_config(const std::vector<std::pair<std::string, std::string>>& rules,
                                  std::vector<std::string> detectors = {}) {
  JsonMaskConfig c;
  for (const auto& [path, action] : rules) {
    JsonRule r;
    r.path_text = path;
    r.path = *parse_json_path(path);
    r.action = *parse_action(action);
    r.label = default_label(r.path);
    c.rules.push_back(std::move(r));
  }
  if (!detectors.empty()) {
    Profile p;
    p.detectors = std::move(detectors);
    c.engine = *Engine::compile(p);
  }
  c.hmac_key = "k";
  return c;
}

}  // namespace phigate::mask::testing
