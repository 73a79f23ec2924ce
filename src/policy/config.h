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
#include "policy/http_config.h"

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
  bool cpu_affinity = false;                  // pin io thread i to the i-th allowed CPU
  // Accept to ReadyForQuery (TLS, token, upstream login); a stalled client is disconnected.
  std::chrono::milliseconds startup_timeout{15000};
};

struct IssuerConfig {
  std::string name;
  std::string type;  // local | oidc | saml
  std::string issuer, audience, groups_claim, idp_metadata, groups_attribute, jwks_uri;
  // saml: our EntityID (default "phigate:<node_id>") and the AssertionConsumerService URL the IdP
  // posts to (default: the admin listener's /v1/saml/acs).
  std::string sp_entity_id, acs_url;
  // oidc, for `phigate login` only: the public client (no secret, RFC 8252 native app) registered
  // at the IdP, and the scopes asked for (default "openid"; add the IdP's API scope when the
  // access token must carry the configured audience).
  std::string client_id;
  std::vector<std::string> scopes;
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
  HttpResourceConfig http;  // type http: masking, timeouts, body capture (http_config.h)
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
  // HTTP: query parameter -> value glob; JSON body path ("$.action") -> value glob.
  std::map<std::string, std::string> query, body;
  // SQL policy matchers (policy/stages/statement_rules.cc): called functions (globs, matched like
  // tables), whether the statement may write, and a regex on the normalized statement text.
  std::vector<std::string> functions;
  std::optional<bool> writes;
  std::string regex;
  // Which protocol a rule speaks: SQL keys and HTTP keys never mix in one rule.
  bool has_sql_keys() const {
    return !statement.empty() || !tables.empty() || !where.empty() || !functions.empty() ||
           writes.has_value() || !regex.empty();
  }
  bool has_http_keys() const {
    return !methods.empty() || !paths.empty() || !query.empty() || !body.empty();
  }
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
  uint64_t max_body = 0;  // HTTP request body bytes; 0 = no limit
  bool read_only = false;
  bool allow_function_call = false;  // FunctionCall protocol messages
  std::vector<std::string> approve;
  bool audit_read = false;
  int line = 0;
};

struct AuditExportConfig {
  std::string type, address, path, url;
  // Exporter keys (audit_export_config.cc documents and checks them).
  std::string name;                   // cursor file data_dir/export-<name>.cursor; default derived
  std::string format = "jsonl";       // jsonl | ocsf
  std::string max_size = "100MiB";    // jsonl: rotate when the file would grow past this
  uint64_t keep = 5;                  // jsonl: rotated files kept (path.1 newest)
  std::string token_env, token_file;  // webhook: Splunk HEC token
  uint64_t batch = 500;               // records per send
  std::chrono::milliseconds backoff_max{30000};
};
// Problems with one export entry (empty: fine), each a sentence for config check.
std::vector<std::string> check_audit_export(const AuditExportConfig& e);
// The exporter's name: `name` if set, else "<type>-<8 hex of SHA-256 of the destination>", so
// reordering the list does not hand one exporter's cursor to another.
std::string audit_export_name(const AuditExportConfig& e);

// audit.capture: the first rows/bytes of each result, as sent to the client, stored as a blob
// referenced from the result record (issue 6). Default on and small.
struct CaptureConfig {
  bool enabled = true;
  uint64_t rows = 20;
  uint64_t bytes = 16384;  // of captured values; accepts units: 16KiB
};

struct AuditConfig {
  std::string durability = "strict";  // strict | async
  uint64_t checkpoint_every_events = 1000;
  std::chrono::milliseconds checkpoint_every{10000};
  std::vector<AuditExportConfig> exports;
  std::string retention;
  CaptureConfig capture;
  std::string sync =
      "normal";  // sqlite synchronous: normal (survives process crash) | full (fsync)
};

struct ApprovalsConfig {
  std::chrono::milliseconds timeout{300000};
  std::vector<std::string> notify_webhooks;  // notify: [ { webhook: URL } ]
};

// One `masking:` profile (DESIGN.md §4). Parsed in config_masking.cc, compiled into a
// mask::MaskProfile per policy snapshot (policy/masking.h).
struct MaskingColumnConfig {
  std::string column;  // glob over [schema.]table.column, e.g. "patients.ssn", "*.email"
  std::string action;  // redact | partial | hash | null
  int line = 0;
};
struct MaskingCustomConfig {
  std::string name, regex;
  int line = 0;
};
struct MaskingProfileConfig {
  std::string name;
  std::vector<std::string> detectors;
  std::vector<MaskingColumnConfig> columns;
  std::vector<MaskingCustomConfig> custom;
  double threshold = 0.0;                   // findings scoring below are dropped
  std::string detector_action = "redact";   // action for detector findings
  std::string hmac_key_env, hmac_key_file;  // the secret for `hash`; never in the YAML itself
  std::string redact_format = "[{}]";       // {} = detector name or column rule
  std::string on_whole_row = "refuse";      // refuse | mask (lineage)
  std::string binary = "null";              // null | refuse: masked binary values of other types
  int line = 0;
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
  std::vector<MaskingProfileConfig> masking;  // the same profiles, in file order
  std::string path;                           // file it was loaded from
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
