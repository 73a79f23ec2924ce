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

// RFC 9110 §9.2.2: a request with one of these methods may be sent again when the connection
// failed before the response (method names are case-sensitive, §9.1).
inline bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

struct Field {
  std::string_view name;
  std::string_view value;
};

// The fields of one head. Names and values are views into bytes this Fields owns: the parser
// copies the raw head in once (one allocation per head, none when a reused Fields already has the
// capacity) instead of two strings per field, and add() copies what a caller adds. The views stay
// valid for the life of the Fields, across add(), moves and copies (which rebase them); clear()
// and hold() end them.
class Fields {
 public:
  std::vector<Field> list;

  Fields() = default;
  Fields(const Fields& o);
  Fields& operator=(const Fields& o);
  Fields(Fields&& o) noexcept;
  Fields& operator=(Fields&& o) noexcept;

  // First value of `name`, or nullptr.
  const std::string_view* find(std::string_view name) const;
  size_t count(std::string_view name) const;
  void add(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  size_t erase(std::string_view name);
  void set(std::string_view name, std::string_view value) {
    erase(name);
    add(name, value);
  }
  // Empty again; the capacity stays for the next head, unless it is over `keep` bytes (a huge
  // head once should not stay with an idle keep-alive connection).
  void clear(size_t keep = SIZE_MAX) {
    list.clear();
    bytes_.clear();
    if (bytes_.capacity() > keep) bytes_.shrink_to_fit();
  }

  // For a parser: replaces everything with a copy of `raw` and returns the copy, which
  // add_held() fields are views into (no copy per field).
  std::string_view hold(std::string_view raw);
  void add_held(std::string_view name, std::string_view value) { list.push_back({name, value}); }

 private:
  // Points the views that were into `old` (of `size` bytes) at the same offsets of bytes_.
  void rebase(const char* old, size_t size);
  std::string bytes_;
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
  // Ready for the next message, keeping the capacity of its buffers (see Fields::clear).
  void clear(size_t keep = SIZE_MAX) {
    method.clear();
    target.clear();
    if (target.capacity() > keep) target.shrink_to_fit();
    version = 11;
    fields.clear(keep);
    framing = {};
  }
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version = 11;
  Fields fields;
  Framing framing;
  void clear(size_t keep = SIZE_MAX) {
    status = 0;
    reason.clear();
    if (reason.capacity() > keep) reason.shrink_to_fit();
    version = 11;
    fields.clear(keep);
    framing = {};
  }
};

std::string_view trim_ows(std::string_view s);  // RFC 9110 §5.6.3 OWS: SP / HTAB

}  // namespace phigate::http
