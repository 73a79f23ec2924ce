#pragma once
// The configuration model of DESIGN.md §4 and its loader. Unknown keys are errors; every error
// names the YAML line.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace phigate {

struct ListenConfig {
  std::string postgres;  // "host:port"; empty = not listening
  std::string http, ssh, mysql, admin;
};

struct GatewayConfig {
  std::string node_id = "gw-1";
  std::string data_dir = "./var";
  std::string store = "sqlite";
  ListenConfig listen;
  std::string tls_cert, tls_key;              // client-facing TLS
  bool allow_cleartext_token_remote = false;  // token over non-TLS from non-loopback peers
  int threads = 0;                            // 0 = one per core
  // Accept to ReadyForQuery (TLS, token, upstream login); a stalled client is disconnected.
  std::chrono::milliseconds startup_timeout{15000};
};

struct IssuerConfig {
  std::string name;
  std::string type;  // local | oidc | saml
  std::string issuer, audience, groups_claim, idp_metadata, groups_attribute, jwks_uri;
  // oidc (identity/oidc_issuer.h): HTTPS CA bundle, algorithm allowlist, per-issuer clock skew
  // (default identity.clock_skew), token size cap, periodic JWKS refresh, and the least time
  // between two refreshes triggered by unknown key ids.
  std::string ca_file;
  std::vector<std::string> algorithms;
  std::optional<std::chrono::milliseconds> clock_skew;
  uint64_t max_token_bytes = 16 * 1024;
  std::chrono::milliseconds jwks_refresh{600000}, jwks_refresh_min_interval{10000};
  int line = 0;
};

struct IdentityConfig {
  std::vector<IssuerConfig> issuers;
  std::map<std::string, std::vector<std::string>> group_roles;
  std::chrono::seconds clock_skew{60};
};

struct CredentialsConfig {
  std::string username;
  std::string password_env, password_file;
  std::string private_key_file;
};

struct ResourceConfig {
  std::string name;
  std::string type;      // postgres | http | ssh | mysql
  std::string upstream;  // host:port or URL
  std::string database;
  std::string upstream_tls = "prefer";  // disable | prefer | require | verify-full
  std::string upstream_ca;              // CA file for verify-full (default: system store)
  CredentialsConfig credentials;
  std::map<std::string, std::string> inject_headers;
  int line = 0;
};

// A rule with `statement`/`tables`/`where` applies to SQL statements, one with `methods`/`paths`
// to HTTP requests; an empty match applies to every request of the role's resources.
struct RuleMatch {
  // kinds (sql::kind_name), "plumbing" (any plumbing statement) or "identity" (statements that
  // change the upstream identity: SET ROLE, set_config('role', ...); see policy/stages).
  std::vector<std::string> statement;
  std::vector<std::string> methods, paths, tables;  // paths/tables are fnmatch globs
  std::string where;                                // "", "absent", "present"
};

struct RuleConfig {
  std::string name;  // optional; default "<role>#<index>"
  RuleMatch match;
  std::string action;  // allow | deny | review
  std::string message;
  int line = 0;
};

struct RoleConfig {
  std::string name;
  std::vector<std::string> resources;
  std::vector<RuleConfig> rules;
  std::string masking;
  uint64_t max_rows = 0;
  bool read_only = false;
  bool allow_function_call = false;  // FunctionCall protocol messages
  std::vector<std::string> approve;
  bool audit_read = false;
  int line = 0;
};

struct AuditExportConfig {
  std::string type, address, path, url;
};

struct AuditConfig {
  std::string durability = "strict";  // strict | async
  uint64_t checkpoint_every_events = 1000;
  std::chrono::milliseconds checkpoint_every{10000};
  std::vector<AuditExportConfig> exports;
  std::string retention;
  std::string sync =
      "normal";  // sqlite synchronous: normal (survives process crash) | full (fsync)
};

struct ApprovalsConfig {
  std::chrono::milliseconds timeout{300000};
  std::vector<std::string> notify_webhooks;  // notify: [ { webhook: URL } ]
};

struct Config {
  GatewayConfig gateway;
  IdentityConfig identity;
  std::vector<ResourceConfig> resources;
  std::vector<RoleConfig> roles;
  AuditConfig audit;
  ApprovalsConfig approvals;
  // Names of the `masking:` profiles. Their contents are validated and compiled by src/mask/.
  std::vector<std::string> masking_profiles;
  std::string path;  // file it was loaded from
  const ResourceConfig* find_resource(std::string_view name) const;
  const RoleConfig* find_role(std::string_view name) const;
};

struct ConfigError {
  int line = 0;  // 1-based; 0 when unknown
  std::string message;
};

// Parses and validates. On failure returns every error found (not just the first).
struct ConfigLoad {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  std::string path;  // as given to the loader, for messages
};
ConfigLoad load_config_file(const std::string& path);
ConfigLoad load_config_text(const std::string& yaml, const std::string& path = "<text>");

// One "path:line: message" line per error (`phigate config check`); "path: message" when the
// line is unknown. Empty when there are no errors.
std::string format_errors(const ConfigLoad& load);

// Checks the policy part (roles, rules, group_roles and their references) of a Config that did not
// come from the loader, e.g. one built in code. Lines are 0. The loader already runs this.
std::vector<ConfigError> validate_policy(const Config& config);

}  // namespace phigate
