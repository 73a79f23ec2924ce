#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "mask/profile.h"
#include "policy/masking.h"

namespace phigate::cli {

// Runs one masking profile's detectors over text, as the gateway would on a text value: what an
// operator checks before trusting a profile (and a quick way to see why a value was masked).
int cmd_mask_test(const std::string& config_path, const MaskTestArgs& args, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  const MaskingProfileConfig* pc = nullptr;
  for (const auto& p : config->masking)
    if (p.name == args.profile) pc = &p;
  if (!pc) {
    std::cerr << "masking profile \"" << args.profile << "\" is not defined in " << config_path
              << "\n";
    return 2;
  }
  std::vector<ConfigError> errors;
  auto profile = compile_masking_profile(*pc, /*read_secrets=*/true, errors);
  if (!profile) {
    for (const auto& e : errors)
      std::cerr << config_path << ":" << e.line << ": " << e.message << "\n";
    return 2;
  }
  std::vector<mask::Finding> findings;
  if (!profile->engine().scan(args.text, findings)) {
    std::cerr << "the scan failed\n";
    return 1;
  }
  std::string masked;
  auto applied = mask::apply_findings(args.text, findings, profile->detector_options(), masked);
  if (json) {
    nlohmann::json f = nlohmann::json::array();
    for (const auto& x : findings)
      f.push_back({{"detector", std::string(x.name)},
                   {"begin", x.begin},
                   {"end", x.end},
                   {"score", x.score},
                   {"text", args.text.substr(x.begin, x.end - x.begin)}});
    nlohmann::json j{{"profile", args.profile}, {"findings", f}};
    j["masked"] = applied == mask::Applied::kNull ? nlohmann::json() : nlohmann::json(masked);
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "profile:  " << args.profile << "\n";
    if (findings.empty()) std::cout << "findings: none\n";
    for (const auto& x : findings)
      std::cout << "finding:  " << x.name << " [" << x.begin << "," << x.end << ") score "
                << x.score << ": " << args.text.substr(x.begin, x.end - x.begin) << "\n";
    std::cout << "masked:   " << (applied == mask::Applied::kNull ? "NULL" : masked) << "\n";
  }
  return 0;
}

}  // namespace phigate::cli
