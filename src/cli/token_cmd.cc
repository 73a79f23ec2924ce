#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/duration.h"
#include "identity/local_issuer.h"

namespace phigate::cli {

int cmd_token_issue(const std::string& config_path, const TokenIssueArgs& args, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  bool has_local = false;
  for (auto& i : config->identity.issuers) has_local |= i.type == "local";
  if (!has_local) {
    std::cerr << "no issuer of type local is configured in " << config_path << "\n";
    return 2;
  }
  auto ttl = parse_duration(args.ttl);
  if (!ttl) {
    std::cerr << "--ttl: " << ttl.error().message << "\n";
    return 2;
  }
  auto issuer = LocalIssuer::load_or_create(config->gateway.data_dir, config->gateway.node_id);
  if (!issuer) {
    std::cerr << "cannot load the local issuer key: " << issuer.error().message << "\n";
    return 1;
  }
  IssueRequest req;
  req.sub = args.sub;
  req.groups = split_csv(args.groups);
  req.ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  if (req.ttl.count() <= 0) req.ttl = std::chrono::seconds(1);
  req.task_id = args.task;
  req.workflow_id = args.workflow;
  req.act_sub = args.act;
  auto issued = (*issuer)->try_issue(req, now_unix());
  if (!issued) {
    std::cerr << "cannot issue token: " << issued.error().message << "\n";
    return 2;
  }
  const std::string& token = *issued;
  if (json) {
    nlohmann::json j{{"token", token},
                     {"sub", req.sub},
                     {"groups", req.groups},
                     {"expires_in", req.ttl.count()}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << token << "\n";
  }
  return 0;
}

}  // namespace phigate::cli
