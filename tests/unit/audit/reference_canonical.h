#pragma once
// What the canonical encoding rule (audit/canonical.h) says, built with nlohmann independently of
// the hand-written encoders, for the encoder tests to compare against: every field in the rule's
// order, strings sanitized to UTF-8, masked counts merged by sanitized name, the optional fields
// only when non-empty, then `hash` for a stored line.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "audit/canonical.h"

namespace phigate::audit {

inline std::string reference_canonical(const Event& e, bool with_hash = false) {
  using nlohmann::json;
  auto s = [](const std::string& v) { return sanitize_utf8(v); };
  auto a = [&](const std::vector<std::string>& v) {
    json arr = json::array();
    for (const auto& x : v) arr.push_back(s(x));
    return arr;
  };
  json m = json::object();
  for (const auto& [k, v] : e.masked) {
    json& slot = m[s(k)];
    slot = (slot.is_null() ? 0 : slot.get<uint64_t>()) + v;
  }
  json j = {{"seq", e.seq},
            {"node_id", s(e.node_id)},
            {"prev_hash", s(e.prev_hash)},
            {"time_ns", e.time_ns},
            {"session_id", s(e.session_id)},
            {"type", s(e.type)},
            {"sub", s(e.sub)},
            {"issuer", s(e.issuer)},
            {"jti", s(e.jti)},
            {"task_id", s(e.task_id)},
            {"workflow_id", s(e.workflow_id)},
            {"act_sub", s(e.act_sub)},
            {"groups", a(e.groups)},
            {"roles", a(e.roles)},
            {"client_user", s(e.client_user)},
            {"client_addr", s(e.client_addr)},
            {"resource", s(e.resource)},
            {"protocol", s(e.protocol)},
            {"action", s(e.action)},
            {"statement_kind", s(e.statement_kind)},
            {"parameters", a(e.parameters)},
            {"decision", s(e.decision)},
            {"rule", s(e.rule)},
            {"approver", s(e.approver)},
            {"message", s(e.message)},
            {"ref_seq", e.ref_seq},
            {"status", s(e.status)},
            {"rows", e.rows},
            {"bytes", e.bytes},
            {"error_code", s(e.error_code)},
            {"duration_ns", e.duration_ns},
            {"masked", m}};
  for (auto [key, member] : {std::pair{"act_chain", &Event::act_chain},
                             {"approval_id", &Event::approval_id},
                             {"capture", &Event::capture},
                             {"client_tls", &Event::client_tls},
                             {"upstream_tls", &Event::upstream_tls}}) {
    if (!(e.*member).empty()) j[key] = s(e.*member);
  }
  if (with_hash) j["hash"] = s(e.hash);
  return j.dump();
}

}  // namespace phigate::audit
