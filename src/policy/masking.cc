#include "policy/masking.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace phigate {
namespace {

// The key file's content with one trailing newline removed (like `echo $KEY > file`).
Result<std::string> read_key(const MaskingProfileConfig& p) {
  std::string key;
  if (!p.hmac_key_env.empty()) {
    const char* v = std::getenv(p.hmac_key_env.c_str());
    if (!v) return make_error("secret", "environment variable " + p.hmac_key_env + " is not set");
    key = v;
  } else {
    std::ifstream in(p.hmac_key_file, std::ios::binary);
    if (!in) return make_error("secret", "cannot read hmac_key_file " + p.hmac_key_file);
    std::ostringstream s;
    s << in.rdbuf();
    key = s.str();
    if (!key.empty() && key.back() == '\n') key.pop_back();
    if (!key.empty() && key.back() == '\r') key.pop_back();
  }
  // A short key makes the tokens guessable by brute force over the value space (9-digit SSNs).
  if (key.size() < 16) return make_error("secret", "the HMAC key must be at least 16 bytes");
  return key;
}

}  // namespace

std::shared_ptr<const mask::MaskProfile> compile_masking_profile(const MaskingProfileConfig& p,
                                                                 bool read_secrets,
                                                                 std::vector<ConfigError>& errors) {
  const std::string where = "masking." + p.name;
  const size_t before = errors.size();
  auto err = [&](int line, std::string msg) {
    errors.push_back({line ? line : p.line, where + msg});
  };
  mask::ProfileSpec spec;
  spec.name = p.name;
  spec.detectors.detectors = p.detectors;
  spec.detectors.threshold = static_cast<float>(p.threshold);
  for (const MaskingCustomConfig& c : p.custom) {
    if (c.name.empty() || c.regex.empty())
      err(c.line, ".custom: each entry needs a name and a regex");
    spec.detectors.custom.push_back({c.name, c.regex});
  }
  for (const MaskingColumnConfig& c : p.columns) {
    auto a = mask::parse_action(c.action);
    if (c.column.empty()) err(c.line, ".columns: each entry needs a column");
    if (!a) {
      err(c.line, ".columns: " + a.error().message);
      continue;
    }
    spec.columns.push_back({c.column, *a});
  }
  auto da = mask::parse_action(p.detector_action);
  if (!da)
    err(0, ".detector_action: " + da.error().message);
  else
    spec.detector_action = *da;
  if (p.on_whole_row == "refuse")
    spec.on_whole_row = mask::WholeRow::kRefuse;
  else if (p.on_whole_row == "mask")
    spec.on_whole_row = mask::WholeRow::kMask;
  else
    err(0, ".on_whole_row: '" + p.on_whole_row + "' is not one of refuse | mask");
  if (p.binary == "null")
    spec.binary = mask::BinaryFallback::kNull;
  else if (p.binary == "refuse")
    spec.binary = mask::BinaryFallback::kRefuse;
  else
    err(0, ".binary: '" + p.binary + "' is not one of null | refuse");
  spec.redact_format = p.redact_format;
  if (!p.hmac_key_env.empty() && !p.hmac_key_file.empty())
    err(0, ": set one of hmac_key_env and hmac_key_file, not both");
  if (!p.hmac_key_env.empty() || !p.hmac_key_file.empty()) {
    if (read_secrets) {
      auto key = read_key(p);
      if (!key)
        err(0, ": " + key.error().message);
      else
        spec.hmac_key = std::move(*key);
    } else {
      spec.hmac_key = "placeholder-key-for-validation";
    }
  }
  if (errors.size() > before) return nullptr;
  auto compiled = mask::MaskProfile::compile(std::move(spec));
  if (!compiled) {
    // Point at the custom detector the message names, when it names one.
    int line = 0;
    for (const MaskingCustomConfig& c : p.custom)
      if (compiled.error().message.find("\"" + c.name + "\"") != std::string::npos) line = c.line;
    err(line, ": " + compiled.error().message);
    return nullptr;
  }
  return std::move(compiled.value());
}

}  // namespace phigate
