#pragma once
// Encoders for the messages phigate itself must say, appended to `out` (§55.7).
// A protocol String cannot hold a NUL, so every string argument is cut at its first NUL: writing it
// whole would let text that reaches an error message (SQL, identifiers) forge further fields.
// Counts are written as 16-bit and lengths as 32-bit fields: callers keep to the protocol's limits
// (at most 65535 parameters/columns, messages under 1 GiB), as messages decoded here always do.
#include <string_view>

#include "codec/pg/messages.h"

namespace phigate::pg {

// ---- backend side (phigate -> client) ----
// ErrorResponse/NoticeResponse with S, V, C, M and optional D/H fields.
void encode_error(Bytes& out, std::string_view severity, std::string_view sqlstate,
                  std::string_view message, std::string_view detail = {},
                  std::string_view hint = {});
void encode_notice(Bytes& out, std::string_view severity, std::string_view sqlstate,
                   std::string_view message, std::string_view detail = {});
// Re-encodes an ErrorFields set (e.g. after rewriting one field) as 'E' or 'N'.
void encode_error_fields(Bytes& out, char type, const ErrorFields& fields);
void encode_auth_cleartext_request(Bytes& out);  // AuthenticationCleartextPassword
void encode_auth_ok(Bytes& out);
void encode_backend_key_data(Bytes& out, int32_t pid, int32_t key);
void encode_parameter_status(Bytes& out, std::string_view name, std::string_view value);
void encode_ready_for_query(Bytes& out, char status);
void encode_command_complete(Bytes& out, std::string_view tag);
void encode_empty_query_response(Bytes& out);

// ---- frontend side (phigate -> upstream server) ----
void encode_startup(Bytes& out,
                    const std::vector<std::pair<std::string_view, std::string_view>>& params);
void encode_ssl_request(Bytes& out);
void encode_cancel_request(Bytes& out, int32_t pid, int32_t key);
void encode_password(Bytes& out, std::string_view password);  // 'p', NUL-terminated
void encode_sasl_initial_response(Bytes& out, std::string_view mechanism, std::string_view data);
void encode_sasl_response(Bytes& out, std::string_view data);
void encode_query(Bytes& out, std::string_view sql);
void encode_parse(Bytes& out, std::string_view name, std::string_view query,
                  const std::vector<uint32_t>& param_types = {});
void encode_bind(Bytes& out, const Bind& bind);
void encode_describe(Bytes& out, char target, std::string_view name);
void encode_execute(Bytes& out, std::string_view portal, int32_t max_rows);
void encode_sync(Bytes& out);
void encode_terminate(Bytes& out);
// Raw frame: type byte + length + body.
void encode_frame(Bytes& out, char type, ByteSpan body);

// ---- Added with the implementation ----
// Backend side: any Authentication request ('R'), e.g. MD5 with a salt or SASL with a mechanism
// list; RowDescription and DataRow for results phigate rewrites (masking); protocol negotiation.
void encode_authentication(Bytes& out, const Authentication& auth);
void encode_row_description(Bytes& out, const RowDescription& desc);
void encode_data_row(Bytes& out, const DataRow& row);
void encode_negotiate_protocol_version(Bytes& out, uint32_t newest_minor,
                                       const std::vector<std::string_view>& unrecognized);
// Frontend side.
void encode_gssenc_request(Bytes& out);
void encode_close(Bytes& out, char target, std::string_view name);
void encode_flush(Bytes& out);
void encode_function_call(Bytes& out, const FunctionCall& call);
void encode_copy_fail(Bytes& out, std::string_view message);

}  // namespace phigate::pg
