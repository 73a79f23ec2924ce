#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "identity/token_verifier.h"
#include "policy/snapshot.h"
#include "sql/classify.h"

namespace phigate::cli {

// Evaluates the policy exactly as a session would (same snapshot code, same classifier) for an
// identity that never connects: what an operator checks before handing out a role.
int cmd_policy_test(const std::string& config_path, const PolicyTestArgs& args, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto snap = PolicySnapshot::compile(*config, 1);
  if (!snap) {
    std::cerr << "policy does not compile: " << snap.error().message << "\n";
    return 2;
  }
  Identity id;
  id.sub = args.sub;
  id.issuer = "policy-test";
  id.groups = split_csv(args.groups);
  id.roles = roles_for_groups(id.groups, config->identity.group_roles);
  Verdict v;
  auto cls = sql::classify(args.sql);
  if (!(*snap)->can_access(id, args.resource)) {
    v = Verdict::deny("", "no role of this identity grants resource \"" + args.resource + "\"",
                      "28000");
  } else {
    Request req;
    req.identity = &id;
    req.resource = args.resource;
    req.protocol = "postgres";
    req.text = args.sql;
    req.sql = cls;
    v = (*snap)->decide(req);
  }
  std::string kinds;
  for (const auto& s : cls->statements)
    kinds += (kinds.empty() ? "" : ",") + std::string(sql::kind_name(s.kind));
  if (json) {
    nlohmann::json j{{"decision", verdict_name(v.kind)},
                     {"rule", v.rule},
                     {"role", v.role},
                     {"message", v.message},
                     {"code", v.code},
                     {"roles", id.roles},
                     {"statement_kinds", kinds}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "decision: " << verdict_name(v.kind) << "\n"
              << "roles:    " << nlohmann::json(id.roles).dump() << "\n"
              << "kinds:    " << (cls->ok ? kinds : "unparsable: " + cls->error) << "\n";
    if (!v.rule.empty()) std::cout << "rule:     " << v.rule << "\n";
    if (!v.message.empty()) std::cout << "message:  " << v.message << "\n";
  }
  return 0;
}

}  // namespace phigate::cli
