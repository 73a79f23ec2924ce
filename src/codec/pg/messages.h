#pragma once
// Typed views of PostgreSQL v3 protocol messages (PostgreSQL docs §55.7 "Message Formats").
// Views point into the caller's buffer: valid only while that buffer is unchanged.
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace phigate::pg {

// Protocol 3.0 and the special request codes (§55.7 StartupMessage, SSLRequest, GSSENCRequest,
// CancelRequest).
inline constexpr uint32_t kProtocolV3 = 196608;
inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;

// Hard caps: a startup packet is small; other messages are capped by configuration (default 64 MiB
// for frontend messages, 1 GiB for backend ones, which PostgreSQL itself never exceeds).
inline constexpr uint32_t kMaxStartupLen = 10000;
inline constexpr uint32_t kDefaultMaxFrontendLen = 64u << 20;
inline constexpr uint32_t kDefaultMaxBackendLen = 1u << 30;

enum class StartupKind { kStartup, kSsl, kGssEnc, kCancel };

struct StartupPacket {
  StartupKind kind = StartupKind::kStartup;
  uint32_t version = 0;                                               // kStartup
  std::vector<std::pair<std::string_view, std::string_view>> params;  // kStartup, in order
  int32_t cancel_pid = 0;                                             // kCancel
  int32_t cancel_key = 0;                                             // kCancel
  std::string_view param(std::string_view name) const {
    for (auto& [k, v] : params)
      if (k == name) return v;
    return {};
  }
};

// A framed typed message: 1 type byte + self-inclusive int32 length + body (§55.7 preamble).
struct Frame {
  char type = 0;
  ByteSpan body;     // without type byte and length
  size_t total = 0;  // bytes consumed from the buffer, type+length+body
};

// ---- Frontend messages (client -> server) ----
struct Query {
  std::string_view sql;
};              // 'Q'
struct Parse {  // 'P'
  std::string_view name;
  std::string_view query;
  std::vector<uint32_t> param_types;
};
// Format of value i under the rule Bind and FunctionCall share (§55.7): no codes = all text, one
// code = all values, otherwise one code per value.
inline int16_t format_at(const std::vector<int16_t>& formats, size_t i) {
  if (formats.empty()) return 0;
  if (formats.size() == 1) return formats[0];
  return i < formats.size() ? formats[i] : 0;
}
struct BindParam {
  bool is_null = false;
  ByteSpan value;
};
struct Bind {  // 'B'
  std::string_view portal;
  std::string_view statement;
  std::vector<int16_t> param_formats;  // 0 = text, 1 = binary; 0, 1 or N entries
  std::vector<BindParam> params;
  std::vector<int16_t> result_formats;
  int16_t param_format(size_t i) const { return format_at(param_formats, i); }
};
struct Execute {
  std::string_view portal;
  int32_t max_rows = 0;
};  // 'E'
struct Describe {
  char target = 'S';
  std::string_view name;
};  // 'D': 'S' statement, 'P' portal
struct Close {
  char target = 'S';
  std::string_view name;
};                     // 'C'
struct FunctionCall {  // 'F'
  uint32_t function_oid = 0;
  std::vector<int16_t> arg_formats;
  std::vector<BindParam> args;
  int16_t result_format = 0;
  int16_t arg_format(size_t i) const { return format_at(arg_formats, i); }
};
struct PasswordMessage {
  std::string_view password;
};  // 'p' (cleartext reply)

// ---- Backend messages (server -> client) ----
struct Authentication {  // 'R'
  int32_t code = 0;      // 0 ok, 3 cleartext, 5 md5, 10 SASL, 11 SASL continue, 12 SASL final
  ByteSpan data;         // md5: 4-byte salt; SASL: mechanism list / server data
};
struct BackendKeyData {
  int32_t pid = 0;
  int32_t key = 0;
};  // 'K'
struct ParameterStatus {
  std::string_view name, value;
};  // 'S'
struct ReadyForQuery {
  char status = 'I';
};  // 'Z': I, T, E
struct CommandComplete {
  std::string_view tag;
};  // 'C'
struct RowDescriptionField {
  std::string_view name;
  uint32_t table_oid = 0;
  int16_t column = 0;
  uint32_t type_oid = 0;
  int16_t type_size = 0;
  int32_t type_mod = 0;
  int16_t format = 0;
};
struct RowDescription {
  std::vector<RowDescriptionField> fields;
};  // 'T'
struct DataRow {
  std::vector<BindParam> columns;
};  // 'D'
// ErrorResponse 'E' / NoticeResponse 'N' (§55.8 Error and Notice Message Fields).
struct ErrorField {
  char code;
  std::string_view value;
};
struct ErrorFields {
  std::vector<ErrorField> fields;
  std::string_view get(char code) const {
    for (auto& f : fields)
      if (f.code == code) return f.value;
    return {};
  }
  std::string_view sqlstate() const { return get('C'); }
  std::string_view message() const { return get('M'); }
  std::string_view severity() const { return get('V').empty() ? get('S') : get('V'); }
};

// ---- Further messages a proxy must recognise (added with the codec implementation) ----
// SASLInitialResponse 'p' (§55.7): the mechanism and the optional initial client response.
struct SaslInitialResponse {
  std::string_view mechanism;
  bool has_data = false;  // false when the length field is -1 ("no initial response")
  ByteSpan data;
};
// SASLResponse 'p' (§55.7), sent after AuthenticationSASLContinue.
struct SaslResponse {
  ByteSpan data;
};
// CopyFail 'f' (§55.7), frontend.
struct CopyFail {
  std::string_view message;
};
// CopyInResponse 'G', CopyOutResponse 'H', CopyBothResponse 'W' (§55.7): overall format and one
// format code per column.
struct CopyResponse {
  int8_t format = 0;  // 0 text, 1 binary
  std::vector<int16_t> column_formats;
};
// ParameterDescription 't' (§55.7).
struct ParameterDescription {
  std::vector<uint32_t> type_oids;
};
// NotificationResponse 'A' (§55.7).
struct NotificationResponse {
  int32_t pid = 0;
  std::string_view channel;
  std::string_view payload;
};
// NegotiateProtocolVersion 'v' (§55.7): newest minor version the server supports for the requested
// major version, and the "_pq_." startup options it did not recognise.
struct NegotiateProtocolVersion {
  uint32_t newest_minor = 0;
  std::vector<std::string_view> unrecognized;
};
// FunctionCallResponse 'V' (§55.7).
struct FunctionCallResponse {
  BindParam result;
};

}  // namespace phigate::pg
