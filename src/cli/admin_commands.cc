// Command-line shape of `phigate approvals ...` and `phigate access ...` (DESIGN.md §3).
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/cli.h"

namespace phigate::cli {

std::function<int()> add_admin_commands(CLI::App& app, std::string& config_path, bool& json) {
  struct State {
    AdminArgs args;
    std::string state = "pending", id, reason, access_state = "all";
    AccessRequestArgs req;
  };
  auto st = std::make_shared<State>();

  auto common = [&config_path, &json, st](CLI::App* sub) {
    sub->add_option("--config", config_path, "configuration file");
    sub->add_flag("--json", json, "machine-readable output");
    sub->add_option("--token", st->args.token, "bearer token (default: $PHIGATE_TOKEN)");
  };

  auto* approvals = app.add_subcommand("approvals", "held requests waiting for a reviewer");
  approvals->require_subcommand(1);
  auto* alist = approvals->add_subcommand("list", "list requests (pending by default)");
  alist->add_option("--state", st->state, "pending, approved, denied, timed_out, cancelled, all")
      ->capture_default_str();
  auto* aapprove = approvals->add_subcommand("approve", "approve a held request or access window");
  aapprove->add_option("id", st->id, "request id")->required();
  aapprove->add_option("--reason", st->reason, "why (recorded in the audit log)");
  auto* adeny = approvals->add_subcommand("deny", "deny a held request or access window");
  adeny->add_option("id", st->id, "request id")->required();
  adeny->add_option("--reason", st->reason, "why (shown to the requester)")->required();

  auto* access = app.add_subcommand("access", "JIT access windows");
  access->require_subcommand(1);
  auto* rq = access->add_subcommand("request", "ask for ROLE on RESOURCE for a while");
  rq->add_option("--resource", st->req.resource, "resource name")->required();
  rq->add_option("--role", st->req.role, "role to hold")->required();
  rq->add_option("--for", st->req.duration, "length, e.g. 1h")->required();
  rq->add_option("--reason", st->req.reason, "why (shown to reviewers)")->required();
  auto* xlist = access->add_subcommand("list", "list access requests and windows");
  xlist->add_option("--state", st->access_state, "pending, approved, ..., all")
      ->capture_default_str();
  auto* xapprove = access->add_subcommand("approve", "approve an access request");
  xapprove->add_option("id", st->id, "request id")->required();
  xapprove->add_option("--reason", st->reason, "why");
  auto* xdeny = access->add_subcommand("deny", "deny an access request");
  xdeny->add_option("id", st->id, "request id")->required();
  xdeny->add_option("--reason", st->reason, "why")->required();

  for (auto* sub : {alist, aapprove, adeny, rq, xlist, xapprove, xdeny}) common(sub);

  return [=, &config_path, &json]() -> int {
    st->args.config_path = config_path;
    st->args.json = json;
    if (*alist) return cmd_approvals_list(st->args, st->state);
    if (*aapprove || *xapprove) return cmd_approvals_decide(st->args, st->id, true, st->reason);
    if (*adeny || *xdeny) return cmd_approvals_decide(st->args, st->id, false, st->reason);
    if (*rq) return cmd_access_request(st->args, st->req);
    if (*xlist) return cmd_access_list(st->args, st->access_state);
    return -1;  // none of these
  };
}

}  // namespace phigate::cli
