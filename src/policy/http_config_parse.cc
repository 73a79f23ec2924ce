// YAML -> HttpResourceConfig. Same rules as the rest of the loader: unknown keys and wrong types
// are errors with the line of the key.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <set>

#include "common/duration.h"
#include "policy/http_config_parse.h"

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
};

using Handler = std::function<void(const YAML::Node&, const std::string&)>;

void map(Ctx& c, const YAML::Node& n, const std::string& ctx,
         const std::vector<std::pair<std::string, Handler>>& handlers) {
  if (n.IsNull()) return;
  if (!n.IsMap()) return c.error(n, ctx + ": expected a mapping");
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first, val = it->second;
    if (!key.IsScalar()) {
      c.error(key, "expected a plain key in " + ctx);
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      c.error(key, "duplicate key '" + key.Scalar() + "' in " + ctx);
      continue;
    }
    const Handler* h = nullptr;
    for (const auto& [known, handler] : handlers)
      if (known == key.Scalar()) h = &handler;
    if (!h) {
      c.error(key, "unknown key '" + key.Scalar() + "' in " + ctx);
      continue;
    }
    c.lines.set(ctx + "." + key.Scalar(), line_of(key));
    (*h)(val, ctx + "." + key.Scalar());
  }
}

Handler str(Ctx& c, std::string& out) {
  return [&c, &out](const YAML::Node& n, const std::string& p) {
    if (!n.IsScalar()) return c.error(n, p + ": expected a string");
    out = n.Scalar();
  };
}

Handler str_list(Ctx& c, std::vector<std::string>& out, bool* set = nullptr) {
  return [&c, &out, set](const YAML::Node& n, const std::string& p) {
    if (!n.IsSequence()) return c.error(n, p + ": expected a list of strings");
    if (set) *set = true;
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) {
        c.error(n[i], p + ": expected a string");
        continue;
      }
      out.push_back(n[i].Scalar());
    }
  };
}

Handler uint(Ctx& c, uint64_t& out) {
  return [&c, &out](const YAML::Node& n, const std::string& p) {
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      return c.error(n, p + ": expected a whole number");
    out = v;
  };
}

Handler boolean(Ctx& c, bool& out) {
  return [&c, &out](const YAML::Node& n, const std::string& p) {
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    if (s == "true") {
      out = true;
    } else if (s == "false") {
      out = false;
    } else {
      c.error(n, p + ": expected true or false");
    }
  };
}

}  // namespace

void parse_http_resource(const YAML::Node& n, const std::string& path, HttpResourceConfig& out,
                         LineMap& lines, std::vector<ConfigError>& errors) {
  Ctx c{lines, errors};
  HttpMaskConfig& m = out.mask;
  map(c, n, path,
      {
          {"mask",
           [&](const YAML::Node& v, const std::string& p) {
             m.enabled = true;
             map(c, v, p,
                 {
                     {"profile", str(c, m.profile)},
                     {"detectors", str_list(c, m.detectors, &m.detectors_set)},
                     {"detector_action", str(c, m.detector_action)},
                     {"passthrough", str_list(c, m.passthrough)},
                     {"max_value", uint(c, m.max_value)},
                     {"accept_compressed", boolean(c, m.accept_compressed)},
                     {"max_decoded", uint(c, m.max_decoded)},
                     {"hmac_key_env", str(c, m.hmac_key_env)},
                     {"hmac_key_file", str(c, m.hmac_key_file)},
                     {"fields",
                      [&](const YAML::Node& fv, const std::string& fp) {
                        if (!fv.IsSequence()) return c.error(fv, fp + ": expected a list");
                        for (size_t i = 0; i < fv.size(); ++i) {
                          m.fields.emplace_back();
                          HttpMaskFieldConfig& f = m.fields.back();
                          f.line = line_of(fv[i]);
                          const std::string ip = fp + "[" + std::to_string(i) + "]";
                          map(c, fv[i], ip,
                              {{"path", str(c, f.path)},
                               {"action", str(c, f.action)},
                               {"label", str(c, f.label)}});
                        }
                      }},
                 });
           }},
          {"upstream_timeout",
           [&](const YAML::Node& v, const std::string& p) {
             auto d = v.IsScalar() ? parse_duration(v.Scalar()) : parse_duration("");
             if (!d) return c.error(v, p + ": expected a duration such as 30s");
             out.upstream_timeout = *d;
           }},
          {"capture_bodies", uint(c, out.capture_bodies)},
      });
}

std::vector<std::string> validate_http_resource(const ResourceConfig& r) {
  std::vector<std::string> errs;
  const HttpMaskConfig& m = r.http.mask;
  auto action_ok = [](const std::string& a) {
    return a == "redact" || a == "partial" || a == "hash" || a == "null";
  };
  if (!m.profile.empty() && m.profile != "fhir") {
    errs.push_back("http.mask.profile: '" + m.profile + "' is not a known profile (fhir)");
  }
  if (!action_ok(m.detector_action)) {
    errs.push_back("http.mask.detector_action: '" + m.detector_action +
                   "' is not one of redact | partial | hash | null");
  }
  bool uses_hash = m.detector_action == "hash";
  for (const HttpMaskFieldConfig& f : m.fields) {
    if (f.path.empty() || f.path[0] != '$') {
      errs.push_back("http.mask.fields: '" + f.path + "' is not a JSON path (e.g. $.a[*].b)");
    }
    if (!action_ok(f.action)) {
      errs.push_back("http.mask.fields: action '" + f.action +
                     "' is not one of redact | partial | hash | null");
    }
    uses_hash = uses_hash || f.action == "hash";
  }
  if (uses_hash && m.hmac_key_env.empty() && m.hmac_key_file.empty()) {
    errs.push_back("http.mask: action hash needs hmac_key_env or hmac_key_file");
  }
  if (r.http.upstream_timeout.count() <= 0) {
    errs.push_back("http.upstream_timeout: must be more than 0");
  }
  // inject_headers: only ${env:NAME} and ${file:PATH} references; expanded when serving starts.
  for (const auto& [name, value] : r.inject_headers) {
    size_t pos = 0;
    while ((pos = value.find("${", pos)) != std::string::npos) {
      size_t end = value.find('}', pos);
      std::string_view ref = std::string_view(value).substr(
          pos + 2, end == std::string::npos ? std::string::npos : end - pos - 2);
      if (end == std::string::npos || !(ref.rfind("env:", 0) == 0 || ref.rfind("file:", 0) == 0) ||
          ref.size() <= 5) {
        errs.push_back("inject_headers." + name +
                       ": references must be ${env:NAME} or ${file:PATH}");
        break;
      }
      pos = end + 1;
    }
    for (char ch : name) {
      bool tchar = std::isalnum(static_cast<unsigned char>(ch)) ||
                   std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
      if (!tchar) {
        errs.push_back("inject_headers: '" + name + "' is not a header field name");
        break;
      }
    }
  }
  return errs;
}

}  // namespace phigate::config_detail
