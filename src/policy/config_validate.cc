// Values and cross-references of a parsed Config (DESIGN.md §4). Every problem is reported, each
// with the line of the key it is about.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "policy/config_internal.h"
#include "policy/http_config_parse.h"
#include "policy/issuer_options.h"
#include "policy/stages/compiled_policy.h"

namespace phigate::config_detail {

int LineMap::line(std::string path) const {
  while (!path.empty()) {
    auto it = lines_.find(path);
    if (it != lines_.end()) return it->second;
    size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return 0;
}

bool valid_host_port(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
  } else {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
        return false;
      }
    }
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  return !port.empty() && ec == std::errc() && end == port.data() + port.size() && v <= 65535;
}

namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

std::string options_text(std::initializer_list<std::string_view> options) {
  std::string out;
  for (std::string_view o : options) out += (out.empty() ? "" : " | ") + std::string(o);
  return out;
}

class Checker {
 public:
  Checker(const LineMap* lines, std::vector<ConfigError>& errors)
      : lines_(lines), errors_(errors) {}

  void error(const std::string& path, std::string msg) {
    errors_.push_back({lines_ ? lines_->line(path) : 0, std::move(msg)});
  }
  void error_at(int line, std::string msg) { errors_.push_back({line, std::move(msg)}); }

  void enumerated(const std::string& path, const std::string& value,
                  std::initializer_list<std::string_view> options) {
    if (!one_of(value, options)) {
      error(path, path + ": '" + value + "' is not one of " + options_text(options));
    }
  }

  void host_port(const std::string& path, const std::string& value) {
    if (!value.empty() && !valid_host_port(value)) {
      error(path, path + ": '" + value + "' is not host:port");
    }
  }

 private:
  const LineMap* lines_;
  std::vector<ConfigError>& errors_;
};

void check_resource(Checker& ck, const ResourceConfig& r, const std::string& p) {
  const CredentialsConfig& cr = r.credentials;
  if (r.name.empty()) ck.error(p, p + ": missing 'name'");
  if (r.type.empty()) {
    ck.error(p, p + ": missing 'type'");
  } else {
    ck.enumerated(p + ".type", r.type, {"postgres", "http", "ssh", "mysql"});
  }
  ck.enumerated(p + ".upstream_tls", r.upstream_tls,
                {"disable", "prefer", "require", "verify-full"});
  const std::string who = "resource '" + r.name + "'";
  if (r.type == "postgres" || r.type == "mysql" || r.type == "ssh") {
    if (r.upstream.empty()) {
      ck.error(p, who + ": missing 'upstream' (host:port)");
    } else {
      ck.host_port(p + ".upstream", r.upstream);
    }
  }
  if (r.type == "postgres") {
    if (r.database.empty()) ck.error(p, who + ": missing 'database'");
    if (cr.username.empty()) ck.error(p + ".credentials", who + ": missing 'credentials.username'");
    if (cr.password_env.empty() == cr.password_file.empty()) {
      ck.error(p + ".credentials",
               who + ": credentials need exactly one of 'password_env' and 'password_file'");
    }
  }
  if (r.type == "http") {
    if (r.upstream.rfind("http://", 0) != 0 && r.upstream.rfind("https://", 0) != 0) {
      ck.error(p + ".upstream", who + ": 'upstream' must be an http:// or https:// URL");
    }
    for (std::string& e : validate_http_resource(r)) ck.error(p + ".http", who + ": " + e);
  } else if (!r.inject_headers.empty()) {
    ck.error(p + ".inject_headers", who + ": 'inject_headers' applies to http resources only");
  }
}

}  // namespace

void validate_gateway(const Config& c, const LineMap* lines, std::vector<ConfigError>& errors) {
  Checker ck(lines, errors);
  const GatewayConfig& g = c.gateway;
  if (g.node_id.empty()) ck.error("gateway.node_id", "gateway.node_id: must not be empty");
  if (g.data_dir.empty()) ck.error("gateway.data_dir", "gateway.data_dir: must not be empty");
  if (g.store != "sqlite" && g.store.rfind("postgres://", 0) != 0 &&
      g.store.rfind("postgresql://", 0) != 0) {
    ck.error("gateway.store", "gateway.store: expected 'sqlite' or a postgres:// URL");
  }
  const std::pair<const char*, const std::string*> listen[] = {
      {"postgres", &g.listen.postgres}, {"http", &g.listen.http},   {"ssh", &g.listen.ssh},
      {"mysql", &g.listen.mysql},       {"admin", &g.listen.admin},
  };
  for (const auto& [key, value] : listen) {
    ck.host_port(std::string("gateway.listen.") + key, *value);
  }
  if (g.tls_cert.empty() != g.tls_key.empty()) {
    ck.error("gateway.tls", "gateway.tls: 'cert' and 'key' go together");
  }

  std::set<std::string> issuer_names;
  int locals = 0;
  for (size_t i = 0; i < c.identity.issuers.size(); ++i) {
    const IssuerConfig& is = c.identity.issuers[i];
    const std::string p = "identity.issuers[" + std::to_string(i) + "]";
    if (is.name.empty()) ck.error(p, p + ": missing 'name'");
    if (!is.name.empty() && !issuer_names.insert(is.name).second) {
      ck.error(p + ".name", "duplicate issuer name '" + is.name + "'");
    }
    if (is.type.empty()) {
      ck.error(p, p + ": missing 'type'");
      continue;
    }
    ck.enumerated(p + ".type", is.type, {"local", "oidc", "saml"});
    if (is.type == "local" && ++locals == 2) {
      ck.error(p + ".type", "at most one issuer may have type local");
    }
    if (is.type == "oidc" && is.issuer.empty()) {
      ck.error(p, "issuer '" + is.name + "': oidc needs 'issuer' (the IdP's URL)");
    }
    if (is.type == "oidc") {
      auto opts = to_oidc_options(is, c.identity);
      for (const auto& e : check_oidc_options(opts)) ck.error(p, "issuer '" + is.name + "': " + e);
      for (size_t j = 0; j < i; ++j) {
        if (c.identity.issuers[j].type == "oidc" && c.identity.issuers[j].issuer == is.issuer) {
          ck.error(p, "issuer '" + is.name + "': another oidc issuer has the same 'issuer' URL");
        }
      }
    }
    if (is.type == "saml" && is.idp_metadata.empty()) {
      ck.error(p, "issuer '" + is.name + "': saml needs 'idp_metadata'");
    }
    // People log in through the admin listener's ACS: without it the issuer could not be used.
    if (is.type == "saml" && c.gateway.listen.admin.empty()) {
      ck.error(p, "issuer '" + is.name + "': saml login needs gateway.listen.admin");
    }
  }

  std::set<std::string> resource_names;
  for (size_t i = 0; i < c.resources.size(); ++i) {
    const ResourceConfig& r = c.resources[i];
    const std::string p = "resources[" + std::to_string(i) + "]";
    if (!r.name.empty() && !resource_names.insert(r.name).second) {
      ck.error(p + ".name", "duplicate resource name '" + r.name + "'");
    }
    check_resource(ck, r, p);
  }

  const AuditConfig& a = c.audit;
  ck.enumerated("audit.durability", a.durability, {"strict", "async"});
  ck.enumerated("audit.sync", a.sync, {"normal", "full"});
  for (size_t i = 0; i < a.exports.size(); ++i) {
    const AuditExportConfig& e = a.exports[i];
    const std::string p = "audit.export[" + std::to_string(i) + "]";
    if (e.type.empty()) {
      ck.error(p, p + ": missing 'type'");
      continue;
    }
    ck.enumerated(p + ".type", e.type, {"syslog", "jsonl", "webhook"});
    if (e.type == "syslog" && e.address.empty()) ck.error(p, p + ": syslog needs 'address'");
    if (e.type == "jsonl" && e.path.empty()) ck.error(p, p + ": jsonl needs 'path'");
    if (e.type == "webhook" && e.url.empty()) ck.error(p, p + ": webhook needs 'url'");
    for (const std::string& msg : check_audit_export(e)) ck.error(p, p + ": " + msg);
    for (size_t j = 0; j < i; ++j) {
      if (audit_export_name(a.exports[j]) == audit_export_name(e)) {
        ck.error(p, p + ": exporter name '" + audit_export_name(e) + "' is used twice");
      }
    }
  }
}

void validate_policy(const Config& c, const LineMap* lines, std::vector<ConfigError>& errors) {
  Checker ck(lines, errors);
  for (const auto& [group, roles] : c.identity.group_roles) {
    const std::string p = "identity.group_roles." + group;
    for (const std::string& role : roles) {
      if (c.find_role(role) == nullptr) {
        ck.error(p, p + ": role '" + role + "' is not defined in roles");
      }
    }
  }
  for (const RoleConfig& role : c.roles) {
    const std::string rp = "roles." + role.name;
    auto at = [&](const std::string& sub) { return lines ? lines->line(rp + sub) : role.line; };
    if (role.name.empty()) ck.error_at(role.line, "a role needs a name");
    for (const std::string& r : role.resources) {
      if (c.find_resource(r) == nullptr) {
        ck.error_at(at(".resources"), rp + ": resource '" + r + "' is not defined in resources");
      }
    }
    for (const std::string& r : role.approve) {
      if (c.find_resource(r) == nullptr) {
        ck.error_at(at(".approve"),
                    rp + ": approve names resource '" + r + "', which is not defined in resources");
      }
    }
    if (!role.masking.empty() && std::find(c.masking_profiles.begin(), c.masking_profiles.end(),
                                           role.masking) == c.masking_profiles.end()) {
      ck.error_at(at(".masking"),
                  rp + ": masking profile '" + role.masking + "' is not defined in masking");
    }
    for (size_t i = 0; i < role.rules.size(); ++i) {
      const RuleConfig& rule = role.rules[i];
      const std::string p = rp + ".rules[" + std::to_string(i) + "]";
      auto rule_at = [&](const std::string& sub) {
        return lines ? lines->line(p + sub) : rule.line;
      };
      if (rule.action.empty()) {
        ck.error_at(rule_at(""), p + ": missing 'action' (allow | deny | review)");
      } else if (!parse_rule_action(rule.action)) {
        ck.error_at(rule_at(".action"),
                    p + ".action: '" + rule.action + "' is not one of allow | deny | review");
      }
      for (const std::string& s : rule.match.statement) {
        if (!statement_match_bits(s)) {
          ck.error_at(rule_at(".match.statement"),
                      p + ".match.statement: unknown statement kind '" + s + "'");
        }
      }
      if (!rule.match.where.empty() && !one_of(rule.match.where, {"absent", "present"})) {
        ck.error_at(rule_at(".match.where"),
                    p + ".match.where: '" + rule.match.where + "' is not one of absent | present");
      }
      const RuleMatch& m = rule.match;
      bool sql_keys = m.has_sql_keys();
      if (sql_keys && m.has_http_keys()) {
        ck.error_at(rule_at(".match"),
                    p + ".match: statement/tables/functions/where/writes/regex (SQL) and "
                        "methods/paths (HTTP) cannot be combined in one rule");
      }
      if (!m.regex.empty()) {
        if (auto re = SqlRegex::compile(m.regex); !re) {
          ck.error_at(
              rule_at(".match.regex"),
              p + ".match.regex: '" + m.regex + "' is not a usable pattern: " + re.error().message);
        }
      }
      for (const std::string& f : m.functions) {
        if (f.empty()) ck.error_at(rule_at(".match.functions"), p + ".match.functions: empty name");
      }
      for (const std::string& t : m.tables) {
        if (t.empty()) ck.error_at(rule_at(".match.tables"), p + ".match.tables: empty name");
      }
      for (const std::string& method : m.methods) {
        if (method.empty() || method.find_first_of(" \t/") != std::string::npos) {
          ck.error_at(rule_at(".match.methods"),
                      p + ".match.methods: '" + method + "' is not an HTTP method");
        }
      }
      for (const auto& [path, glob] : m.body) {
        if (path.empty() || path[0] != '$') {
          ck.error_at(rule_at(".match.body"),
                      p + ".match.body: '" + path + "' is not a JSON path (e.g. $.action)");
        }
      }
    }
  }
}

}  // namespace phigate::config_detail
