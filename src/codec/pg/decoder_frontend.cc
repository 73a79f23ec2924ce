// Bodies of frontend (client -> server) messages, §55.7 "Message Formats" of the PostgreSQL 16
// documentation. Each parser validates the whole body before returning views into it.
#include "codec/pg/body_reader.h"
#include "codec/pg/decoder.h"

namespace phigate::pg {

using detail::BodyReader;

// §55.7 Query: String query.
Result<Query> parse_query(ByteSpan body) {
  BodyReader r(body, "Query");
  Query q;
  if (!r.cstr(q.sql, "query string") || !r.end()) return r.error();
  return q;
}

// §55.7 Parse: String statement name, String query, Int16 parameter type count, Int32[] type OIDs.
Result<Parse> parse_parse(ByteSpan body) {
  BodyReader r(body, "Parse");
  Parse p;
  size_t n = 0;
  if (!r.cstr(p.name, "statement name") || !r.cstr(p.query, "query string") ||
      !r.count(n, 4, "parameter type count")) {
    return r.error();
  }
  p.param_types.resize(n);
  for (auto& oid : p.param_types) {
    if (!r.u32(oid, "parameter type")) return r.error();
  }
  if (!r.end()) return r.error();
  return p;
}

// §55.7 Bind: String portal, String statement, Int16 format count + Int16[] formats, Int16 value
// count + (Int32 length | -1, bytes)[], Int16 result format count + Int16[] result formats.
Result<Bind> parse_bind(ByteSpan body) {
  BodyReader r(body, "Bind");
  Bind b;
  size_t n = 0;
  if (!r.cstr(b.portal, "portal name") || !r.cstr(b.statement, "statement name") ||
      !r.count(n, 2, "parameter format count")) {
    return r.error();
  }
  b.param_formats.resize(n);
  for (auto& f : b.param_formats) {
    if (!r.format(f, "parameter format code")) return r.error();
  }
  if (!r.count(n, 4, "parameter count")) return r.error();
  // The server refuses any other combination (§55.7 Bind: zero, one, or one per parameter); the
  // proxy relies on param_format() meaning what the server will use.
  if (b.param_formats.size() > 1 && b.param_formats.size() != n) {
    r.fail(std::to_string(b.param_formats.size()) + " parameter formats but " + std::to_string(n) +
           " parameters");
    return r.error();
  }
  b.params.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!r.value(b.params[i], "parameter", i)) return r.error();
  }
  if (!r.count(n, 2, "result format count")) return r.error();
  b.result_formats.resize(n);
  for (auto& f : b.result_formats) {
    if (!r.format(f, "result format code")) return r.error();
  }
  if (!r.end()) return r.error();
  return b;
}

// §55.7 Execute: String portal, Int32 maximum rows (0 or negative = no limit, as the server reads
// it, so any value is accepted).
Result<Execute> parse_execute(ByteSpan body) {
  BodyReader r(body, "Execute");
  Execute e;
  if (!r.cstr(e.portal, "portal name") || !r.i32(e.max_rows, "row limit") || !r.end()) {
    return r.error();
  }
  return e;
}

namespace {
// Describe and Close share the layout Byte1 'S'|'P', String name.
template <class T>
Result<T> parse_target_name(ByteSpan body, const char* message) {
  BodyReader r(body, message);
  T t;
  uint8_t target = 0;
  if (!r.u8(target, "target")) return r.error();
  if (target != 'S' && target != 'P') {
    r.fail("target " + detail::type_name(target) + " is neither 'S' nor 'P'");
    return r.error();
  }
  t.target = static_cast<char>(target);
  if (!r.cstr(t.name, "name") || !r.end()) return r.error();
  return t;
}
}  // namespace

// §55.7 Describe.
Result<Describe> parse_describe(ByteSpan body) {
  return parse_target_name<Describe>(body, "Describe");
}

// §55.7 Close.
Result<Close> parse_close(ByteSpan body) { return parse_target_name<Close>(body, "Close"); }

// §55.7 FunctionCall: Int32 function OID, Int16 format count + Int16[], Int16 argument count +
// (Int32 length | -1, bytes)[], Int16 result format.
Result<FunctionCall> parse_function_call(ByteSpan body) {
  BodyReader r(body, "FunctionCall");
  FunctionCall f;
  size_t n = 0;
  if (!r.u32(f.function_oid, "function OID") || !r.count(n, 2, "argument format count")) {
    return r.error();
  }
  f.arg_formats.resize(n);
  for (auto& fmt : f.arg_formats) {
    if (!r.format(fmt, "argument format code")) return r.error();
  }
  if (!r.count(n, 4, "argument count")) return r.error();
  if (f.arg_formats.size() > 1 && f.arg_formats.size() != n) {
    r.fail(std::to_string(f.arg_formats.size()) + " argument formats but " + std::to_string(n) +
           " arguments");
    return r.error();
  }
  f.args.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!r.value(f.args[i], "argument", i)) return r.error();
  }
  if (!r.format(f.result_format, "result format code") || !r.end()) return r.error();
  return f;
}

// §55.7 PasswordMessage: String password (cleartext here; MD5 replies have the same layout).
Result<PasswordMessage> parse_password(ByteSpan body) {
  BodyReader r(body, "PasswordMessage");
  PasswordMessage p;
  if (!r.cstr(p.password, "password") || !r.end()) return r.error();
  return p;
}

// §55.7 SASLInitialResponse: String mechanism, Int32 length (-1 = none), bytes.
Result<SaslInitialResponse> parse_sasl_initial_response(ByteSpan body) {
  BodyReader r(body, "SASLInitialResponse");
  SaslInitialResponse s;
  BindParam data;
  if (!r.cstr(s.mechanism, "mechanism") || !r.value(data, "initial response", 0) || !r.end()) {
    return r.error();
  }
  s.has_data = !data.is_null;
  s.data = data.value;
  return s;
}

// §55.7 SASLResponse: the rest of the message is mechanism data.
Result<SaslResponse> parse_sasl_response(ByteSpan body) { return SaslResponse{body}; }

// §55.7 CopyFail: String error message.
Result<CopyFail> parse_copy_fail(ByteSpan body) {
  BodyReader r(body, "CopyFail");
  CopyFail c;
  if (!r.cstr(c.message, "error message") || !r.end()) return r.error();
  return c;
}

}  // namespace phigate::pg
