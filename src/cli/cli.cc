#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

namespace phigate::cli {

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (!s.empty() && pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::optional<Config> load_or_report(const std::string& path) {
  ConfigLoad load = load_config_file(path);
  if (!load.config) {
    std::cerr << format_errors(load);
    return std::nullopt;
  }
  return std::move(load.config);
}

int run(int argc, char** argv, const Wiring& wiring) {
  CLI::App app{"phigate: data-path access gateway for protected health information"};
  app.require_subcommand(1);
  std::string config_path = "./phigate.yaml";
  bool json = false;
  app.add_option("--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--json", json, "machine-readable output");

  auto* serve = app.add_subcommand("serve", "run the gateway");
  std::string log_format = "text", log_level = "info";
  serve->add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error");

  auto* config = app.add_subcommand("config", "configuration tools");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "validate config and policy");
  std::string check_path;
  check->add_option("file", check_path, "configuration file")->required();

  auto* token = app.add_subcommand("token", "token tools");
  token->require_subcommand(1);
  auto* issue = token->add_subcommand("issue", "mint a short-lived token from the local issuer");
  TokenIssueArgs targs;
  issue->add_option("--sub", targs.sub, "subject (identity name)")->required();
  issue->add_option("--groups", targs.groups, "comma-separated groups");
  issue->add_option("--ttl", targs.ttl, "lifetime, e.g. 15m")->capture_default_str();
  issue->add_option("--task", targs.task, "task id (per-task identity)");
  issue->add_option("--workflow", targs.workflow, "workflow id");
  issue->add_option("--act", targs.act, "the human this identity acts for (act.sub)");

  auto* exchange =
      token->add_subcommand("exchange", "RFC 8693: exchange a token for a narrower per-task token");
  TokenExchangeArgs xargs;
  if (const char* env = std::getenv("PHIGATE_TOKEN")) xargs.subject_token = env;
  exchange->add_option("--subject-token", xargs.subject_token,
                       "the token to narrow (default: $PHIGATE_TOKEN)");
  exchange->add_option("--roles", xargs.roles, "comma-separated subset of the subject's roles");
  exchange->add_option("--resource", xargs.resources, "resource the new token may reach (repeat)");
  exchange->add_option("--ttl", xargs.ttl, "lifetime, e.g. 5m (capped at the subject's)");
  exchange->add_option("--task", xargs.task, "task id");
  exchange->add_option("--workflow", xargs.workflow, "workflow id");
  exchange->add_option("--admin", xargs.admin, "admin API URL (default: http://<listen.admin>)");
  exchange->add_option("--ca-file", xargs.ca_file, "CA bundle for an https admin URL");
  exchange->add_flag("--local", xargs.local,
                     "exchange offline with the data_dir issuer key (no running gateway)");

  auto* policy = app.add_subcommand("policy", "policy tools");
  policy->require_subcommand(1);
  auto* ptest = policy->add_subcommand("test", "show the decision for a statement, no traffic");
  PolicyTestArgs pargs;
  ptest->add_option("--sub", pargs.sub, "identity")->required();
  ptest->add_option("--groups", pargs.groups, "comma-separated groups");
  ptest->add_option("--resource", pargs.resource, "resource name")->required();
  ptest->add_option("--sql", pargs.sql, "statement text")->required();

  auto* audit = app.add_subcommand("audit", "audit log tools");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify", "recompute the hash chain and every signed checkpoint; exit 0 = intact");
  auto* pubkey =
      audit->add_subcommand("pubkey", "print the checkpoint signing key's id and public key");

  // Global options may also follow the subcommand: `phigate token issue --config F ...`.
  for (auto* sub : {serve, check, issue, exchange, verify, pubkey, ptest}) {
    sub->add_option("--config", config_path, "configuration file");
    sub->add_flag("--json", json, "machine-readable output");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*serve) return cmd_serve(config_path, log_format, log_level, wiring);
  if (*check) return cmd_config_check(check_path);
  if (*issue) return cmd_token_issue(config_path, targs, json);
  if (*exchange) return cmd_token_exchange(config_path, xargs, json);
  if (*verify) return cmd_audit_verify(config_path, wiring, json);
  if (*pubkey) return cmd_audit_pubkey(config_path, json);
  if (*ptest) return cmd_policy_test(config_path, pargs, json);
  return 2;
}

}  // namespace phigate::cli
