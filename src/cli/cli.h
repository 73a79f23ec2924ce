#pragma once
// `phigate` subcommands (DESIGN.md §3). Concrete stores are chosen by main.cc and handed in here.
#include <functional>
#include <memory>

#include "audit/store.h"
#include "policy/config.h"

namespace phigate::cli {

struct Wiring {
  // Opens the audit store the config names; read_only for offline commands (verify, export).
  std::function<Result<std::unique_ptr<audit::Store>>(const Config&, bool read_only)> open_store;
};

int run(int argc, char** argv, const Wiring& wiring);

// Subcommand bodies (one file each).
int cmd_serve(const std::string& config_path, const std::string& log_format,
              const std::string& log_level, const Wiring& wiring);
int cmd_config_check(const std::string& path);
struct TokenIssueArgs {
  std::string sub, groups, ttl = "15m", task, workflow, act;
};
int cmd_token_issue(const std::string& config_path, const TokenIssueArgs& args, bool json);
struct TokenExchangeArgs {
  std::string subject_token, roles, ttl, task, workflow, admin, ca_file;
  std::vector<std::string> resources;
  bool local = false;
};
int cmd_token_exchange(const std::string& config_path, const TokenExchangeArgs& args, bool json);
struct PolicyTestArgs {
  std::string sub, groups, resource, sql;
};
int cmd_policy_test(const std::string& config_path, const PolicyTestArgs& args, bool json);
int cmd_audit_verify(const std::string& config_path, const Wiring& wiring, bool json);
int cmd_audit_pubkey(const std::string& config_path, bool json);

// The checkpoint signing key (DESIGN.md §10 data_dir layout: keys/, 0600 files).
std::string audit_key_path(const std::string& data_dir);

// "a,b,,c" -> {"a","b","c"}: the --groups flag format.
std::vector<std::string> split_csv(const std::string& s);

// Loads the config or prints its errors to stderr (nullopt).
std::optional<Config> load_or_report(const std::string& path);

}  // namespace phigate::cli
