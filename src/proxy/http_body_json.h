#pragma once
// The JSON a request body's rules are matched against. Only a body every JSON parser reads the
// same way counts: RFC 8259 §4 leaves duplicate member names to the implementation (most keep
// the last, some the first, some refuse), so `{"action":"read","action":"delete"}` would be
// judged as one request and executed as another. Such a body is reported unreadable, and an
// unreadable body matches every deny/review rule on the body and no allow rule (policy's rule).
#include <string_view>

#include <nlohmann/json.hpp>

namespace phigate::proxy {

// The parsed body, or a discarded value (is_discarded()) when it is not JSON or repeats a member
// name within one object.
nlohmann::json parse_rule_body(std::string_view body);

}  // namespace phigate::proxy
