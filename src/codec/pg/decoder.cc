// Connection-level framing: the untyped first packet (§55.2.1 Start-up) and typed frames (§55.7
// preamble), plus helpers shared by both directions. Section numbers refer to the PostgreSQL 16
// documentation, chapter 55 "Frontend/Backend Protocol".
#include <string>

#include "codec/pg/body_reader.h"
#include "codec/pg/decoder.h"

namespace phigate::pg {

using detail::protocol_error;

namespace {

template <class T>
Decoded<T> need_more() {
  return Decoded<T>{};
}

template <class T>
Decoded<T> decode_error(std::string message) {
  Decoded<T> d;
  d.status = DecodeStatus::kError;
  d.error = protocol_error(std::move(message));
  return d;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// StartupMessage body after the version (§55.7 StartupMessage): name/value String pairs ended by
// an empty name. The last byte must be that terminator, as the server itself requires.
Decoded<StartupPacket> parse_startup_params(ByteSpan params, StartupPacket pkt) {
  if (params.empty() || params.back() != 0) {
    return decode_error<StartupPacket>(
        "invalid startup packet layout: expected terminator as last byte");
  }
  ByteReader r(params);
  for (;;) {
    auto name = r.cstr();
    if (!name)
      return decode_error<StartupPacket>("invalid startup packet: truncated parameter name");
    if (name->empty()) break;
    auto value = r.cstr();
    if (!value) {
      return decode_error<StartupPacket>("invalid startup packet: parameter \"" +
                                         std::string(*name) + "\" has no value");
    }
    // The server keeps the last duplicate while a reader of the first would see another value (e.g.
    // two "user" entries); refusing duplicates removes that ambiguity. libpq never sends them.
    for (auto& [k, v] : pkt.params) {
      if (k == *name) {
        return decode_error<StartupPacket>("invalid startup packet: duplicate parameter \"" +
                                           std::string(*name) + "\"");
      }
    }
    pkt.params.emplace_back(*name, *value);
  }
  if (!r.empty()) {
    return decode_error<StartupPacket>("invalid startup packet: " + std::to_string(r.remaining()) +
                                       " bytes after the parameter terminator");
  }
  // §55.2.1: "user" is the only required parameter; the server refuses an empty one too.
  if (pkt.param("user").empty()) {
    return decode_error<StartupPacket>("no PostgreSQL user name specified in startup packet");
  }
  Decoded<StartupPacket> d;
  d.status = DecodeStatus::kMessage;
  d.message = std::move(pkt);
  return d;
}

}  // namespace

Decoded<StartupPacket> decode_startup(ByteSpan buf, size_t& consumed) {
  return decode_startup(buf, consumed, StartupOptions{});
}

// §55.7 StartupMessage / SSLRequest / GSSENCRequest / CancelRequest: Int32 self-inclusive length,
// Int32 code, then a body that depends on the code. §55.2.10/§55.2.11 (SSLRequest, GSSENCRequest)
// and §55.2.8 (CancelRequest) fix their lengths at 8 and 16.
Decoded<StartupPacket> decode_startup(ByteSpan buf, size_t& consumed, const StartupOptions& opts) {
  consumed = 0;
  if (buf.size() < 4) return need_more<StartupPacket>();
  // Checked before the packet is complete so a bogus length never makes the caller buffer it.
  int32_t len = static_cast<int32_t>(read_be32(buf.data()));
  if (len < 8 || uint32_t(len) > kMaxStartupLen) {
    return decode_error<StartupPacket>("invalid length of startup packet: " + std::to_string(len));
  }
  if (buf.size() < 8) return need_more<StartupPacket>();
  uint32_t code = read_be32(buf.data() + 4);
  // Length checks for fixed-size requests happen before waiting for the rest, for the same reason.
  if ((code == kSslRequestCode || code == kGssEncRequestCode) && len != 8) {
    return decode_error<StartupPacket>(
        std::string(code == kSslRequestCode ? "SSLRequest" : "GSSENCRequest") + " with length " +
        std::to_string(len) + ", expected 8");
  }
  if (code == kCancelRequestCode && len != 16) {
    return decode_error<StartupPacket>("CancelRequest with length " + std::to_string(len) +
                                       ", expected 16");
  }
  if (buf.size() < size_t(len)) return need_more<StartupPacket>();

  StartupPacket pkt;
  Decoded<StartupPacket> d;
  if (code == kSslRequestCode || code == kGssEncRequestCode) {
    pkt.kind = code == kSslRequestCode ? StartupKind::kSsl : StartupKind::kGssEnc;
  } else if (code == kCancelRequestCode) {
    pkt.kind = StartupKind::kCancel;
    pkt.cancel_pid = static_cast<int32_t>(read_be32(buf.data() + 8));
    pkt.cancel_key = static_cast<int32_t>(read_be32(buf.data() + 12));
  } else {
    uint32_t major = code >> 16, minor = code & 0xffff;
    if (major != 3 || (minor != 0 && !opts.accept_minor_versions)) {
      return decode_error<StartupPacket>("unsupported frontend protocol " + std::to_string(major) +
                                         "." + std::to_string(minor) +
                                         ": phigate supports protocol 3.0");
    }
    pkt.kind = StartupKind::kStartup;
    pkt.version = code;
    d = parse_startup_params(buf.subspan(8, size_t(len) - 8), std::move(pkt));
    if (d.status == DecodeStatus::kMessage) consumed = size_t(len);
    return d;
  }
  d.status = DecodeStatus::kMessage;
  d.message = std::move(pkt);
  consumed = size_t(len);
  return d;
}

// §55.7 preamble: Byte1 type, Int32 length counting itself but not the type byte, then the body.
Decoded<Frame> decode_frame(ByteSpan buf, uint32_t max_len) {
  if (buf.size() < 5) return need_more<Frame>();
  int32_t len = static_cast<int32_t>(read_be32(buf.data() + 1));
  if (len < 4) {
    return decode_error<Frame>("invalid length " + std::to_string(len) + " for message type " +
                               detail::type_name(buf[0]));
  }
  if (uint32_t(len) > max_len) {
    return decode_error<Frame>("message type " + detail::type_name(buf[0]) + " length " +
                               std::to_string(len) + " exceeds the limit of " +
                               std::to_string(max_len));
  }
  size_t total = 1 + size_t(len);
  if (buf.size() < total) return need_more<Frame>();
  Decoded<Frame> d;
  d.status = DecodeStatus::kMessage;
  d.message.type = static_cast<char>(buf[0]);
  d.message.body = buf.subspan(5, size_t(len) - 4);
  d.message.total = total;
  return d;
}

// §55.7 Sync, Flush, Terminate, CopyDone, ParseComplete, BindComplete, CloseComplete, NoData,
// PortalSuspended, EmptyQueryResponse: Int32(4) and nothing else.
Status parse_empty(ByteSpan body) {
  if (!body.empty()) {
    return protocol_error("malformed message: " + std::to_string(body.size()) +
                          " bytes in a message that has no body");
  }
  return ok_status();
}

namespace {
// Strict unsigned decimal: digits only, no sign or spaces, no overflow.
std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = uint64_t(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}
}  // namespace

// §55.7 CommandComplete: the tags that carry a row count are "INSERT oid rows" and "<CMD> rows" for
// SELECT (also CREATE TABLE AS / SELECT INTO), UPDATE, DELETE, MERGE, MOVE, FETCH and COPY. Other
// tags may end in a word that looks like a number, so only these commands are trusted.
std::optional<uint64_t> command_rows(std::string_view tag) {
  size_t sp = tag.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view cmd = tag.substr(0, sp), rest = tag.substr(sp + 1);
  if (cmd == "INSERT") {
    size_t sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos || !parse_u64(rest.substr(0, sp2))) return std::nullopt;
    return parse_u64(rest.substr(sp2 + 1));
  }
  static constexpr std::string_view kCounted[] = {"SELECT", "UPDATE", "DELETE", "MERGE",
                                                  "MOVE",   "FETCH",  "COPY"};
  for (auto c : kCounted) {
    if (cmd == c) return parse_u64(rest);
  }
  return std::nullopt;
}

}  // namespace phigate::pg
