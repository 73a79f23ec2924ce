// Bodies of backend (server -> client) messages, §55.7 "Message Formats" and §55.8 "Error and
// Notice Message Fields" of the PostgreSQL 16 documentation.
#include "codec/pg/body_reader.h"
#include "codec/pg/decoder.h"

namespace phigate::pg {

using detail::BodyReader;

// §55.7 Authentication* ('R'): Int32 code, then a code-specific tail. Fixed layouts are checked
// exactly; an unknown code is an error because phigate cannot complete an exchange it does not know
// and must not guess (fail closed).
Result<Authentication> parse_authentication(ByteSpan body) {
  BodyReader r(body, "Authentication");
  Authentication a;
  if (!r.i32(a.code, "code")) return r.error();
  switch (a.code) {
    case 0:  // AuthenticationOk
    case 2:  // AuthenticationKerberosV5
    case 3:  // AuthenticationCleartextPassword
    case 7:  // AuthenticationGSS
    case 9:  // AuthenticationSSPI
      if (!r.end()) return r.error();
      return a;
    case 5:  // AuthenticationMD5Password: Byte4 salt
      if (r.remaining() != 4) {
        r.fail("MD5 salt of " + std::to_string(r.remaining()) + " bytes, expected 4");
        return r.error();
      }
      a.data = r.rest();
      return a;
    case 10: {  // AuthenticationSASL: mechanism names, each a String, ended by an empty String
      a.data = body.subspan(4);
      auto mechs = sasl_mechanisms(a);
      if (!mechs) return mechs.error();
      return a;
    }
    case 8:   // AuthenticationGSSContinue
    case 11:  // AuthenticationSASLContinue
    case 12:  // AuthenticationSASLFinal
      a.data = r.rest();
      return a;
    default:
      r.fail("unknown authentication request code " + std::to_string(a.code));
      return r.error();
  }
}

// §55.7 AuthenticationSASL body; §55.3: a list of mechanisms in the server's order of preference.
Result<std::vector<std::string_view>> sasl_mechanisms(const Authentication& auth) {
  BodyReader r(auth.data, "AuthenticationSASL");
  if (auth.code != 10) {
    r.fail("not an AuthenticationSASL request (code " + std::to_string(auth.code) + ")");
    return r.error();
  }
  std::vector<std::string_view> out;
  for (;;) {
    std::string_view name;
    if (!r.cstr(name, "mechanism list")) return r.error();
    if (name.empty()) break;
    out.push_back(name);
  }
  if (!r.end()) return r.error();
  if (out.empty()) {
    r.fail("empty mechanism list");
    return r.error();
  }
  return out;
}

// §55.7 BackendKeyData: Int32 process ID, Int32 secret key (protocol 3.0 keys are 4 bytes).
Result<BackendKeyData> parse_backend_key_data(ByteSpan body) {
  BodyReader r(body, "BackendKeyData");
  BackendKeyData k;
  if (!r.i32(k.pid, "process ID") || !r.i32(k.key, "secret key") || !r.end()) return r.error();
  return k;
}

// §55.7 ParameterStatus: String name, String value.
Result<ParameterStatus> parse_parameter_status(ByteSpan body) {
  BodyReader r(body, "ParameterStatus");
  ParameterStatus p;
  if (!r.cstr(p.name, "parameter name") || !r.cstr(p.value, "parameter value") || !r.end()) {
    return r.error();
  }
  return p;
}

// §55.7 ReadyForQuery: Byte1 transaction status 'I' idle, 'T' in a transaction, 'E' failed one.
Result<ReadyForQuery> parse_ready_for_query(ByteSpan body) {
  BodyReader r(body, "ReadyForQuery");
  uint8_t status = 0;
  if (!r.u8(status, "transaction status") || !r.end()) return r.error();
  if (status != 'I' && status != 'T' && status != 'E') {
    r.fail("unknown transaction status " + detail::type_name(status));
    return r.error();
  }
  return ReadyForQuery{static_cast<char>(status)};
}

// §55.7 CommandComplete: String command tag.
Result<CommandComplete> parse_command_complete(ByteSpan body) {
  BodyReader r(body, "CommandComplete");
  CommandComplete c;
  if (!r.cstr(c.tag, "command tag") || !r.end()) return r.error();
  return c;
}

// §55.7 RowDescription: Int16 field count, then per field String name, Int32 table OID, Int16
// column number, Int32 type OID, Int16 type size, Int32 type modifier, Int16 format code.
Result<RowDescription> parse_row_description(ByteSpan body) {
  BodyReader r(body, "RowDescription");
  RowDescription d;
  size_t n = 0;
  // Smallest field: empty name (1 byte) + 18 bytes of fixed attributes.
  if (!r.count(n, 19, "field count")) return r.error();
  d.fields.resize(n);
  for (auto& f : d.fields) {
    if (!r.cstr(f.name, "field name") || !r.u32(f.table_oid, "table OID") ||
        !r.i16(f.column, "column number") || !r.u32(f.type_oid, "type OID") ||
        !r.i16(f.type_size, "type size") || !r.i32(f.type_mod, "type modifier") ||
        !r.format(f.format, "format code")) {
      return r.error();
    }
  }
  if (!r.end()) return r.error();
  return d;
}

// §55.7 DataRow: Int16 column count, then per column Int32 length (-1 = NULL) and the bytes.
Result<DataRow> parse_data_row(ByteSpan body) {
  BodyReader r(body, "DataRow");
  DataRow row;
  size_t n = 0;
  if (!r.count(n, 4, "column count")) return r.error();
  row.columns.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!r.value(row.columns[i], "column", i)) return r.error();
  }
  if (!r.end()) return r.error();
  return row;
}

// §55.7 ErrorResponse / NoticeResponse and §55.8: (Byte1 field code, String value)* then a zero
// byte. Unknown field codes are kept: §55.8 says clients must ignore them, not fail.
Result<ErrorFields> parse_error_fields(ByteSpan body) {
  BodyReader r(body, "ErrorResponse/NoticeResponse");
  ErrorFields e;
  for (;;) {
    uint8_t code = 0;
    if (!r.u8(code, "field list terminator")) return r.error();
    if (code == 0) break;
    std::string_view value;
    if (!r.cstr(value, "field value")) return r.error();
    e.fields.push_back(ErrorField{static_cast<char>(code), value});
  }
  if (!r.end()) return r.error();
  return e;
}

// §55.7 CopyInResponse / CopyOutResponse / CopyBothResponse: Int8 overall format, Int16 column
// count, Int16[] column formats (all zero when the overall format is text).
Result<CopyResponse> parse_copy_response(ByteSpan body) {
  BodyReader r(body, "CopyResponse");
  CopyResponse c;
  uint8_t format = 0;
  size_t n = 0;
  if (!r.u8(format, "overall format")) return r.error();
  if (format > 1) {
    r.fail("unsupported overall format " + std::to_string(format));
    return r.error();
  }
  c.format = static_cast<int8_t>(format);
  if (!r.count(n, 2, "column count")) return r.error();
  c.column_formats.resize(n);
  for (auto& f : c.column_formats) {
    if (!r.format(f, "column format code")) return r.error();
    if (c.format == 0 && f != 0) {
      r.fail("binary column format in a text COPY");
      return r.error();
    }
  }
  if (!r.end()) return r.error();
  return c;
}

// §55.7 ParameterDescription: Int16 parameter count, Int32[] type OIDs.
Result<ParameterDescription> parse_parameter_description(ByteSpan body) {
  BodyReader r(body, "ParameterDescription");
  ParameterDescription p;
  size_t n = 0;
  if (!r.count(n, 4, "parameter count")) return r.error();
  p.type_oids.resize(n);
  for (auto& oid : p.type_oids) {
    if (!r.u32(oid, "parameter type")) return r.error();
  }
  if (!r.end()) return r.error();
  return p;
}

// §55.7 NotificationResponse: Int32 process ID, String channel, String payload.
Result<NotificationResponse> parse_notification_response(ByteSpan body) {
  BodyReader r(body, "NotificationResponse");
  NotificationResponse n;
  if (!r.i32(n.pid, "process ID") || !r.cstr(n.channel, "channel") ||
      !r.cstr(n.payload, "payload") || !r.end()) {
    return r.error();
  }
  return n;
}

// §55.7 NegotiateProtocolVersion: Int32 newest supported minor version, Int32 count of
// unrecognised protocol options, String[] option names.
Result<NegotiateProtocolVersion> parse_negotiate_protocol_version(ByteSpan body) {
  BodyReader r(body, "NegotiateProtocolVersion");
  NegotiateProtocolVersion v;
  int32_t n = 0;
  if (!r.u32(v.newest_minor, "minor version") || !r.i32(n, "option count")) return r.error();
  // Each name takes at least its NUL, which bounds the count before anything is allocated.
  if (n < 0 || size_t(n) > r.remaining()) {
    r.fail("option count " + std::to_string(n) + " is negative or exceeds the message body");
    return r.error();
  }
  v.unrecognized.resize(size_t(n));
  for (auto& name : v.unrecognized) {
    if (!r.cstr(name, "option name")) return r.error();
  }
  if (!r.end()) return r.error();
  return v;
}

// §55.7 FunctionCallResponse: Int32 length (-1 = NULL) and the result bytes.
Result<FunctionCallResponse> parse_function_call_response(ByteSpan body) {
  BodyReader r(body, "FunctionCallResponse");
  FunctionCallResponse f;
  if (!r.value(f.result, "result", 0) || !r.end()) return r.error();
  return f;
}

}  // namespace phigate::pg
