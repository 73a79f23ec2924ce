#include "proxy/http_runtime.h"
#include "common/ascii.h"

#include <fstream>
#include <sstream>

namespace phigate::proxy {

const std::vector<std::pair<std::string, std::string>>& fhir_profile_fields() {
  // FHIR R4 Patient (and RelatedPerson/Practitioner, which share the shapes): identifiers (MRN,
  // SSN), contact points, birth date, addresses, human names, photos, and the narrative, which
  // repeats them as XHTML. Matched at any depth, so single resources, Bundles
  // ($.entry[*].resource) and contained resources are covered alike; HumanName is only masked
  // where `name` is an array (Organization.name, a plain string, is kept).
  static const std::vector<std::pair<std::string, std::string>> kFields = {
      {"$..identifier[*].value", "redact"},
      {"$..telecom[*].value", "redact"},
      {"$..birthDate", "redact"},
      {"$..address", "redact"},
      {"$..name[*]", "redact"},
      {"$..contact[*].name", "redact"},
      {"$..photo", "redact"},
      {"$..text.div", "redact"},
  };
  return kFields;
}

Result<std::string> expand_secret_refs(const std::string& value) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t at = value.find("${", pos);
    if (at == std::string::npos) {
      out.append(value, pos, std::string::npos);
      return out;
    }
    out.append(value, pos, at - pos);
    size_t end = value.find('}', at);
    if (end == std::string::npos) return make_error("secret", "unterminated ${...}");
    std::string ref = value.substr(at + 2, end - at - 2);
    if (ref.rfind("env:", 0) == 0) {
      const char* v = std::getenv(ref.substr(4).c_str());
      if (!v) return make_error("secret", "environment variable " + ref.substr(4) + " is not set");
      out += v;
    } else if (ref.rfind("file:", 0) == 0) {
      std::ifstream in(ref.substr(5));
      if (!in) return make_error("secret", "cannot read " + ref.substr(5));
      std::stringstream ss;
      ss << in.rdbuf();
      std::string s = ss.str();
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      out += s;
    } else {
      return make_error("secret", "references must be ${env:NAME} or ${file:PATH}");
    }
    pos = end + 1;
  }
}

namespace {

Result<std::unique_ptr<HttpResource>> build_resource(const ResourceConfig& rc) {
  auto r = std::make_unique<HttpResource>();
  r->config = &rc;
  auto t = upstream::parse_http_url(rc.upstream);
  if (!t) return t.error();
  r->target = std::move(*t);
  if (r->target.tls) {
    auto tls = upstream::make_http_client_tls(rc.upstream_ca);
    if (!tls) return tls.error();
    r->tls = std::move(*tls);
    // https is verified unless the resource says `upstream_tls: require` (encrypted, not
    // verified), the libpq meaning of the word.
    r->verify_tls = rc.upstream_tls != "require" && rc.upstream_tls != "disable";
  }
  for (const auto& [name, value] : rc.inject_headers) {
    auto v = expand_secret_refs(value);
    if (!v)
      return make_error("inject_headers", "inject_headers." + name + ": " + v.error().message);
    if (v->find_first_of("\r\n") != std::string::npos || v->find('\0') != std::string::npos) {
      return make_error("inject_headers", "inject_headers." + name + ": value has CR, LF or NUL");
    }
    r->inject.emplace_back(name, std::move(*v));
  }
  const HttpMaskConfig& m = rc.http.mask;
  r->mask = m.enabled;
  if (!m.enabled) return r;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> labels;
  for (const HttpMaskFieldConfig& f : m.fields) {
    fields.emplace_back(f.path, f.action);
    labels.push_back(f.label);
  }
  if (m.profile == "fhir") {
    for (const auto& f : fhir_profile_fields()) {
      fields.push_back(f);
      labels.emplace_back();
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    mask::JsonRule rule;
    rule.path_text = fields[i].first;
    auto p = mask::parse_json_path(fields[i].first);
    if (!p) return p.error();
    rule.path = std::move(*p);
    auto a = mask::parse_action(fields[i].second);
    if (!a) return a.error();
    rule.action = *a;
    rule.label = labels[i].empty() ? mask::default_label(rule.path) : labels[i];
    r->json.rules.push_back(std::move(rule));
  }
  mask::Profile profile;
  if (m.detectors_set) {
    profile.detectors = m.detectors;
  } else {
    for (std::string_view d : mask::builtin_detector_names()) profile.detectors.emplace_back(d);
  }
  if (!profile.detectors.empty()) {
    auto engine = mask::Engine::compile(profile);
    if (!engine) return engine.error();
    r->json.engine = std::move(*engine);
  }
  auto da = mask::parse_action(m.detector_action);
  if (!da) return da.error();
  r->detector_action = *da;
  r->json.detector_action = *da;
  r->json.max_value = m.max_value;
  r->accept_compressed = m.accept_compressed;
  r->max_decoded = m.max_decoded;
  if (!m.hmac_key_env.empty() || !m.hmac_key_file.empty()) {
    std::string ref = m.hmac_key_env.empty() ? "${file:" + m.hmac_key_file + "}"
                                             : "${env:" + m.hmac_key_env + "}";
    auto key = expand_secret_refs(ref);
    if (!key) return make_error("mask", "hmac key: " + key.error().message);
    r->json.hmac_key = std::move(*key);
  }
  for (const std::string& t : m.passthrough) r->passthrough.push_back(ascii_lower(t));
  return r;
}

}  // namespace

Result<std::shared_ptr<const HttpRuntime>> HttpRuntime::build(
    std::shared_ptr<const PolicySnapshot> snapshot) {
  auto rt = std::shared_ptr<HttpRuntime>(new HttpRuntime());
  rt->snapshot_ = std::move(snapshot);
  for (const ResourceConfig& rc : rt->snapshot_->config().resources) {
    if (rc.type != "http") continue;
    auto r = build_resource(rc);
    if (!r) return make_error(r.error().code, "resource '" + rc.name + "': " + r.error().message);
    rt->resources_.emplace(rc.name, std::move(*r));
  }
  return std::shared_ptr<const HttpRuntime>(std::move(rt));
}

const HttpResource* HttpRuntime::find(std::string_view name) const {
  auto it = resources_.find(std::string(name));
  return it == resources_.end() ? nullptr : it->second.get();
}

}  // namespace phigate::proxy
