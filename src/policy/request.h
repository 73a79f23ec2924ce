#pragma once
// Protocol-neutral request and verdict (DESIGN.md §1). Policy sees these, never wire bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "identity/identity.h"
#include "sql/classify.h"

namespace phigate {

// An HTTP request body as policy sees it: parsed JSON when the adapter buffered and parsed it.
struct HttpBodyView {
  enum class State { kNone, kJson, kOpaque } state = State::kNone;  // kOpaque: not JSON / not held
  const nlohmann::json* json = nullptr;
  uint64_t size = 0;  // bytes, when size_known
  bool size_known = true;
};

enum class ActionKind { kConnect, kStatement, kFunctionCall, kHttpRequest, kCommand };

struct Request {
  const Identity* identity = nullptr;
  std::string_view resource;
  std::string_view protocol;  // "postgres", "http", "ssh"
  ActionKind action = ActionKind::kStatement;
  std::string_view text;                           // SQL text / method+path / command
  std::shared_ptr<const sql::Classification> sql;  // for statements
  std::string_view method, path;                   // for HTTP
  // HTTP: decoded query parameters in order (repeats kept) and the body.
  const std::vector<std::pair<std::string, std::string>>* query = nullptr;
  const HttpBodyView* body = nullptr;
};

enum class VerdictKind { kContinue, kAllow, kDeny, kHold, kRewrite };

struct Verdict {
  VerdictKind kind = VerdictKind::kContinue;
  std::string rule;       // rule that decided, e.g. "analyst#0" or the rule's name; "" = default
  std::string message;    // for deny: shown to the client
  std::string code;       // SQLSTATE-like class for deny, e.g. "42501", "28000"
  std::string role;       // role whose rule decided
  uint64_t max_rows = 0;  // allow: the deciding role's max_rows (0 = no limit)
  static Verdict allow(std::string rule, std::string role = {}) {
    return {VerdictKind::kAllow, std::move(rule), {}, {}, std::move(role)};
  }
  static Verdict deny(std::string rule, std::string message, std::string code = "42501") {
    return {VerdictKind::kDeny, std::move(rule), std::move(message), std::move(code), {}};
  }
};

const char* verdict_name(VerdictKind k);  // "continue", "allow", "deny", "hold", "rewrite"

}  // namespace phigate
