// `masking:` profiles (DESIGN.md §4): YAML -> MaskingProfileConfig with line numbers, then value
// checks. The detector database is compiled here as well, so a custom regex hyperscan rejects is a
// config error with its line (`config check`, and serve/reload refuse the file).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "policy/config_internal.h"
#include "policy/masking.h"

namespace phigate::config_detail {
namespace {

int line_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

struct Ctx {
  LineMap& lines;
  std::vector<ConfigError>& errors;
  void error(const YAML::Node& n, std::string msg) {
    errors.push_back({line_of(n), std::move(msg)});
  }
  bool scalar(const YAML::Node& n, const std::string& path, std::string& out) {
    if (!n.IsScalar()) {
      error(n, path + ": expected a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }
  void str_list(const YAML::Node& n, const std::string& path, std::vector<std::string>& out) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) return error(n, path + ": expected a list of strings");
    for (size_t i = 0; i < n.size(); ++i) {
      std::string v;
      if (scalar(n[i], path + "[" + std::to_string(i) + "]", v)) out.push_back(std::move(v));
    }
  }
  // Calls `key(name, value, path)` for each key of a mapping; it returns false for unknown keys.
  template <class F>
  void each_key(const YAML::Node& n, const std::string& path, F key) {
    if (n.IsNull()) return;
    if (!n.IsMap()) return error(n, path + ": expected a mapping");
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node k = it->first, v = it->second;
      if (!k.IsScalar()) {
        error(k, "expected a plain key in " + path);
        continue;
      }
      if (!seen.insert(k.Scalar()).second) {
        error(k, "duplicate key '" + k.Scalar() + "' in " + path);
        continue;
      }
      lines.set(path + "." + k.Scalar(), line_of(k));
      if (!key(k.Scalar(), v, path + "." + k.Scalar()))
        error(k, "unknown key '" + k.Scalar() + "' in " + path);
    }
  }
};

void parse_profile(Ctx& cx, const YAML::Node& n, const std::string& path, MaskingProfileConfig& p) {
  cx.each_key(n, path, [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
    if (k == "detectors") return cx.str_list(v, kp, p.detectors), true;
    if (k == "detector_action") return cx.scalar(v, kp, p.detector_action), true;
    if (k == "hmac_key_env") return cx.scalar(v, kp, p.hmac_key_env), true;
    if (k == "hmac_key_file") return cx.scalar(v, kp, p.hmac_key_file), true;
    if (k == "redact_format") return cx.scalar(v, kp, p.redact_format), true;
    if (k == "on_whole_row") return cx.scalar(v, kp, p.on_whole_row), true;
    if (k == "binary") return cx.scalar(v, kp, p.binary), true;
    if (k == "threshold") {
      std::string s;
      if (!cx.scalar(v, kp, s)) return true;
      double d = -1;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec != std::errc() || end != s.data() + s.size() || d < 0 || d > 1)
        cx.error(v, kp + ": expected a number from 0 to 1");
      else
        p.threshold = d;
      return true;
    }
    if (k == "columns" || k == "custom") {
      if (v.IsNull()) return true;
      if (!v.IsSequence()) return cx.error(v, kp + ": expected a list"), true;
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string ip = kp + "[" + std::to_string(i) + "]";
        const int line = line_of(v[i]);
        if (!v[i].IsMap()) {
          cx.error(v[i], ip + ": expected a mapping");
          continue;
        }
        if (k == "columns") {
          MaskingColumnConfig c;
          c.line = line;
          cx.each_key(v[i], ip,
                      [&](const std::string& ck, const YAML::Node& cv, const std::string& cp) {
                        if (ck == "column") return cx.scalar(cv, cp, c.column), true;
                        if (ck == "action") return cx.scalar(cv, cp, c.action), true;
                        return false;
                      });
          p.columns.push_back(std::move(c));
        } else {
          MaskingCustomConfig c;
          c.line = line;
          cx.each_key(v[i], ip,
                      [&](const std::string& ck, const YAML::Node& cv, const std::string& cp) {
                        if (ck == "name") return cx.scalar(cv, cp, c.name), true;
                        if (ck == "regex") return cx.scalar(cv, cp, c.regex), true;
                        return false;
                      });
          p.custom.push_back(std::move(c));
        }
      }
      return true;
    }
    return false;
  });
}

}  // namespace

void parse_masking(const YAML::Node& n, const std::string& path, Config& out, LineMap& lines,
                   std::vector<ConfigError>& errors) {
  Ctx cx{lines, errors};
  if (n.IsNull()) return;
  if (!n.IsMap()) return cx.error(n, "masking: expected a mapping of profile names");
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first, val = it->second;
    if (!key.IsScalar()) {
      cx.error(key, "masking: expected a profile name");
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      cx.error(key, "duplicate masking profile '" + key.Scalar() + "'");
      continue;
    }
    const std::string p = path + "." + key.Scalar();
    lines.set(p, line_of(key));
    out.masking_profiles.push_back(key.Scalar());
    MaskingProfileConfig prof;
    prof.name = key.Scalar();
    prof.line = line_of(key);
    parse_profile(cx, val, p, prof);
    out.masking.push_back(std::move(prof));
  }
}

void validate_masking(const Config& c, std::vector<ConfigError>& errors) {
  for (const MaskingProfileConfig& p : c.masking) {
    // Structure and values without reading the HMAC secret: `config check` runs where the
    // gateway's environment may not be; serve reads it when it compiles the snapshot.
    (void)compile_masking_profile(p, /*read_secrets=*/false, errors);
  }
}

}  // namespace phigate::config_detail
