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
  bool bench_discard = false;
  serve->add_flag("--bench-audit-discard", bench_discard)->group("");  // benchmarks only

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

  auto* maskc = app.add_subcommand("mask", "masking tools");
  maskc->require_subcommand(1);
  auto* mtest = maskc->add_subcommand("test", "show what a masking profile's detectors find");
  MaskTestArgs margs;
  mtest->add_option("--profile", margs.profile, "masking profile name")->required();
  mtest->add_option("text", margs.text, "text to scan")->required();

  auto* audit = app.add_subcommand("audit", "audit log tools");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify", "recompute the hash chain and every signed checkpoint; exit 0 = intact");
  AuditVerifyArgs vargs;
  verify->add_option("--from-export", vargs.from_export,
                     "verify an exported JSONL stream (with its checkpoints) instead of the store");
  verify->add_option("--pubkey", vargs.pubkey,
                     "audit public key file (output of `audit pubkey`); default: data_dir's key");
  auto* pubkey =
      audit->add_subcommand("pubkey", "print the checkpoint signing key's id and public key");
  auto* aexport = audit->add_subcommand("export", "write the audit log (and checkpoints) as JSONL");
  AuditExportArgs eargs;
  aexport->add_option("--format", eargs.format, "jsonl or ocsf")
      ->check(CLI::IsMember({"jsonl", "ocsf"}))
      ->capture_default_str();
  aexport->add_option("--since", eargs.since,
                      "only records from this time: RFC 3339, unix seconds, or a duration ago");
  aexport->add_option("--output", eargs.output, "file to write (default: stdout)");
  auto* prove = audit->add_subcommand("prove", "print an inclusion proof for one record");
  AuditProveArgs prargs;
  prove->add_option("seq", prargs.seq, "record seq")->required();
  prove->add_option("--checkpoint", prargs.checkpoint,
                    "tree_size of the checkpoint to prove against");
  prove->add_option("--output", prargs.output, "file to write (default: stdout)");
  auto* vproof = audit->add_subcommand("verify-proof", "check an inclusion proof offline");
  std::string proof_file, proof_pubkey;
  vproof->add_option("file", proof_file, "proof document (`audit prove` output)")->required();
  vproof->add_option("--pubkey", proof_pubkey, "audit public key file; default: data_dir's key");

  // Review and retention (issue 6).
  auto* prune = audit->add_subcommand(
      "prune", "delete records and captures older than audit.retention, keeping them verifiable");
  bool dry_run = false;
  prune->add_flag("--dry-run", dry_run, "show what would be pruned, change nothing");
  std::string prune_before;
  prune->add_option("--before", prune_before, "cutoff instead of now - audit.retention");
  auto* sessions = app.add_subcommand("sessions", "recorded sessions");
  sessions->require_subcommand(1);
  auto* slist = sessions->add_subcommand("list", "one line per session, oldest first");
  SessionsListArgs sargs;
  slist->add_option("--identity", sargs.identity, "token subject (or the human acted for)");
  slist->add_option("--resource", sargs.resource, "resource name");
  slist->add_option("--since", sargs.since, "active at or after (date, time, unix s, or 7d ago)");
  slist->add_option("--until", sargs.until, "started before");
  slist->add_option("--task", sargs.task, "task id");
  slist->add_option("--workflow", sargs.workflow, "workflow id");
  auto* replay = app.add_subcommand("replay", "a session's SQL timeline with captured rows");
  std::string replay_id;
  replay->add_option("session_id", replay_id, "session id (phigate sessions list)")->required();
  auto* report = app.add_subcommand("report", "compliance reports");
  report->require_subcommand(1);
  auto* hipaa = report->add_subcommand("hipaa", "45 CFR 164.312 technical safeguards evidence");
  ReportArgs rargs;
  hipaa->add_option("--from", rargs.from, "period start")->required();
  hipaa->add_option("--to", rargs.to, "period end (exclusive)")->required();
  hipaa->add_option("--html", rargs.html, "also write a self-contained HTML report to FILE");

  auto* loginc = app.add_subcommand("login", "log in at an OIDC/SAML issuer; store the token");
  LoginArgs largs;
  loginc->add_option("--issuer", largs.issuer, "issuer name (identity.issuers[].name)");
  loginc->add_flag("--device", largs.device, "device authorization grant (headless machines)");
  loginc->add_flag("--no-browser", largs.no_browser, "print the URL, do not run xdg-open");
  loginc->add_option("--output", largs.output,
                     "token file (default $XDG_CONFIG_HOME/phigate/token)");
  loginc->add_option("--timeout", largs.timeout_seconds, "seconds to wait for the login")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}));

  auto run_admin = add_admin_commands(app, config_path, json);

  // Global options may also follow the subcommand: `phigate token issue --config F ...`.
  for (auto* sub : {serve, check, issue, exchange, verify, pubkey, ptest, mtest, aexport, prove,
                    vproof, prune, slist, replay, hipaa, loginc}) {
    sub->add_option("--config", config_path, "configuration file");
    sub->add_flag("--json", json, "machine-readable output");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*serve) {
    Wiring w = wiring;
    w.bench_audit_discard = bench_discard;
    return cmd_serve(config_path, log_format, log_level, w);
  }
  if (*check) return cmd_config_check(check_path);
  if (*issue) return cmd_token_issue(config_path, targs, json);
  if (*exchange) return cmd_token_exchange(config_path, xargs, json);
  if (*verify) return cmd_audit_verify(config_path, vargs, wiring, json);
  if (*aexport) return cmd_audit_export(config_path, eargs, wiring);
  if (*prove) return cmd_audit_prove(config_path, prargs, wiring);
  if (*vproof) return cmd_audit_verify_proof(config_path, proof_file, proof_pubkey, json);
  if (*pubkey) return cmd_audit_pubkey(config_path, json);
  if (*ptest) return cmd_policy_test(config_path, pargs, json);
  if (*mtest) return cmd_mask_test(config_path, margs, json);
  if (*prune) return cmd_audit_prune(config_path, wiring, dry_run, prune_before, json);
  if (*slist) return cmd_sessions_list(config_path, sargs, wiring, json);
  if (*replay) return cmd_replay(config_path, replay_id, wiring, json);
  if (*loginc) {
    largs.json = json;
    return cmd_login(config_path, largs);
  }
  if (*hipaa) return cmd_report_hipaa(config_path, rargs, wiring, json);
  if (int rc = run_admin(); rc >= 0) return rc;
  return 2;
}

}  // namespace phigate::cli
