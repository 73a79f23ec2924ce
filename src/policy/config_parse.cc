// YAML -> Config (DESIGN.md §4): every key is known, every value has the right type, every error is
// collected with its line. Values are checked in config_validate.cc.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <set>
#include <utility>

#include "common/byte_size.h"
#include "common/duration.h"
#include "policy/config_internal.h"
#include "policy/http_config_parse.h"

namespace phigate::config_detail {
namespace {

int line_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string join(const std::string& ctx, const std::string& key) {
  return ctx.empty() ? key : ctx + "." + key;
}

class Parser {
 public:
  Parser(LineMap& lines, std::vector<ConfigError>& errors) : lines_(lines), errors_(errors) {}

  void parse(const YAML::Node& root, Config& c);

 private:
  using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;
  using Handlers = std::vector<std::pair<std::string, Handler>>;

  void error(const YAML::Node& n, std::string msg) {
    errors_.push_back({line_of(n), std::move(msg)});
  }

  // Runs the handler of each key; unknown, duplicate and non-scalar keys are errors. A null node
  // (`tls:` with nothing after it) counts as an empty map. `ctx` is the map's dotted path, "" for
  // the top level.
  void map(const YAML::Node& n, const std::string& ctx, const Handlers& handlers) {
    const std::string where = ctx.empty() ? "the configuration" : ctx;
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      error(n, where + ": expected a mapping");
      return;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first, val = it->second;
      if (!key.IsScalar()) {
        error(key, "expected a plain key in " + where);
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        error(key, "duplicate key '" + name + "' in " + where);
        continue;
      }
      const Handler* h = nullptr;
      for (const auto& [known, handler] : handlers) {
        if (known == name) h = &handler;
      }
      if (h == nullptr) {
        error(key, "unknown key '" + name + "' in " + where);
        continue;
      }
      const std::string path = join(ctx, name);
      lines_.set(path, line_of(key));
      (*h)(val, path);
    }
  }

  // Each item of a sequence; a null node counts as empty.
  void seq(const YAML::Node& n, const std::string& path,
           const std::function<void(const YAML::Node&, const std::string&)>& item) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
      error(n, path + ": expected a list");
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      lines_.set(p, line_of(n[i]));
      item(n[i], p);
    }
  }

  Handler str(std::string& out) {
    return [this, &out](const YAML::Node& n, const std::string& path) {
      if (!n.IsScalar()) return error(n, path + ": expected a string");
      out = n.Scalar();
    };
  }

  Handler boolean(bool& out) {
    return [this, &out](const YAML::Node& n, const std::string& path) {
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) {
        error(n, path + ": expected true or false");
      }
    };
  }

  Handler uint(uint64_t& out, uint64_t max) {
    return [this, &out, max](const YAML::Node& n, const std::string& path) {
      const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (!n.IsScalar() || s.empty() || ec != std::errc() || end != s.data() + s.size() ||
          v > max) {
        return error(n, path + ": expected a whole number from 0 to " + std::to_string(max));
      }
      out = v;
    };
  }

  Handler duration(std::chrono::milliseconds& out) {
    return [this, &out](const YAML::Node& n, const std::string& path) {
      if (!n.IsScalar()) return error(n, path + ": expected a duration such as 10s");
      auto d = parse_duration(n.Scalar());
      if (!d)
        return error(n, path + ": '" + n.Scalar() + "' is not a duration: " + d.error().message);
      out = *d;
    };
  }

  Handler byte_size(uint64_t& out, uint64_t max) {
    return [this, &out, max](const YAML::Node& n, const std::string& path) {
      auto v = n.IsScalar() ? parse_byte_size(n.Scalar()) : Result<uint64_t>(Error{});
      if (!v || *v > max) {
        return error(
            n, path + ": expected a size up to " + std::to_string(max) + " bytes, such as 16KiB");
      }
      out = *v;
    };
  }

  Handler str_list(std::vector<std::string>& out) {
    return [this, &out](const YAML::Node& n, const std::string& path) {
      if (!n.IsSequence()) return error(n, path + ": expected a list of strings");
      for (size_t i = 0; i < n.size(); ++i) {
        if (!n[i].IsScalar()) {
          error(n[i], path + "[" + std::to_string(i) + "]: expected a string");
          continue;
        }
        out.push_back(n[i].Scalar());
      }
    };
  }

  Handler str_map(std::map<std::string, std::string>& out) {
    return [this, &out](const YAML::Node& n, const std::string& path) {
      if (n.IsNull()) return;
      if (!n.IsMap()) return error(n, path + ": expected a mapping of strings");
      for (auto it = n.begin(); it != n.end(); ++it) {
        const YAML::Node key = it->first, val = it->second;
        if (!key.IsScalar() || !val.IsScalar()) {
          error(key, path + ": expected string keys and values");
          continue;
        }
        if (!out.emplace(key.Scalar(), val.Scalar()).second) {
          error(key, "duplicate key '" + key.Scalar() + "' in " + path);
        }
      }
    };
  }

  void gateway(const YAML::Node& n, const std::string& ctx, GatewayConfig& g);
  void identity(const YAML::Node& n, const std::string& ctx, IdentityConfig& id);
  void resource(const YAML::Node& n, const std::string& ctx, ResourceConfig& r);
  void role(const YAML::Node& n, const std::string& ctx, RoleConfig& r);
  void rule(const YAML::Node& n, const std::string& ctx, RuleConfig& r);
  void audit(const YAML::Node& n, const std::string& ctx, AuditConfig& a);
  void approvals(const YAML::Node& n, const std::string& ctx, ApprovalsConfig& a);

  LineMap& lines_;
  std::vector<ConfigError>& errors_;
};

void Parser::parse(const YAML::Node& root, Config& c) {
  if (root.IsNull()) {
    errors_.push_back({0, "the configuration is empty"});
    return;
  }
  map(root, "",
      {
          {"gateway", [&](auto& n, auto&) { gateway(n, "gateway", c.gateway); }},
          {"identity", [&](auto& n, auto&) { identity(n, "identity", c.identity); }},
          {"resources",
           [&](auto& n, auto& p) {
             seq(n, p, [&](auto& item, auto& ip) {
               c.resources.emplace_back();
               c.resources.back().line = line_of(item);
               resource(item, ip, c.resources.back());
             });
           }},
          {"roles",
           [&](auto& n, auto& p) {
             if (n.IsNull()) return;
             if (!n.IsMap()) return error(n, "roles: expected a mapping of role names");
             // Role names are user-chosen keys, so the generic map() does not fit.
             std::set<std::string> seen;
             for (auto it = n.begin(); it != n.end(); ++it) {
               const YAML::Node key = it->first, val = it->second;
               if (!key.IsScalar()) {
                 error(key, "roles: expected a role name");
                 continue;
               }
               const std::string& name = key.Scalar();
               if (!seen.insert(name).second) {
                 error(key, "duplicate role '" + name + "'");
                 continue;
               }
               const std::string rp = p + "." + name;
               lines_.set(rp, line_of(key));
               c.roles.emplace_back();
               c.roles.back().name = name;
               c.roles.back().line = line_of(key);
               role(val, rp, c.roles.back());
             }
           }},
          {"masking", [&](auto& n, auto& p) { parse_masking(n, p, c, lines_, errors_); }},
          {"approvals", [&](auto& n, auto&) { approvals(n, "approvals", c.approvals); }},
          {"audit", [&](auto& n, auto&) { audit(n, "audit", c.audit); }},
      });
}

void Parser::gateway(const YAML::Node& n, const std::string& ctx, GatewayConfig& g) {
  ListenConfig& l = g.listen;
  map(n, ctx,
      {
          {"node_id", str(g.node_id)},
          {"data_dir", str(g.data_dir)},
          {"store", str(g.store)},
          {"listen",
           [&](auto& v, auto& p) {
             map(v, p,
                 {{"postgres", str(l.postgres)},
                  {"http", str(l.http)},
                  {"ssh", str(l.ssh)},
                  {"mysql", str(l.mysql)},
                  {"admin", str(l.admin)}});
           }},
          {"tls",
           [&](auto& v, auto& p) {
             map(v, p, {{"cert", str(g.tls_cert)}, {"key", str(g.tls_key)}});
           }},
          {"allow_cleartext_token_remote", boolean(g.allow_cleartext_token_remote)},
          {"threads",
           [&](auto& v, auto& p) {
             uint64_t t = static_cast<uint64_t>(g.threads);
             uint(t, 1024)(v, p);
             g.threads = static_cast<int>(t);
           }},
          {"cpu_affinity", boolean(g.cpu_affinity)},
          {"startup_timeout", duration(g.startup_timeout)},
      });
}

void Parser::identity(const YAML::Node& n, const std::string& ctx, IdentityConfig& id) {
  map(n, ctx,
      {
          {"issuers",
           [&](auto& v, auto& p) {
             seq(v, p, [&](auto& item, auto& ip) {
               id.issuers.emplace_back();
               IssuerConfig& is = id.issuers.back();
               is.line = line_of(item);
               map(item, ip,
                   {{"name", str(is.name)},
                    {"type", str(is.type)},
                    {"issuer", str(is.issuer)},
                    {"audience", str(is.audience)},
                    {"groups_claim", str(is.groups_claim)},
                    {"idp_metadata", str(is.idp_metadata)},
                    {"groups_attribute", str(is.groups_attribute)},
                    {"jwks_uri", str(is.jwks_uri)},
                    {"sp_entity_id", str(is.sp_entity_id)},
                    {"acs_url", str(is.acs_url)},
                    {"client_id", str(is.client_id)},
                    {"scopes", str_list(is.scopes)},

                    {"ca_file", str(is.ca_file)},
                    {"algorithms", str_list(is.algorithms)},
                    {"clock_skew",
                     [&](auto& cv, auto& cp) {
                       std::chrono::milliseconds ms{0};
                       duration(ms)(cv, cp);
                       is.clock_skew = ms;
                     }},
                    {"max_token_bytes", uint(is.max_token_bytes, 1024 * 1024)},
                    {"jwks_refresh", duration(is.jwks_refresh)},
                    {"jwks_refresh_min_interval", duration(is.jwks_refresh_min_interval)}});
             });
           }},
          {"group_roles",
           [&](auto& v, auto& p) {
             if (v.IsNull()) return;
             if (!v.IsMap()) return error(v, p + ": expected a mapping of group -> [roles]");
             for (auto it = v.begin(); it != v.end(); ++it) {
               const YAML::Node key = it->first, val = it->second;
               if (!key.IsScalar()) {
                 error(key, p + ": expected a group name");
                 continue;
               }
               const std::string& group = key.Scalar();
               if (id.group_roles.count(group)) {
                 error(key, "duplicate group '" + group + "' in " + p);
                 continue;
               }
               lines_.set(p + "." + group, line_of(key));
               str_list(id.group_roles[group])(val, p + "." + group);
             }
           }},
          {"clock_skew",
           [&](auto& v, auto& p) {
             std::chrono::milliseconds ms = id.clock_skew;
             duration(ms)(v, p);
             id.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(ms);
           }},
      });
}

void Parser::resource(const YAML::Node& n, const std::string& ctx, ResourceConfig& r) {
  if (!n.IsMap()) return error(n, ctx + ": expected a mapping");
  CredentialsConfig& cr = r.credentials;
  map(n, ctx,
      {
          {"name", str(r.name)},
          {"type", str(r.type)},
          {"upstream", str(r.upstream)},
          {"database", str(r.database)},
          {"upstream_tls", str(r.upstream_tls)},
          {"upstream_ca", str(r.upstream_ca)},
          {"credentials",
           [&](auto& v, auto& p) {
             map(v, p,
                 {{"username", str(cr.username)},
                  {"password_env", str(cr.password_env)},
                  {"password_file", str(cr.password_file)},
                  {"private_key_file", str(cr.private_key_file)}});
           }},
          {"inject_headers", str_map(r.inject_headers)},
          {"http", [&](auto& v, auto& p) { parse_http_resource(v, p, r.http, lines_, errors_); }},
      });
}

void Parser::role(const YAML::Node& n, const std::string& ctx, RoleConfig& r) {
  map(n, ctx,
      {
          {"resources", str_list(r.resources)},
          {"rules",
           [&](auto& v, auto& p) {
             seq(v, p, [&](auto& item, auto& ip) {
               r.rules.emplace_back();
               r.rules.back().line = line_of(item);
               rule(item, ip, r.rules.back());
             });
           }},
          {"masking", str(r.masking)},
          {"max_rows", uint(r.max_rows, UINT64_MAX)},
          {"max_body", uint(r.max_body, UINT64_MAX)},
          {"read_only", boolean(r.read_only)},
          {"allow_function_call", boolean(r.allow_function_call)},
          {"approve", str_list(r.approve)},
          {"audit_read", boolean(r.audit_read)},
      });
}

void Parser::rule(const YAML::Node& n, const std::string& ctx, RuleConfig& r) {
  if (!n.IsMap()) return error(n, ctx + ": expected a mapping");
  RuleMatch& m = r.match;
  map(n, ctx,
      {
          {"name", str(r.name)},
          {"match",
           [&](auto& v, auto& p) {
             map(v, p,
                 {{"statement", str_list(m.statement)},
                  {"methods", str_list(m.methods)},
                  {"paths", str_list(m.paths)},
                  {"tables", str_list(m.tables)},
                  {"where", str(m.where)},
                  {"query", str_map(m.query)},
                  {"body", str_map(m.body)},

                  {"functions", str_list(m.functions)},
                  {"writes",
                   [&](auto& wv, auto& wp) {
                     bool b = false;
                     boolean(b)(wv, wp);
                     m.writes = b;
                   }},
                  {"regex", str(m.regex)}});
           }},
          {"action", str(r.action)},
          {"message", str(r.message)},
      });
}

void Parser::audit(const YAML::Node& n, const std::string& ctx, AuditConfig& a) {
  map(n, ctx,
      {
          {"durability", str(a.durability)},
          {"checkpoint",
           [&](auto& v, auto& p) {
             map(v, p,
                 {{"every_events", uint(a.checkpoint_every_events, UINT64_MAX)},
                  {"every", duration(a.checkpoint_every)}});
           }},
          {"export",
           [&](auto& v, auto& p) {
             seq(v, p, [&](auto& item, auto& ip) {
               a.exports.emplace_back();
               AuditExportConfig& e = a.exports.back();
               if (!item.IsMap()) return error(item, ip + ": expected a mapping");
               map(item, ip,
                   {{"type", str(e.type)},
                    {"address", str(e.address)},
                    {"path", str(e.path)},
                    {"url", str(e.url)},
                    {"name", str(e.name)},
                    {"format", str(e.format)},
                    {"max_size", str(e.max_size)},
                    {"keep", uint(e.keep, 1000)},
                    {"token_env", str(e.token_env)},
                    {"token_file", str(e.token_file)},
                    {"batch", uint(e.batch, 100000)},
                    {"backoff_max", duration(e.backoff_max)}});
             });
           }},
          {"retention",
           [&](auto& v, auto& p) {
             std::chrono::milliseconds unused{0};
             size_t before = errors_.size();
             duration(unused)(v, p);
             if (errors_.size() == before) a.retention = v.Scalar();
           }},
          {"sync", str(a.sync)},
          {"capture",
           [&](auto& v, auto& p) {
             // Bounded so a capture can never hold much of a session's memory.
             map(v, p,
                 {{"enabled", boolean(a.capture.enabled)},
                  {"rows", uint(a.capture.rows, 10000)},
                  {"bytes", byte_size(a.capture.bytes, uint64_t(1) << 20)}});
           }},
      });
}

void Parser::approvals(const YAML::Node& n, const std::string& ctx, ApprovalsConfig& a) {
  map(n, ctx,
      {
          {"timeout", duration(a.timeout)},
          {"notify",
           [&](auto& v, auto& p) {
             seq(v, p, [&](auto& item, auto& ip) {
               if (!item.IsMap()) return error(item, ip + ": expected a mapping");
               std::string url;
               map(item, ip, {{"webhook", str(url)}});
               if (!url.empty()) a.notify_webhooks.push_back(url);
             });
           }},
      });
}

}  // namespace

void parse_config(const YAML::Node& root, Config& out, LineMap& lines,
                  std::vector<ConfigError>& errors) {
  Parser(lines, errors).parse(root, out);
}

}  // namespace phigate::config_detail
