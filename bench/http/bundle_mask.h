#pragma once
// The masking of bench/http's benchmarked resource (run.py phigate_config: detectors on string
// values plus one path rule), as a JsonMaskConfig, for the benchmarks that mask its body without
// a gateway: mask_bench's BM_JsonMaskHttpBundle and the feature-floor leg.
#include <utility>

#include "mask/actions.h"
#include "mask/detectors.h"
#include "mask/json_path.h"
#include "mask/json_stream.h"

namespace phigate::bench {

inline const mask::JsonMaskConfig& bundle_mask_config() {
  static const mask::JsonMaskConfig c = [] {
    mask::JsonMaskConfig cfg;
    mask::JsonRule rule;
    rule.path_text = "$.entry[*].ssn";
    rule.path = mask::parse_json_path(rule.path_text).value();
    rule.action = mask::Action::kRedact;
    rule.label = mask::default_label(rule.path);
    cfg.rules.push_back(std::move(rule));
    mask::Profile p;
    p.detectors = {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"};
    cfg.engine = mask::Engine::compile(p).value();
    return cfg;
  }();
  return c;
}

}  // namespace phigate::bench
