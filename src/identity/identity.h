#pragma once
// The verified identity behind a request, as every later stage and the audit see it (DESIGN.md §6).
#include <cstdint>
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
  std::string act_sub;  // RFC 8693 act.sub: the human the task acts for
  std::string jti;
  int64_t expires_at = 0;  // unix seconds
};

}  // namespace phigate
