// HTTP decisions of RulesStage: methods (case-insensitive), path globs, query parameters and JSON
// body fields, plus the role's max_body. The session adapter passes the path relative to the
// resource, already normalised (no dot segments, decoded once), and the query decoded.
//
// Where the request is ambiguous the reading is conservative, as for tables in SQL rules: a
// parameter given twice (`?action=read&action=delete`) matches a deny/review rule if any value
// matches and an allow rule only if every value does; a body policy cannot read (not JSON, or not
// held) matches a deny/review rule that looks at the body and never an allow rule that does.
// Deny/review rules also compare query names and values, and body values, without regard to ASCII
// case: ASP.NET binds `?DEBUG=1` to `debug`, and many frameworks read "DELETE" as "delete".
#include <nlohmann/json.hpp>
#include <string>

#include "policy/stages/rules_stage.h"

#include "common/ascii.h"

namespace phigate::rules {
namespace {

bool safe_method(std::string_view m) {
  return iequals(m, "GET") || iequals(m, "HEAD") || iequals(m, "OPTIONS");
}

bool query_matches(const std::map<std::string, std::string>& want, const Request& req,
                   bool conservative) {
  for (const auto& [name, glob] : want) {
    size_t seen = 0, hits = 0;
    if (req.query != nullptr) {
      for (const auto& [k, v] : *req.query) {
        // PHP and Rails bind `debug[]=1` and `debug[x]=1` to `debug` as well.
        if (conservative ? !(iequals(k, name) || (istarts_with(k, name) && k.size() > name.size() &&
                                                  k[name.size()] == '['))
                         : k != name)
          continue;
        ++seen;
        hits += glob_match(glob, v, /*casefold=*/conservative) ? 1 : 0;
      }
    }
    if (seen == 0) return false;
    if (conservative ? hits == 0 : hits != seen) return false;
  }
  return true;
}

// The nodes a body path names: "$.a.b", "$.items[*].op", "$.list[0]" (RFC 9535 subset).
void select(const nlohmann::json& node, std::string_view path,
            std::vector<const nlohmann::json*>& out) {
  if (path.empty()) {
    out.push_back(&node);
    return;
  }
  if (path[0] == '.') {
    path.remove_prefix(1);
    size_t end = path.find_first_of(".[");
    std::string key(path.substr(0, end));
    std::string_view rest = end == std::string_view::npos ? std::string_view() : path.substr(end);
    if (key == "*") {
      if (node.is_object() || node.is_array())
        for (const auto& child : node) select(child, rest, out);
      return;
    }
    if (node.is_object()) {
      auto it = node.find(key);
      if (it != node.end()) select(*it, rest, out);
    }
    return;
  }
  if (path[0] == '[') {
    size_t close = path.find(']');
    if (close == std::string_view::npos) return;
    std::string_view inner = path.substr(1, close - 1);
    std::string_view rest = path.substr(close + 1);
    if (inner == "*") {
      if (node.is_array() || node.is_object())
        for (const auto& child : node) select(child, rest, out);
      return;
    }
    if (inner.size() >= 2 && (inner[0] == '\'' || inner[0] == '"')) {
      std::string key(inner.substr(1, inner.size() - 2));
      if (node.is_object()) {
        auto it = node.find(key);
        if (it != node.end()) select(*it, rest, out);
      }
      return;
    }
    size_t idx = 0;
    for (char c : inner) {
      if (c < '0' || c > '9') return;
      idx = idx * 10 + static_cast<size_t>(c - '0');
    }
    if (node.is_array() && idx < node.size()) select(node[idx], rest, out);
  }
}

bool value_matches(const nlohmann::json& v, const std::string& glob, bool casefold) {
  if (v.is_string()) return glob_match(glob, v.get_ref<const std::string&>(), casefold);
  if (v.is_number() || v.is_boolean() || v.is_null()) return glob_match(glob, v.dump(), casefold);
  return false;  // objects and arrays are not values to compare
}

bool body_matches(const std::map<std::string, std::string>& want, const Request& req,
                  bool conservative) {
  const HttpBodyView* b = req.body;
  if (b == nullptr || b->state == HttpBodyView::State::kNone) return false;
  if (b->state == HttpBodyView::State::kOpaque || b->json == nullptr) return conservative;
  for (const auto& [path, glob] : want) {
    std::vector<const nlohmann::json*> nodes;
    select(*b->json, std::string_view(path).substr(1), nodes);
    if (nodes.empty()) return false;
    size_t hits = 0;
    for (const nlohmann::json* n : nodes) hits += value_matches(*n, glob, conservative) ? 1 : 0;
    if (conservative ? hits == 0 : hits != nodes.size()) return false;
  }
  return true;
}

bool http_matches(const CompiledRule& rule, const Request& req, const std::string& path) {
  if (!rule.for_http) return false;
  const RuleMatch& m = rule.config->match;
  const bool conservative = rule.action != RuleAction::kAllow;
  if (!m.methods.empty()) {
    bool hit = false;
    for (const std::string& x : m.methods) hit = hit || iequals(x, req.method);
    if (!hit) return false;
  }
  if (!m.paths.empty()) {
    bool hit = false;
    for (const std::string& g : m.paths) hit = hit || glob_match(g, path, /*casefold=*/false);
    if (!hit) return false;
  }
  if (!m.query.empty() && !query_matches(m.query, req, conservative)) return false;
  if (!m.body.empty() && !body_matches(m.body, req, conservative)) return false;
  return true;
}

// The role's body cap: a known size over it is refused before anything is forwarded; an unknown
// size (chunked) is counted by the adapter while streaming, with the same role's limit.
bool over_max_body(const CompiledRole& role, const Request& req, Verdict& out) {
  uint64_t max = role.config->max_body;
  if (max == 0 || req.body == nullptr || !req.body->size_known || req.body->size <= max) {
    return false;
  }
  out = Verdict::deny("max_body",
                      "request body of " + std::to_string(req.body->size) +
                          " bytes exceeds max_body " + std::to_string(max) + " of role " +
                          role.config->name,
                      "413");
  out.role = role.config->name;
  return true;
}

}  // namespace

Verdict decide_http(const RoleSet& rs, const Request& req) {
  const std::string path(req.path);
  const std::string what = std::string(req.method) + " " + path;
  for (size_t i = 0; i < rs.n; ++i) {
    const CompiledRole& role = *rs.roles[i];
    const std::string& role_name = role.config->name;
    if (role.config->read_only && !safe_method(req.method)) {
      Verdict d = Verdict::deny("read_only", "role " + role_name + " is read-only: " +
                                                 std::string(req.method) + " is not allowed");
      d.role = role_name;
      return d;
    }
    for (const CompiledRule& rule : role.rules) {
      if (!http_matches(rule, req, path)) continue;
      Verdict cap;
      switch (rule.action) {
        case RuleAction::kAllow:
          if (over_max_body(role, req, cap)) return cap;
          return Verdict::allow(rule.name, role_name);
        case RuleAction::kReview: {
          if (over_max_body(role, req, cap)) return cap;
          // The HTTP adapter holds the request through GatewayContext::approvals (and refuses it
          // when there is none), so review is a hold here.
          Verdict h = review(rule, role, "request");
          h.kind = VerdictKind::kHold;
          h.message = what + " requires approval (rule " + rule.name + ")";
          return h;
        }
        case RuleAction::kDeny: {
          Verdict d = Verdict::deny(rule.name, rule.config->message.empty()
                                                   ? what + " denied by rule " + rule.name
                                                   : rule.config->message);
          d.role = role_name;
          return d;
        }
      }
    }
  }
  Verdict d =
      Verdict::deny("", "no rule allows " + what + " on resource " + std::string(req.resource) +
                            " for roles " + role_list(rs.roles, rs.n));
  d.role = rs.roles[0]->config->name;
  return d;
}

}  // namespace phigate::rules
