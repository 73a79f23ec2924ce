#pragma once
// The verified identity behind a request, as every later stage and the audit see it (DESIGN.md §6).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phigate {

struct Identity {
  std::string sub;
  std::string issuer;  // configured issuer name (e.g. "local"), not the iss URL
  std::vector<std::string> groups;
  std::vector<std::string> roles;  // filled by the group->role map
  std::string task_id;
  std::string workflow_id;
  std::string act_sub;  // RFC 8693 act.sub: the human the task acts for (the top-level act)
  // Every act.sub from the top level inward, joined by '>', when "act" is nested (RFC 8693 §4.1:
  // the top level is the current actor, nested ones are earlier actors); empty otherwise.
  std::string act_chain;
  std::string jti;
  int64_t expires_at = 0;  // unix seconds
  // Narrowing carried by tokens from token exchange (identity/token_exchange.h), only ever read
  // from the gateway's own issuer. role_limit: roles are the group->role map's roles that are also
  // listed here. resources: the token reaches only these resources, whatever its roles grant.
  std::optional<std::vector<std::string>> role_limit;
  std::optional<std::vector<std::string>> resources;
};

}  // namespace phigate
