#pragma once
// HTTP/1.1 message heads as the session adapter sees them (RFC 9112 §2, §3, §4). Field names keep
// the case they arrived in; lookups are case-insensitive (RFC 9110 §5.1).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"

namespace phigate::http {

struct Field {
  std::string name;
  std::string value;
};

struct Fields {
  std::vector<Field> list;
  // First value of `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  size_t count(std::string_view name) const;
  void add(std::string_view name, std::string_view value) {
    list.push_back({std::string(name), std::string(value)});
  }
  // Removes every field called `name`; returns how many were removed.
  size_t erase(std::string_view name);
  void set(std::string_view name, std::string_view value) {
    erase(name);
    add(name, value);
  }
};

// Message framing (RFC 9112 §6.3), decided by the parser.
struct Framing {
  bool chunked = false;
  std::optional<uint64_t> content_length;
  bool keep_alive = true;    // per version and Connection (RFC 9112 §9.3)
  bool until_close = false;  // response body delimited by the connection closing (§6.3 rule 8)
  bool has_body() const { return chunked || until_close || content_length.value_or(0) > 0; }
};

struct RequestHead {
  std::string method;
  std::string target;  // as received: origin-form "/path?query"
  int version = 11;    // 10 or 11
  Fields fields;
  Framing framing;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version = 11;
  Fields fields;
  Framing framing;
};

std::string_view trim_ows(std::string_view s);  // RFC 9110 §5.6.3 OWS: SP / HTAB

}  // namespace phigate::http
