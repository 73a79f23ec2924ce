#include "identity/claims.h"

#include <limits>

#include "identity/jwt.h"

namespace phigate {

using nlohmann::json;

namespace {

Error malformed(std::string message) { return make_error("malformed", std::move(message)); }

Status optional_string(const json& obj, const char* name, std::string* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return ok_status();
  if (!it->is_string()) return malformed(std::string("claim \"") + name + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (!is_printable_claim(s)) {
    return malformed(std::string("claim \"") + name + "\" contains control characters");
  }
  *out = s;
  return ok_status();
}

}  // namespace

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

Status check_audience(const json& claims, std::string_view audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) return make_error("wrong_audience", "token has no audience");
  if (aud->is_string()) {
    if (aud->get_ref<const std::string&>() == audience) return ok_status();
  } else if (aud->is_array()) {
    bool found = false;
    for (const auto& a : *aud) {
      if (!a.is_string()) return malformed("claim \"aud\" must hold strings");
      found = found || a.get_ref<const std::string&>() == audience;
    }
    if (found) return ok_status();
  } else {
    return malformed("claim \"aud\" must be a string or an array of strings");
  }
  return make_error("wrong_audience", "token is not meant for this gateway's audience");
}

Status check_times(const json& claims, int64_t now, int64_t skew, int64_t* expires_at) {
  auto exp_it = claims.find("exp");
  if (exp_it == claims.end()) return malformed("token has no expiry (\"exp\")");
  auto exp = numeric_date(*exp_it);
  if (!exp) return malformed("claim \"exp\" must be a number");
  // Valid while now < exp + skew, written so that a huge exp cannot overflow.
  if (*exp <= saturating_add(now, -skew)) return make_error("expired", "token has expired");
  for (const char* name : {"nbf", "iat"}) {
    auto it = claims.find(name);
    if (it == claims.end()) continue;
    auto t = numeric_date(*it);
    if (!t) return malformed(std::string("claim \"") + name + "\" must be a number");
    if (*t > saturating_add(now, skew)) {
      return make_error("not_yet_valid", "token is not valid yet");
    }
  }
  *expires_at = *exp;
  return ok_status();
}

Status read_subject(const json& claims, Identity* id) {
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return malformed("token has no subject (\"sub\")");
  }
  if (!is_printable_claim(sub->get_ref<const std::string&>())) {
    return malformed("claim \"sub\" contains control characters");
  }
  id->sub = sub->get_ref<const std::string&>();
  return ok_status();
}

const json* find_claim(const json& claims, std::string_view name) {
  if (name.empty()) return nullptr;
  if (name.find("://") != std::string_view::npos) {
    auto it = claims.find(name);
    return it == claims.end() ? nullptr : &*it;
  }
  const json* cur = &claims;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t dot = name.find('.', pos);
    if (dot == std::string_view::npos) dot = name.size();
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(name.substr(pos, dot - pos));
    if (it == cur->end()) return nullptr;
    cur = &*it;
    pos = dot + 1;
  }
  return cur;
}

Status read_groups(const json& value, std::vector<std::string>* out) {
  if (value.is_string()) {
    const auto& g = value.get_ref<const std::string&>();
    if (!is_printable_claim(g)) return malformed("groups claim contains control characters");
    if (!g.empty()) out->push_back(g);
    return ok_status();
  }
  if (!value.is_array()) return malformed("groups claim must be an array of strings");
  out->reserve(value.size());
  for (const auto& g : value) {
    if (!g.is_string() || !is_printable_claim(g.get_ref<const std::string&>())) {
      return malformed("groups claim must be an array of strings");
    }
    out->push_back(g.get_ref<const std::string&>());
  }
  return ok_status();
}

Status read_task_claims(const json& claims, Identity* id) {
  if (auto st = optional_string(claims, "task_id", &id->task_id); !st.ok()) return st;
  if (auto st = optional_string(claims, "workflow_id", &id->workflow_id); !st.ok()) return st;
  if (auto st = optional_string(claims, "jti", &id->jti); !st.ok()) return st;
  // RFC 8693 §4.1: "act" names the current actor; an "act" nested inside it names the actor
  // before, and so on. Each level must be an object with a printable "sub".
  const json* act = nullptr;
  if (auto it = claims.find("act"); it != claims.end()) act = &*it;
  std::vector<std::string> chain;
  while (act != nullptr) {
    if (!act->is_object()) return malformed("claim \"act\" must be an object");
    if (chain.size() == static_cast<size_t>(kMaxActDepth)) {
      return malformed("claim \"act\" is nested too deeply");
    }
    std::string sub;
    if (auto st = optional_string(*act, "sub", &sub); !st.ok()) return st;
    if (sub.empty()) return malformed("claim \"act\" has no \"sub\"");
    // '>' separates the chain in audit records; a sub containing it would forge a hop.
    if (sub.find('>') != std::string::npos) return malformed("claim \"act.sub\" contains '>'");
    chain.push_back(std::move(sub));
    auto next = act->find("act");
    act = next == act->end() ? nullptr : &*next;
  }
  if (!chain.empty()) id->act_sub = chain.front();
  if (chain.size() > 1) {
    for (const auto& s : chain) id->act_chain += (id->act_chain.empty() ? "" : ">") + s;
  }
  return ok_status();
}

}  // namespace phigate
