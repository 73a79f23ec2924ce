#pragma once
// I/O-free decoding of the PostgreSQL v3 protocol. Every function validates a whole message before
// handing anything out and returns one of: need more data, a message, or a protocol error.
#include <optional>

#include "codec/pg/messages.h"
#include "common/result.h"

namespace phigate::pg {

enum class DecodeStatus { kNeedMore, kMessage, kError };

template <class T>
struct Decoded {
  DecodeStatus status = DecodeStatus::kNeedMore;
  T message{};
  Error error{};  // set when status == kError; code "protocol"
};

// First packet of a connection (no type byte): StartupMessage, SSLRequest, GSSENCRequest or
// CancelRequest (§55.2.1, §55.7). `consumed` is set to the packet length on kMessage.
Decoded<StartupPacket> decode_startup(ByteSpan buf, size_t& consumed);

struct StartupOptions {
  // Protocol 3.x with x > 0 (3.2 in PostgreSQL 18, "grease" versions such as 3.9999 in 19 betas):
  // false rejects it like any unknown version; true hands it out (StartupPacket::version) so the
  // caller can answer NegotiateProtocolVersion with minor 0 (§55.2.1) and then speak 3.0.
  bool accept_minor_versions = false;
};
Decoded<StartupPacket> decode_startup(ByteSpan buf, size_t& consumed, const StartupOptions& opts);

// A typed message frame. Lengths < 4 or > max_len are protocol errors.
Decoded<Frame> decode_frame(ByteSpan buf, uint32_t max_len);

// Body parsers for one frame (type already known). Each fails with code "protocol" on any
// malformed field: missing terminator, a count or length that exceeds the body, a negative length
// other than -1 (NULL), trailing bytes. Counts are unsigned 16-bit, as the server reads them.
Result<Query> parse_query(ByteSpan body);
Result<Parse> parse_parse(ByteSpan body);
Result<Bind> parse_bind(ByteSpan body);
Result<Execute> parse_execute(ByteSpan body);
Result<Describe> parse_describe(ByteSpan body);
Result<Close> parse_close(ByteSpan body);
Result<FunctionCall> parse_function_call(ByteSpan body);
Result<PasswordMessage> parse_password(ByteSpan body);

Result<Authentication> parse_authentication(ByteSpan body);
Result<BackendKeyData> parse_backend_key_data(ByteSpan body);
Result<ParameterStatus> parse_parameter_status(ByteSpan body);
Result<ReadyForQuery> parse_ready_for_query(ByteSpan body);
Result<CommandComplete> parse_command_complete(ByteSpan body);
Result<RowDescription> parse_row_description(ByteSpan body);
Result<DataRow> parse_data_row(ByteSpan body);
Result<ErrorFields> parse_error_fields(ByteSpan body);  // for 'E' and 'N'

// Rows affected/returned from a CommandComplete tag ("SELECT 5", "INSERT 0 3", "COPY 10"); nullopt
// when the tag carries no count (e.g. "BEGIN").
std::optional<uint64_t> command_rows(std::string_view tag);

// ---- Added with the implementation ----
// Frontend 'p' after SASL was requested (its meaning depends on the auth state, not on the byte).
Result<SaslInitialResponse> parse_sasl_initial_response(ByteSpan body);
Result<SaslResponse> parse_sasl_response(ByteSpan body);
Result<CopyFail> parse_copy_fail(ByteSpan body);
// Messages that carry no body: Sync 'S', Flush 'H', Terminate 'X', CopyDone 'c', and the backend's
// ParseComplete '1', BindComplete '2', CloseComplete '3', NoData 'n', PortalSuspended 's',
// EmptyQueryResponse 'I'. Fails on any byte.
Status parse_empty(ByteSpan body);
// Mechanism names of an AuthenticationSASL (code 10) message, in server preference order.
Result<std::vector<std::string_view>> sasl_mechanisms(const Authentication& auth);

Result<CopyResponse> parse_copy_response(ByteSpan body);  // 'G', 'H', 'W'
Result<ParameterDescription> parse_parameter_description(ByteSpan body);
Result<NotificationResponse> parse_notification_response(ByteSpan body);
Result<NegotiateProtocolVersion> parse_negotiate_protocol_version(ByteSpan body);
Result<FunctionCallResponse> parse_function_call_response(ByteSpan body);

}  // namespace phigate::pg
