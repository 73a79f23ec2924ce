#include "policy/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace phigate {
namespace {

using ::testing::HasSubstr;

std::string example_path() {
  return (std::filesystem::path(PHIGATE_SOURCE_DIR) / "examples/phigate.yaml")
      .lexically_normal()
      .string();
}

// The errors as "line: message" strings, for readable expectations.
std::vector<std::string> errors_of(const std::string& yaml) {
  ConfigLoad load = load_config_text(yaml);
  std::vector<std::string> out;
  for (const ConfigError& e : load.errors) out.push_back(std::to_string(e.line) + ": " + e.message);
  EXPECT_EQ(load.config.has_value(), out.empty());
  return out;
}

// A minimal valid configuration; tests append or alter pieces of it.
const char* kMinimal = R"(gateway:
  node_id: gw-test
  listen:
    postgres: 127.0.0.1:0
resources:
  - name: clinic
    type: postgres
    upstream: 127.0.0.1:5432
    database: clinic
    credentials: { username: u, password_env: PW }
roles:
  analyst:
    resources: [clinic]
    rules:
      - { match: { statement: [select] }, action: allow }
)";

TEST(ConfigLoad, ExampleFileIsValid) {
  ConfigLoad load = load_config_file(example_path());
  ASSERT_TRUE(load.errors.empty()) << format_errors(load);
  ASSERT_TRUE(load.config.has_value());
  const Config& c = *load.config;
  EXPECT_EQ(c.path, example_path());
  EXPECT_EQ(c.gateway.node_id, "gw-1");
  EXPECT_EQ(c.gateway.listen.postgres, "127.0.0.1:15432");
  EXPECT_EQ(c.gateway.listen.admin, "127.0.0.1:18443");
  ASSERT_EQ(c.identity.issuers.size(), 3u);
  EXPECT_EQ(c.identity.issuers[1].type, "oidc");
  EXPECT_EQ(c.identity.issuers[1].issuer, "https://idp.example");
  EXPECT_EQ(c.identity.issuers[2].idp_metadata, "idp.xml");
  EXPECT_EQ(c.identity.group_roles.at("security"),
            (std::vector<std::string>{"reviewer", "auditor"}));
  EXPECT_EQ(c.identity.clock_skew, std::chrono::seconds(60));

  const ResourceConfig* clinic = c.find_resource("clinic");
  ASSERT_NE(clinic, nullptr);
  EXPECT_EQ(clinic->type, "postgres");
  EXPECT_EQ(clinic->credentials.password_env, "CLINIC_DB_PASSWORD");
  EXPECT_GT(clinic->line, 0);
  const ResourceConfig* labs = c.find_resource("labs-api");
  ASSERT_NE(labs, nullptr);
  EXPECT_EQ(labs->inject_headers.at("Authorization"), "Bearer ${env:LABS_API_TOKEN}");  // verbatim
  EXPECT_EQ(c.find_resource("nope"), nullptr);

  const RoleConfig* analyst = c.find_role("analyst");
  ASSERT_NE(analyst, nullptr);
  ASSERT_EQ(analyst->rules.size(), 3u);
  EXPECT_EQ(analyst->rules[1].name, "bulk-change");
  EXPECT_EQ(analyst->rules[1].match.where, "absent");
  EXPECT_EQ(analyst->rules[1].message, "bulk change");
  EXPECT_EQ(analyst->masking, "phi");
  EXPECT_EQ(analyst->max_rows, 10000u);
  EXPECT_TRUE(c.find_role("reporting")->read_only);
  EXPECT_EQ(c.find_role("reviewer")->approve.size(), 3u);
  EXPECT_TRUE(c.find_role("auditor")->audit_read);
  EXPECT_TRUE(c.find_role("dba")->allow_function_call);
  EXPECT_EQ(c.find_role("lab-client")->rules[0].match.paths,
            std::vector<std::string>{"/v1/results*"});

  EXPECT_EQ(c.masking_profiles, std::vector<std::string>{"phi"});
  EXPECT_EQ(c.approvals.timeout, std::chrono::minutes(5));
  EXPECT_EQ(c.approvals.notify_webhooks, std::vector<std::string>{"http://127.0.0.1:9100/hook"});
  EXPECT_EQ(c.audit.durability, "strict");
  EXPECT_EQ(c.audit.checkpoint_every_events, 1000u);
  EXPECT_EQ(c.audit.checkpoint_every, std::chrono::seconds(10));
  ASSERT_EQ(c.audit.exports.size(), 3u);
  EXPECT_EQ(c.audit.exports[1].path, "./var/audit.jsonl");
  EXPECT_EQ(c.audit.retention, "6y");
}

TEST(ConfigLoad, MinimalIsValidWithDefaults) {
  ConfigLoad load = load_config_text(kMinimal);
  ASSERT_TRUE(load.errors.empty()) << format_errors(load);
  EXPECT_EQ(load.config->gateway.data_dir, "./var");
  EXPECT_EQ(load.config->gateway.store, "sqlite");
  EXPECT_EQ(load.config->resources[0].upstream_tls, "prefer");
  EXPECT_EQ(load.config->audit.sync, "normal");
}

TEST(ConfigLoad, UnknownKeysWithLines) {
  EXPECT_THAT(errors_of(R"(gateway:
  node_id: gw-1
  listn:
    postgres: 127.0.0.1:1
resources: []
rolez: {}
)"),
              ::testing::ElementsAre("3: unknown key 'listn' in gateway",
                                     "6: unknown key 'rolez' in the configuration"));

  EXPECT_THAT(
      errors_of(std::string(kMinimal) + R"(      - { match: { statment: [select] }, action: allow }
      - { match: { statement: [select] }, action: allow, mesage: x }
  other:
    resource: [clinic]
)"),
      ::testing::ElementsAre("16: unknown key 'statment' in roles.analyst.rules[1].match",
                             "17: unknown key 'mesage' in roles.analyst.rules[2]",
                             "19: unknown key 'resource' in roles.other"));

  EXPECT_THAT(errors_of(R"(resources:
  - name: clinic
    type: postgres
    upstream: 127.0.0.1:5432
    database: clinic
    credentials:
      username: u
      password_env: PW
      pasword_file: /x
)"),
              ::testing::ElementsAre("9: unknown key 'pasword_file' in resources[0].credentials"));
}

TEST(ConfigLoad, CpuAffinityIsOffUnlessSet) {
  ConfigLoad off = load_config_text(kMinimal);
  ASSERT_TRUE(off.config.has_value()) << format_errors(off);
  EXPECT_FALSE(off.config->gateway.cpu_affinity);
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("  node_id: gw-test\n"), 18, "  node_id: gw-test\n  cpu_affinity: true\n");
  ConfigLoad on = load_config_text(yaml);
  ASSERT_TRUE(on.config.has_value()) << format_errors(on);
  EXPECT_TRUE(on.config->gateway.cpu_affinity);
  yaml.replace(yaml.find("cpu_affinity: true"), 18, "cpu_affinity: 2");
  EXPECT_THAT(errors_of(yaml),
              ::testing::ElementsAre("3: gateway.cpu_affinity: expected true or false"));
}

TEST(ConfigLoad, DuplicateKeys) {
  EXPECT_THAT(errors_of("gateway:\n  node_id: a\n  node_id: b\n"),
              ::testing::ElementsAre("3: duplicate key 'node_id' in gateway"));
}

TEST(ConfigLoad, TypeErrors) {
  EXPECT_THAT(
      errors_of(R"(gateway:
  threads: many
  allow_cleartext_token_remote: perhaps
  listen: 127.0.0.1:1
  node_id: [a, b]
identity:
  clock_skew: 60
  issuers: { name: local }
resources:
  name: clinic
audit:
  checkpoint: { every_events: -1, every: 10 parsecs }
  retention: forever
)"),
      ::testing::ElementsAre(
          "2: gateway.threads: expected a whole number from 0 to 1024",
          "3: gateway.allow_cleartext_token_remote: expected true or false",
          "4: gateway.listen: expected a mapping", "5: gateway.node_id: expected a string",
          "7: identity.clock_skew: '60' is not a duration: unknown unit '' (ms, s, m, h, d, y)",
          "8: identity.issuers: expected a list", "10: resources: expected a list",
          "12: audit.checkpoint.every_events: expected a whole number from 0 to "
          "18446744073709551615",
          "12: audit.checkpoint.every: '10 parsecs' is not a duration: unknown unit ' parsecs' "
          "(ms, s, m, h, d, y)",
          "13: audit.retention: 'forever' is not a duration: expected a number with a unit, e.g. "
          "10s"));

  EXPECT_THAT(errors_of(std::string(kMinimal) + "    max_rows: lots\n    read_only: 1x\n"),
              ::testing::ElementsAre("16: roles.analyst.max_rows: expected a whole number from 0 "
                                     "to 18446744073709551615",
                                     "17: roles.analyst.read_only: expected true or false"));
  EXPECT_THAT(errors_of("gateway: [1]\n"),
              ::testing::ElementsAre("1: gateway: expected a mapping"));
}

TEST(ConfigLoad, EnumValues) {
  EXPECT_THAT(
      errors_of(R"(resources:
  - { name: a, type: postgress }
  - { name: b, type: http, upstream: "http://x", upstream_tls: maybe }
roles:
  r:
    resources: [a]
    rules:
      - { match: { statement: [selekt, merge, plumbing, identity] }, action: allow }
      - { match: { statement: [delete], where: sometimes }, action: alow }
      - { match: { statement: [select], methods: [GET] }, action: deny }
      - { match: {} }
identity:
  issuers: [ { name: x, type: kerberos } ]
audit:
  durability: eventually
  sync: never
  export: [ { type: kafka } ]
)"),
      ::testing::ElementsAre(
          "2: resources[0].type: 'postgress' is not one of postgres | http | ssh | mysql",
          "3: resources[1].upstream_tls: 'maybe' is not one of disable | prefer | require | "
          "verify-full",
          "8: roles.r.rules[0].match.statement: unknown statement kind 'selekt'",
          "9: roles.r.rules[1].action: 'alow' is not one of allow | deny | review",
          "9: roles.r.rules[1].match.where: 'sometimes' is not one of absent | present",
          "10: roles.r.rules[2].match: statement/tables/functions/where/writes/regex (SQL) and "
          "methods/paths (HTTP) cannot be combined in one rule",
          "11: roles.r.rules[3]: missing 'action' (allow | deny | review)",
          "13: identity.issuers[0].type: 'kerberos' is not one of local | oidc | saml",
          "15: audit.durability: 'eventually' is not one of strict | async",
          "16: audit.sync: 'never' is not one of normal | full",
          "17: audit.export[0].type: 'kafka' is not one of syslog | jsonl | webhook"));
}

TEST(ConfigLoad, CrossReferences) {
  EXPECT_THAT(
      errors_of(R"(identity:
  issuers:
    - { name: local, type: local }
    - { name: local2, type: local }
    - { name: corp, type: oidc }
  group_roles:
    analysts: [analyst, ghost]
resources:
  - name: clinic
    type: postgres
    upstream: 127.0.0.1:5432
    credentials: { password_env: A, password_file: B }
  - name: clinic
    type: ssh
    upstream: nowhere
roles:
  analyst:
    resources: [clinic, labs]
    masking: secret
    approve: [etl]
)"),
      ::testing::ElementsAre(
          "4: at most one issuer may have type local",
          "5: issuer 'corp': oidc needs 'issuer' (the IdP's URL)",
          "5: issuer 'corp': oidc needs 'audience' (the aud value phigate requires)",
          "7: identity.group_roles.analysts: role 'ghost' is not defined in roles",
          "9: resource 'clinic': missing 'database'",
          "12: resource 'clinic': missing 'credentials.username'",
          "12: resource 'clinic': credentials need exactly one of 'password_env' and "
          "'password_file'",
          "13: duplicate resource name 'clinic'",
          "15: resources[1].upstream: 'nowhere' is not host:port",
          "18: roles.analyst: resource 'labs' is not defined in resources",
          "19: roles.analyst: masking profile 'secret' is not defined in masking",
          "20: roles.analyst: approve names resource 'etl', which is not defined in resources"));
}

TEST(ConfigLoad, ListenAddresses) {
  EXPECT_THAT(
      errors_of(R"(gateway:
  listen:
    postgres: 127.0.0.1:15432
    http: "[::1]:8080"
    ssh: localhost:22
    mysql: 127.0.0.1
    admin: 127.0.0.1:99999
)"),
      ::testing::ElementsAre("6: gateway.listen.mysql: '127.0.0.1' is not host:port",
                             "7: gateway.listen.admin: '127.0.0.1:99999' is not host:port"));
}

TEST(ConfigLoad, YamlSyntaxErrorHasALine) {
  ConfigLoad load = load_config_text("gateway:\n  node_id: [unclosed\n  data_dir: x\n", "bad.yaml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_GT(load.errors[0].line, 0);
  EXPECT_THAT(load.errors[0].message, HasSubstr("YAML syntax error"));
  EXPECT_FALSE(load.config.has_value());
}

TEST(ConfigLoad, EmptyAndMissingFile) {
  EXPECT_THAT(errors_of(""), ::testing::ElementsAre("0: the configuration is empty"));
  ConfigLoad missing = load_config_file("/nonexistent/phigate.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(format_errors(missing),
            "/nonexistent/phigate.yaml: cannot open /nonexistent/phigate.yaml: No such file or "
            "directory\n");
}

TEST(ConfigLoad, FormatErrors) {
  ConfigLoad load = load_config_text("gateway:\n  listn: {}\n", "conf/phigate.yaml");
  EXPECT_EQ(format_errors(load), "conf/phigate.yaml:2: unknown key 'listn' in gateway\n");
  EXPECT_EQ(format_errors(load_config_text(kMinimal)), "");
}

TEST(ConfigLoad, FromFile) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("phigate_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "phigate.yaml";
  std::ofstream(file) << kMinimal;
  ConfigLoad load = load_config_file(file.string());
  EXPECT_TRUE(load.errors.empty()) << format_errors(load);
  EXPECT_EQ(load.config->path, file.string());
  std::filesystem::remove_all(dir);
}

TEST(ValidatePolicy, ConfigBuiltInCode) {
  Config c;
  RoleConfig role;
  role.name = "r";
  role.resources = {"missing"};
  RuleConfig rule;
  rule.action = "permit";
  role.rules.push_back(rule);
  c.roles.push_back(role);
  std::vector<ConfigError> errors = validate_policy(c);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0].message, HasSubstr("resource 'missing' is not defined"));
  EXPECT_THAT(errors[1].message, HasSubstr("'permit' is not one of allow | deny | review"));
}

TEST(ConfigLoad, OidcIssuerKeys) {
  ConfigLoad ok = load_config_text(R"(identity:
  clock_skew: 45s
  issuers:
    - name: corp
      type: oidc
      issuer: https://idp.example
      audience: phigate
      groups_claim: realm_access.roles
      ca_file: /etc/ca.pem
      algorithms: [RS256, ES256]
      clock_skew: 5s
      max_token_bytes: 32768
      jwks_refresh: 1m
      jwks_refresh_min_interval: 0s
    - { name: k8s, type: oidc, issuer: "http://127.0.0.1:6443", audience: phigate }
)");
  ASSERT_TRUE(ok.errors.empty()) << format_errors(ok);
  const IssuerConfig& c = ok.config->identity.issuers[0];
  EXPECT_EQ(c.ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  ASSERT_TRUE(c.clock_skew.has_value());
  EXPECT_EQ(*c.clock_skew, std::chrono::seconds(5));
  EXPECT_EQ(c.max_token_bytes, 32768u);
  EXPECT_EQ(c.jwks_refresh, std::chrono::minutes(1));
  EXPECT_EQ(c.jwks_refresh_min_interval, std::chrono::milliseconds(0));
  EXPECT_FALSE(ok.config->identity.issuers[1].clock_skew.has_value());

  EXPECT_THAT(
      errors_of(R"(identity:
  issuers:
    - { name: a, type: oidc, issuer: "http://idp.example", algorithms: [HS256] }
    - { name: b, type: oidc, issuer: "https://x", audience: p, jwks_uri: "http://10.1.1.1/k" }
    - { name: c, type: oidc, issuer: "https://x", audience: p }
)"),
      ::testing::ElementsAre(
          "3: issuer 'a': 'issuer' plain http is allowed only for loopback hosts; use https",
          "3: issuer 'a': oidc needs 'audience' (the aud value phigate requires)",
          "3: issuer 'a': algorithm 'HS256' is not supported (RS256/384/512, "
          "PS256/384/512, ES256/384, EdDSA)",
          "4: issuer 'b': 'jwks_uri' plain http is allowed only for loopback hosts; use "
          "https",
          "5: issuer 'c': another oidc issuer has the same 'issuer' URL"));
}

}  // namespace
}  // namespace phigate
