#include "mask/profile.h"

#include <fnmatch.h>

#include <algorithm>

namespace phigate::mask {
namespace {

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t dot = s.find('.', pos);
    out.emplace_back(s.substr(pos, dot == std::string_view::npos ? s.npos : dot - pos));
    if (dot == std::string_view::npos) return out;
    pos = dot + 1;
  }
}

bool part_match(const std::string& glob, std::string_view name) {
  // fnmatch needs NUL-terminated text; identifiers are at most 63 bytes (NAMEDATALEN), so a stack
  // copy avoids an allocation; longer ones are truncated the way PostgreSQL truncates them.
  char buf[128];
  size_t n = std::min(name.size(), sizeof(buf) - 1);
  std::copy_n(name.data(), n, buf);
  buf[n] = 0;
  return fnmatch(glob.c_str(), buf, FNM_CASEFOLD) == 0;
}

}  // namespace

Result<std::shared_ptr<const MaskProfile>> MaskProfile::compile(ProfileSpec spec) {
  std::shared_ptr<MaskProfile> p(new MaskProfile());
  p->spec_ = std::move(spec);
  const ProfileSpec& s = p->spec_;
  size_t brace = s.redact_format.find("{}");
  if (brace == std::string::npos || s.redact_format.find("{}", brace + 2) != std::string::npos)
    return make_error("mask_config", "redact_format must contain exactly one {}");
  p->redact_prefix_ = s.redact_format.substr(0, brace);
  p->redact_suffix_ = s.redact_format.substr(brace + 2);
  bool needs_key = s.detector_action == Action::kHash;
  for (const ColumnRuleSpec& c : s.columns) needs_key |= c.action == Action::kHash;
  if (needs_key && s.hmac_key.empty())
    return make_error("mask_config",
                      "action hash needs an HMAC key (hmac_key_env or hmac_key_file)");
  auto engine = Engine::compile(s.detectors);
  if (!engine) return engine.error();
  p->engine_ = std::move(engine.value());

  auto options = [&](Action a) {
    ActionOptions o;
    o.action = a;
    o.hmac_key = p->spec_.hmac_key;
    o.redact_prefix = p->redact_prefix_;
    o.redact_suffix = p->redact_suffix_;
    return o;
  };
  p->detector_options_ = options(s.detector_action);
  for (const ColumnRuleSpec& c : s.columns) {
    Rule r;
    r.glob = c.column;
    r.parts = split_dots(c.column);
    if (r.parts.size() < 2 || r.parts.size() > 3)
      return make_error("mask_config",
                        "column \"" + c.column + "\" must be table.column or schema.table.column");
    for (const std::string& part : r.parts)
      if (part.empty())
        return make_error("mask_config", "column \"" + c.column + "\" has an empty part");
    r.label = "column:" + c.column;
    r.options = options(c.action);
    p->rules_.push_back(std::move(r));
  }
  return std::shared_ptr<const MaskProfile>(std::move(p));
}

int MaskProfile::match_column(std::string_view schema, std::string_view table,
                              std::string_view column) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& parts = rules_[i].parts;
    size_t n = parts.size();
    if (!part_match(parts[n - 1], column) || !part_match(parts[n - 2], table)) continue;
    if (n == 3 && !part_match(parts[0], schema)) continue;
    return static_cast<int>(i);
  }
  return -1;
}

}  // namespace phigate::mask
