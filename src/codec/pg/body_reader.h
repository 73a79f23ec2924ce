#pragma once
// Internal to codec/pg: a reader over one message body that turns every short read, missing
// terminator or bad count into a protocol Error naming the message and the field, so each body
// parser reads linearly and reports the first thing that was wrong.
#include <cstdio>
#include <string>
#include <string_view>

#include "codec/pg/messages.h"
#include "common/bytes.h"
#include "common/result.h"

namespace phigate::pg::detail {

inline Error protocol_error(std::string message) { return Error{"protocol", std::move(message)}; }

// Printable form of a message type byte for error messages: 'Q' or 0x00.
inline std::string type_name(uint8_t type) {
  char buf[8];
  if (type >= 0x21 && type <= 0x7e) {
    std::snprintf(buf, sizeof buf, "'%c'", static_cast<char>(type));
  } else {
    std::snprintf(buf, sizeof buf, "0x%02x", type);
  }
  return buf;
}

class BodyReader {
 public:
  BodyReader(ByteSpan body, const char* message) : r_(body), message_(message) {}

  bool u8(uint8_t& out, const char* field) { return take(r_.u8(), out, field); }
  bool i16(int16_t& out, const char* field) { return take(r_.i16(), out, field); }
  bool u32(uint32_t& out, const char* field) { return take(r_.u32(), out, field); }
  bool i32(int32_t& out, const char* field) { return take(r_.i32(), out, field); }

  bool cstr(std::string_view& out, const char* field) {
    // Checked here because an empty span may have a null data(), which ByteReader::cstr would pass
    // to memchr (undefined even for a zero length).
    if (r_.remaining() == 0) return fail(std::string("missing NUL terminator in ") + field);
    auto v = r_.cstr();
    if (!v) return fail(std::string("missing NUL terminator in ") + field);
    out = *v;
    return true;
  }

  // An element count. PostgreSQL reads these with pq_getmsgint(msg, 2), i.e. unsigned 0..65535
  // (libpq sends up to 65535 parameters since PostgreSQL 14), so reading them as int16 would refuse
  // legitimate large batches. A count whose minimal encoding cannot fit in the rest of the body is
  // refused before anything is allocated for it.
  bool count(size_t& out, size_t min_item_size, const char* field) {
    auto v = r_.u16();
    if (!v) return fail(std::string("truncated ") + field);
    if (size_t(*v) * min_item_size > r_.remaining()) {
      return fail(std::string(field) + " " + std::to_string(*v) + " exceeds the message body");
    }
    out = *v;
    return true;
  }

  // Int32 length followed by that many bytes; -1 is SQL NULL, any other negative is malformed.
  bool value(BindParam& out, const char* field, size_t index) {
    auto len = r_.i32();
    if (!len)
      return fail(std::string("truncated length of ") + field + " " + std::to_string(index));
    if (*len == -1) {
      out.is_null = true;
      out.value = {};
      return true;
    }
    if (*len < 0) {
      return fail(std::string(field) + " " + std::to_string(index) + " has negative length " +
                  std::to_string(*len));
    }
    auto bytes = r_.bytes(static_cast<size_t>(*len));
    if (!bytes) {
      return fail(std::string(field) + " " + std::to_string(index) + " length " +
                  std::to_string(*len) + " exceeds the message body");
    }
    out.is_null = false;
    out.value = *bytes;
    return true;
  }

  // Data/format code that must be 0 (text) or 1 (binary): the masking path has to know how every
  // value is encoded, and the server would refuse any other code anyway.
  bool format(int16_t& out, const char* field) {
    if (!i16(out, field)) return false;
    if (out != 0 && out != 1)
      return fail(std::string("unsupported ") + field + " " + std::to_string(out));
    return true;
  }

  ByteSpan rest() { return r_.rest(); }
  size_t remaining() const { return r_.remaining(); }

  // The body must be consumed exactly: trailing bytes mean the peer and we disagree on the layout.
  bool end() {
    if (!r_.empty()) return fail(std::to_string(r_.remaining()) + " trailing bytes");
    return true;
  }

  bool fail(std::string what) {
    if (error_.empty()) error_ = std::string("malformed ") + message_ + " message: " + what;
    return false;
  }
  Error error() const { return protocol_error(error_); }

 private:
  template <class T, class U>
  bool take(const std::optional<T>& v, U& out, const char* field) {
    if (!v) return fail(std::string("truncated ") + field);
    out = static_cast<U>(*v);
    return true;
  }

  ByteReader r_;
  const char* message_;
  std::string error_;
};

}  // namespace phigate::pg::detail
