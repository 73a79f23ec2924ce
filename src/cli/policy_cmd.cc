#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "policy/snapshot.h"
#include "sql/classify.h"

namespace phigate::cli {

namespace {
std::vector<std::string> split_groups(const std::string& s) {
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
}  // namespace

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
  id.groups = split_groups(args.groups);
  for (const auto& g : id.groups) {
    auto it = config->identity.group_roles.find(g);
    if (it == config->identity.group_roles.end()) continue;
    for (const auto& r : it->second)
      if (std::find(id.roles.begin(), id.roles.end(), r) == id.roles.end()) id.roles.push_back(r);
  }
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
