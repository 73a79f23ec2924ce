// Encoders for §55.7 "Message Formats" (PostgreSQL 16 documentation). Each message is written as
// type byte, a placeholder length patched once the body is complete, then the body.
#include "codec/pg/encoder.h"

#include <cstring>

namespace phigate::pg {

namespace {

// A protocol String ends at its first NUL; see the header for why the rest is dropped.
void put_cstr(ByteWriter& w, std::string_view s) {
  // A default string_view has a null data(); memchr must not see it even with a zero size.
  if (!s.empty()) {
    const void* nul = std::memchr(s.data(), 0, s.size());
    if (nul) s = s.substr(0, static_cast<const char*>(nul) - s.data());
  }
  w.cstr(s);
}

// RAII frame: the length is patched when the writer goes out of scope, so no encoder can forget.
class FrameWriter {
 public:
  FrameWriter(Bytes& out, char type) : w_(out) {
    w_.u8(static_cast<uint8_t>(type));
    at_ = w_.placeholder_u32();
  }
  ~FrameWriter() { w_.patch_len(at_); }
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;
  ByteWriter& w() { return w_; }

 private:
  ByteWriter w_;
  size_t at_ = 0;
};

void put_value(ByteWriter& w, const BindParam& p) {
  if (p.is_null) {
    w.i32(-1);
    return;
  }
  w.i32(static_cast<int32_t>(p.value.size()));
  w.bytes(p.value);
}

void put_error_body(ByteWriter& w, std::string_view severity, std::string_view sqlstate,
                    std::string_view message, std::string_view detail, std::string_view hint) {
  // §55.8: 'S' may be localized, 'V' never is (PostgreSQL 9.6+); phigate sends both identical.
  w.u8('S');
  put_cstr(w, severity);
  w.u8('V');
  put_cstr(w, severity);
  w.u8('C');
  put_cstr(w, sqlstate);
  w.u8('M');
  put_cstr(w, message);
  if (!detail.empty()) {
    w.u8('D');
    put_cstr(w, detail);
  }
  if (!hint.empty()) {
    w.u8('H');
    put_cstr(w, hint);
  }
  w.u8(0);
}

}  // namespace

// ---- backend side ----

// §55.7 ErrorResponse, §55.8 fields.
void encode_error(Bytes& out, std::string_view severity, std::string_view sqlstate,
                  std::string_view message, std::string_view detail, std::string_view hint) {
  FrameWriter f(out, 'E');
  put_error_body(f.w(), severity, sqlstate, message, detail, hint);
}

// §55.7 NoticeResponse, §55.8 fields.
void encode_notice(Bytes& out, std::string_view severity, std::string_view sqlstate,
                   std::string_view message, std::string_view detail) {
  FrameWriter f(out, 'N');
  put_error_body(f.w(), severity, sqlstate, message, detail, {});
}

// §55.7 ErrorResponse/NoticeResponse from parsed fields. A field code of 0 would end the list
// early and turn the remaining fields into garbage, so such a field is skipped.
void encode_error_fields(Bytes& out, char type, const ErrorFields& fields) {
  FrameWriter f(out, type);
  for (auto& field : fields.fields) {
    if (field.code == 0) continue;
    f.w().u8(static_cast<uint8_t>(field.code));
    put_cstr(f.w(), field.value);
  }
  f.w().u8(0);
}

// §55.7 AuthenticationCleartextPassword.
void encode_auth_cleartext_request(Bytes& out) {
  FrameWriter f(out, 'R');
  f.w().i32(3);
}

// §55.7 AuthenticationOk.
void encode_auth_ok(Bytes& out) {
  FrameWriter f(out, 'R');
  f.w().i32(0);
}

// §55.7 Authentication* in general: Int32 code then the code-specific bytes as given.
void encode_authentication(Bytes& out, const Authentication& auth) {
  FrameWriter f(out, 'R');
  f.w().i32(auth.code);
  f.w().bytes(auth.data);
}

// §55.7 BackendKeyData.
void encode_backend_key_data(Bytes& out, int32_t pid, int32_t key) {
  FrameWriter f(out, 'K');
  f.w().i32(pid);
  f.w().i32(key);
}

// §55.7 ParameterStatus.
void encode_parameter_status(Bytes& out, std::string_view name, std::string_view value) {
  FrameWriter f(out, 'S');
  put_cstr(f.w(), name);
  put_cstr(f.w(), value);
}

// §55.7 ReadyForQuery.
void encode_ready_for_query(Bytes& out, char status) {
  FrameWriter f(out, 'Z');
  f.w().u8(static_cast<uint8_t>(status));
}

// §55.7 CommandComplete.
void encode_command_complete(Bytes& out, std::string_view tag) {
  FrameWriter f(out, 'C');
  put_cstr(f.w(), tag);
}

// §55.7 EmptyQueryResponse.
void encode_empty_query_response(Bytes& out) { FrameWriter f(out, 'I'); }

// §55.7 RowDescription.
void encode_row_description(Bytes& out, const RowDescription& desc) {
  FrameWriter f(out, 'T');
  f.w().u16(static_cast<uint16_t>(desc.fields.size()));
  for (auto& fd : desc.fields) {
    put_cstr(f.w(), fd.name);
    f.w().u32(fd.table_oid);
    f.w().i16(fd.column);
    f.w().u32(fd.type_oid);
    f.w().i16(fd.type_size);
    f.w().i32(fd.type_mod);
    f.w().i16(fd.format);
  }
}

// §55.7 DataRow.
void encode_data_row(Bytes& out, const DataRow& row) {
  FrameWriter f(out, 'D');
  f.w().u16(static_cast<uint16_t>(row.columns.size()));
  for (auto& c : row.columns) put_value(f.w(), c);
}

// §55.7 NegotiateProtocolVersion.
void encode_negotiate_protocol_version(Bytes& out, uint32_t newest_minor,
                                       const std::vector<std::string_view>& unrecognized) {
  FrameWriter f(out, 'v');
  f.w().u32(newest_minor);
  f.w().i32(static_cast<int32_t>(unrecognized.size()));
  for (auto name : unrecognized) put_cstr(f.w(), name);
}

// ---- frontend side ----

// §55.7 StartupMessage: no type byte; Int32 length, Int32 version, name/value pairs, NUL.
void encode_startup(Bytes& out,
                    const std::vector<std::pair<std::string_view, std::string_view>>& params) {
  ByteWriter w(out);
  size_t at = w.placeholder_u32();
  w.u32(kProtocolV3);
  for (auto& [name, value] : params) {
    // An empty name would end the list early, leaving the rest to be read as garbage.
    if (name.empty() || name[0] == 0) continue;
    put_cstr(w, name);
    put_cstr(w, value);
  }
  w.u8(0);
  w.patch_len(at);
}

// §55.7 SSLRequest.
void encode_ssl_request(Bytes& out) {
  ByteWriter w(out);
  w.u32(8);
  w.u32(kSslRequestCode);
}

// §55.7 GSSENCRequest.
void encode_gssenc_request(Bytes& out) {
  ByteWriter w(out);
  w.u32(8);
  w.u32(kGssEncRequestCode);
}

// §55.7 CancelRequest.
void encode_cancel_request(Bytes& out, int32_t pid, int32_t key) {
  ByteWriter w(out);
  w.u32(16);
  w.u32(kCancelRequestCode);
  w.i32(pid);
  w.i32(key);
}

// §55.7 PasswordMessage.
void encode_password(Bytes& out, std::string_view password) {
  FrameWriter f(out, 'p');
  put_cstr(f.w(), password);
}

// §55.7 SASLInitialResponse: SCRAM always sends an initial response, so the length is the data's.
void encode_sasl_initial_response(Bytes& out, std::string_view mechanism, std::string_view data) {
  FrameWriter f(out, 'p');
  put_cstr(f.w(), mechanism);
  f.w().i32(static_cast<int32_t>(data.size()));
  f.w().str(data);
}

// §55.7 SASLResponse.
void encode_sasl_response(Bytes& out, std::string_view data) {
  FrameWriter f(out, 'p');
  f.w().str(data);
}

// §55.7 Query.
void encode_query(Bytes& out, std::string_view sql) {
  FrameWriter f(out, 'Q');
  put_cstr(f.w(), sql);
}

// §55.7 Parse.
void encode_parse(Bytes& out, std::string_view name, std::string_view query,
                  const std::vector<uint32_t>& param_types) {
  FrameWriter f(out, 'P');
  put_cstr(f.w(), name);
  put_cstr(f.w(), query);
  f.w().u16(static_cast<uint16_t>(param_types.size()));
  for (uint32_t oid : param_types) f.w().u32(oid);
}

// §55.7 Bind.
void encode_bind(Bytes& out, const Bind& bind) {
  FrameWriter f(out, 'B');
  put_cstr(f.w(), bind.portal);
  put_cstr(f.w(), bind.statement);
  f.w().u16(static_cast<uint16_t>(bind.param_formats.size()));
  for (int16_t fmt : bind.param_formats) f.w().i16(fmt);
  f.w().u16(static_cast<uint16_t>(bind.params.size()));
  for (auto& p : bind.params) put_value(f.w(), p);
  f.w().u16(static_cast<uint16_t>(bind.result_formats.size()));
  for (int16_t fmt : bind.result_formats) f.w().i16(fmt);
}

// §55.7 Describe.
void encode_describe(Bytes& out, char target, std::string_view name) {
  FrameWriter f(out, 'D');
  f.w().u8(static_cast<uint8_t>(target));
  put_cstr(f.w(), name);
}

// §55.7 Close.
void encode_close(Bytes& out, char target, std::string_view name) {
  FrameWriter f(out, 'C');
  f.w().u8(static_cast<uint8_t>(target));
  put_cstr(f.w(), name);
}

// §55.7 Execute.
void encode_execute(Bytes& out, std::string_view portal, int32_t max_rows) {
  FrameWriter f(out, 'E');
  put_cstr(f.w(), portal);
  f.w().i32(max_rows);
}

// §55.7 FunctionCall.
void encode_function_call(Bytes& out, const FunctionCall& call) {
  FrameWriter f(out, 'F');
  f.w().u32(call.function_oid);
  f.w().u16(static_cast<uint16_t>(call.arg_formats.size()));
  for (int16_t fmt : call.arg_formats) f.w().i16(fmt);
  f.w().u16(static_cast<uint16_t>(call.args.size()));
  for (auto& a : call.args) put_value(f.w(), a);
  f.w().i16(call.result_format);
}

// §55.7 CopyFail.
void encode_copy_fail(Bytes& out, std::string_view message) {
  FrameWriter f(out, 'f');
  put_cstr(f.w(), message);
}

// §55.7 Sync.
void encode_sync(Bytes& out) { FrameWriter f(out, 'S'); }

// §55.7 Flush.
void encode_flush(Bytes& out) { FrameWriter f(out, 'H'); }

// §55.7 Terminate.
void encode_terminate(Bytes& out) { FrameWriter f(out, 'X'); }

// Any frame, e.g. forwarded CopyData.
void encode_frame(Bytes& out, char type, ByteSpan body) {
  FrameWriter f(out, type);
  f.w().bytes(body);
}

}  // namespace phigate::pg
