#pragma once
// `phigate` subcommands (DESIGN.md §3). Concrete stores are chosen by main.cc and handed in here.
#include <functional>
#include <memory>

#include "audit/blob_store.h"
namespace CLI {
class App;
}

#include "audit/store.h"
#include "policy/config.h"
#include "store/approval_store.h"

namespace phigate::cli {

struct Wiring {
  // Opens the audit store the config names; read_only for offline commands (verify, export).
  std::function<Result<std::unique_ptr<audit::Store>>(const Config&, bool read_only)> open_store;
  // The result-capture blob store (data_dir/blobs); read_only for replay. Null: no capture.
  std::function<Result<std::unique_ptr<audit::BlobStore>>(const Config&, bool read_only)>
      open_blobs;
  // Retention: deletes the records the anchor covers and stores the anchor, in one transaction
  // (audit/retention.h decides and verifies first). Null: the store cannot prune.
  std::function<Status(const Config&, const audit::Anchor&)> prune_store;
  // Opens the approvals store (held requests, access windows) for `serve`.
  std::function<Result<std::unique_ptr<store::ApprovalStore>>(const Config&)> open_approvals;
  bool bench_audit_discard = false;  // hidden `serve --bench-audit-discard` (bench_store.cc)
};
Result<std::unique_ptr<audit::Store>> open_bench_discard_store(const Config& config);

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
struct LoginArgs {
  std::string issuer, output;
  bool device = false, no_browser = false, json = false;
  int64_t timeout_seconds = 300;  // browser callback / device polling, whichever flow runs
};
int cmd_login(const std::string& config_path, const LoginArgs& args);
struct PolicyTestArgs {
  std::string sub, groups, resource, sql;
};
int cmd_policy_test(const std::string& config_path, const PolicyTestArgs& args, bool json);
struct MaskTestArgs {
  std::string profile, text;
};
int cmd_mask_test(const std::string& config_path, const MaskTestArgs& args, bool json);
struct AuditVerifyArgs {
  std::string from_export, pubkey;
};
int cmd_audit_verify(const std::string& config_path, const AuditVerifyArgs& args,
                     const Wiring& wiring, bool json);
struct AuditExportArgs {
  std::string format = "jsonl", since, output;
};
int cmd_audit_export(const std::string& config_path, const AuditExportArgs& args,
                     const Wiring& wiring);
struct AuditProveArgs {
  uint64_t seq = 0;
  std::optional<uint64_t> checkpoint;
  std::string output;
};
int cmd_audit_prove(const std::string& config_path, const AuditProveArgs& args,
                    const Wiring& wiring);
int cmd_audit_verify_proof(const std::string& config_path, const std::string& file,
                           const std::string& pubkey, bool json);
// The verifying key: from `pubkey_file` (any of the forms parse_audit_public_key reads) or, when
// that is empty, the key file in data_dir. Empty Bytes if neither exists.
Result<Bytes> load_audit_public_key(const std::string& pubkey_file, const std::string& data_dir);
Result<Bytes> parse_audit_public_key(std::string_view text);
int cmd_audit_pubkey(const std::string& config_path, bool json);

// Review and retention (issue 6; sessions_cmd.cc, report_cmd.cc, retention_cmd.cc).
struct SessionsListArgs {
  std::string identity, resource, since, until, task, workflow;
};
int cmd_sessions_list(const std::string& config_path, const SessionsListArgs& args,
                      const Wiring& wiring, bool json);
int cmd_replay(const std::string& config_path, const std::string& session_id, const Wiring& wiring,
               bool json);
struct ReportArgs {
  std::string from, to, html;
};
int cmd_report_hipaa(const std::string& config_path, const ReportArgs& args, const Wiring& wiring,
                     bool json);
int cmd_audit_prune(const std::string& config_path, const Wiring& wiring, bool dry_run,
                    const std::string& before, bool json);
// The checkpoint public key (raw 32 bytes) from data_dir without creating it; empty if none.
Result<Bytes> load_audit_public_key(const std::string& data_dir);
// Admin API clients (approvals_cmd.cc): --config finds listen.admin, --token / PHIGATE_TOKEN.
struct AdminArgs {
  std::string config_path, token;
  bool json = false;
};
struct AccessRequestArgs {
  std::string resource, role, duration, reason;
};
int cmd_approvals_list(const AdminArgs& a, const std::string& state);
int cmd_approvals_decide(const AdminArgs& a, const std::string& id, bool approve,
                         const std::string& reason);
int cmd_access_request(const AdminArgs& a, const AccessRequestArgs& r);
int cmd_access_list(const AdminArgs& a, const std::string& state);
// Registers `approvals` and `access` on the app; returns the runner for whichever was chosen.
std::function<int()> add_admin_commands(CLI::App& app, std::string& config_path, bool& json);

// The checkpoint signing key (DESIGN.md §10 data_dir layout: keys/, 0600 files).
std::string audit_key_path(const std::string& data_dir);

// "a,b,,c" -> {"a","b","c"}: the --groups flag format.
std::vector<std::string> split_csv(const std::string& s);

// Loads the config or prints its errors to stderr (nullopt).
std::optional<Config> load_or_report(const std::string& path);

}  // namespace phigate::cli
