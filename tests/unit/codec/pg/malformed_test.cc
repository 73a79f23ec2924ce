// Hand-built malformed bodies for each parser: counts that overflow the body, negative lengths,
// missing terminators, bad enum bytes. Each must be a "protocol" error with a message that says
// what was wrong; the round-trip suite covers truncation and trailing bytes generically.
#include <gtest/gtest.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "test_util.h"

namespace phigate::pg {
namespace {

using testing::Body;

template <class R>
void expect_protocol_error(const R& r, std::string_view needle) {
  ASSERT_FALSE(r) << "expected an error mentioning " << needle;
  EXPECT_EQ(r.error().code, "protocol");
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
}

// ---- Parse ----
TEST(Malformed, ParseCountExceedsBody) {
  expect_protocol_error(parse_parse(Body().cstr("").cstr("q").u16(3).u32(23).u32(25).bytes()),
                        "exceeds");
  expect_protocol_error(parse_parse(Body().cstr("").cstr("q").u16(0xffff).bytes()), "exceeds");
}

TEST(Malformed, ParseMissingNul) {
  expect_protocol_error(parse_parse(Body().cstr("").str("SELECT 1").bytes()), "NUL");
}

// Counts are unsigned 16-bit as the server reads them: 40000 parameters is legal.
TEST(Malformed, ParseAcceptsCountsAbove32767) {
  Body b;
  b.cstr("").cstr("q").u16(40000);
  for (int i = 0; i < 40000; ++i) b.u32(23);
  auto p = parse_parse(b);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->param_types.size(), 40000u);
}

// ---- Bind ----
TEST(Malformed, BindNegativeLengthOtherThanMinusOne) {
  auto b = Body().cstr("").cstr("").u16(0).u16(1).i32(-2).u16(0).bytes();
  expect_protocol_error(parse_bind(b), "negative length -2");
  auto min = Body().cstr("").cstr("").u16(0).u16(1).i32(INT32_MIN).u16(0).bytes();
  expect_protocol_error(parse_bind(min), "negative length");
}

TEST(Malformed, BindValueLengthExceedsBody) {
  auto b = Body().cstr("").cstr("").u16(0).u16(1).i32(100).str("abc").u16(0).bytes();
  expect_protocol_error(parse_bind(b), "exceeds");
  auto huge = Body().cstr("").cstr("").u16(0).u16(1).i32(INT32_MAX).u16(0).bytes();
  expect_protocol_error(parse_bind(huge), "exceeds");
}

TEST(Malformed, BindCountsExceedBody) {
  expect_protocol_error(parse_bind(Body().cstr("").cstr("").u16(0xffff).bytes()), "exceeds");
  expect_protocol_error(parse_bind(Body().cstr("").cstr("").u16(0).u16(2).i32(-1).bytes()),
                        "exceeds");
  expect_protocol_error(parse_bind(Body().cstr("").cstr("").u16(0).u16(0).u16(5).i16(0).bytes()),
                        "exceeds");
}

TEST(Malformed, BindFormatCountMustBeZeroOneOrN) {
  Body b;
  b.cstr("").cstr("").u16(2).i16(0).i16(1);
  b.u16(3).i32(-1).i32(-1).i32(-1).u16(0);
  expect_protocol_error(parse_bind(b), "2 parameter formats but 3 parameters");
}

TEST(Malformed, BindUnknownFormatCode) {
  expect_protocol_error(parse_bind(Body().cstr("").cstr("").u16(1).i16(2).u16(0).u16(0).bytes()),
                        "unsupported parameter format code 2");
  expect_protocol_error(parse_bind(Body().cstr("").cstr("").u16(0).u16(0).u16(1).i16(-1).bytes()),
                        "unsupported result format code -1");
}

TEST(Malformed, BindMissingNulInNames) {
  expect_protocol_error(parse_bind(Body().str("portal").bytes()), "portal name");
  expect_protocol_error(parse_bind(Body().cstr("").str("stmt").bytes()), "statement name");
}

// ---- Describe / Close / Execute ----
TEST(Malformed, DescribeAndCloseTargets) {
  expect_protocol_error(parse_describe(Body().u8('X').cstr("s").bytes()), "'X'");
  expect_protocol_error(parse_close(Body().u8(0).cstr("s").bytes()), "0x00");
  expect_protocol_error(parse_describe(Body().u8('S').str("s").bytes()), "NUL");
  expect_protocol_error(parse_describe(ByteSpan{}), "truncated");
}

TEST(Malformed, ExecuteAcceptsAnyRowLimitButNeedsIt) {
  auto e = parse_execute(Body().cstr("").i32(-5).bytes());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->max_rows, -5);
  expect_protocol_error(parse_execute(Body().cstr("").u16(0).bytes()), "truncated");
}

// ---- FunctionCall ----
TEST(Malformed, FunctionCall) {
  expect_protocol_error(parse_function_call(Body().u32(1).u16(0).u16(1).i32(-3).i16(0).bytes()),
                        "negative length");
  expect_protocol_error(parse_function_call(Body().u32(1).u16(0xffff).bytes()), "exceeds");
  expect_protocol_error(parse_function_call(Body().u32(1).u16(0).u16(0).i16(7).bytes()),
                        "unsupported result format code 7");
}

// ---- SASL / password / CopyFail ----
TEST(Malformed, SaslInitialResponse) {
  expect_protocol_error(parse_sasl_initial_response(Body().cstr("SCRAM-SHA-256").i32(-2).bytes()),
                        "negative length");
  expect_protocol_error(
      parse_sasl_initial_response(Body().cstr("SCRAM-SHA-256").i32(10).str("abc").bytes()),
      "exceeds");
  expect_protocol_error(parse_sasl_initial_response(Body().str("SCRAM").bytes()), "mechanism");
  expect_protocol_error(parse_password(Body().str("secret").bytes()), "NUL");
  expect_protocol_error(parse_password(Body().cstr("a").cstr("b").bytes()), "trailing");
  expect_protocol_error(parse_copy_fail(Body().str("x").bytes()), "NUL");
}

TEST(Malformed, EmptyMessagesRefuseBodies) {
  EXPECT_TRUE(parse_empty(ByteSpan{}));
  auto st = parse_empty(Body().u8(0).bytes());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "protocol");
}

// ---- Authentication ----
TEST(Malformed, Authentication) {
  expect_protocol_error(parse_authentication(Body().i32(5).u16(1).bytes()), "expected 4");
  expect_protocol_error(parse_authentication(Body().i32(5).u32(1).u8(0).bytes()), "expected 4");
  expect_protocol_error(parse_authentication(Body().i32(0).u8(0).bytes()), "trailing");
  expect_protocol_error(parse_authentication(Body().i32(6).bytes()), "unknown authentication");
  expect_protocol_error(parse_authentication(Body().i32(-1).bytes()), "unknown authentication");
  expect_protocol_error(parse_authentication(Body().u16(0).bytes()), "truncated");
  // SASL mechanism list: unterminated name, missing empty terminator, empty list, trailing bytes.
  expect_protocol_error(parse_authentication(Body().i32(10).str("SCRAM").bytes()), "mechanism");
  expect_protocol_error(parse_authentication(Body().i32(10).cstr("SCRAM-SHA-256").bytes()),
                        "mechanism");
  expect_protocol_error(parse_authentication(Body().i32(10).u8(0).bytes()), "empty mechanism");
  expect_protocol_error(parse_authentication(Body().i32(10).cstr("A").u8(0).u8('x').bytes()),
                        "trailing");
  expect_protocol_error(sasl_mechanisms(Authentication{3, {}}), "not an AuthenticationSASL");
}

// ---- Simple backend messages ----
TEST(Malformed, SimpleBackendMessages) {
  expect_protocol_error(parse_backend_key_data(Body().i32(1).bytes()), "truncated secret key");
  expect_protocol_error(parse_backend_key_data(Body().i32(1).i32(2).i32(3).bytes()), "trailing");
  expect_protocol_error(parse_ready_for_query(Body().u8('X').bytes()), "transaction status");
  expect_protocol_error(parse_ready_for_query(ByteSpan{}), "truncated");
  expect_protocol_error(parse_parameter_status(Body().cstr("a").str("b").bytes()), "value");
  expect_protocol_error(parse_command_complete(Body().str("SELECT 1").bytes()), "NUL");
  expect_protocol_error(parse_notification_response(Body().i32(1).cstr("c").bytes()), "payload");
}

// ---- RowDescription / DataRow ----
TEST(Malformed, RowDescription) {
  expect_protocol_error(parse_row_description(Body().u16(2).cstr("a").bytes()), "exceeds");
  expect_protocol_error(parse_row_description(Body().u16(0xffff).bytes()), "exceeds");
  // A field with format code 3.
  auto bad = Body().u16(1).cstr("a").u32(0).i16(0).u32(23).i16(4).i32(-1).i16(3).bytes();
  expect_protocol_error(parse_row_description(bad), "unsupported format code 3");
  // The minimal-size check cannot hide a missing NUL: 19 bytes with no terminator.
  auto no_nul = Body().u16(1).str("abcdefghijklmnopqrs").bytes();
  expect_protocol_error(parse_row_description(no_nul), "NUL");
}

TEST(Malformed, DataRow) {
  expect_protocol_error(parse_data_row(Body().u16(1).i32(-2).bytes()), "column 0 has negative");
  expect_protocol_error(parse_data_row(Body().u16(2).i32(-1).i32(5).str("abc").bytes()),
                        "column 1 length 5 exceeds");
  expect_protocol_error(parse_data_row(Body().u16(0x8000).bytes()), "column count 32768 exceeds");
  expect_protocol_error(parse_data_row(Body().u16(1).i32(-1).u8(0).bytes()), "trailing");
  auto ok = parse_data_row(Body().u16(0).bytes());
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->columns.empty());
}

// ---- ErrorResponse / NoticeResponse ----
TEST(Malformed, ErrorFields) {
  expect_protocol_error(parse_error_fields(ByteSpan{}), "terminator");
  expect_protocol_error(parse_error_fields(Body().u8('M').cstr("x").bytes()), "terminator");
  expect_protocol_error(parse_error_fields(Body().u8('M').str("x").bytes()), "NUL");
  expect_protocol_error(parse_error_fields(Body().u8('M').cstr("x").u8(0).u8('S').bytes()),
                        "trailing");
  auto empty = parse_error_fields(Body().u8(0).bytes());
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->fields.empty());
  EXPECT_EQ(empty->severity(), "");
}

// ---- COPY, ParameterDescription, NegotiateProtocolVersion, FunctionCallResponse ----
TEST(Malformed, CopyResponse) {
  expect_protocol_error(parse_copy_response(Body().u8(2).u16(0).bytes()), "overall format");
  expect_protocol_error(parse_copy_response(Body().u8(0).u16(1).i16(1).bytes()), "text COPY");
  expect_protocol_error(parse_copy_response(Body().u8(1).u16(1).i16(2).bytes()), "format code 2");
  expect_protocol_error(parse_copy_response(Body().u8(0).u16(9).i16(0).bytes()), "exceeds");
}

TEST(Malformed, ParameterDescription) {
  expect_protocol_error(parse_parameter_description(Body().u16(2).u32(23).bytes()), "exceeds");
}

TEST(Malformed, NegotiateProtocolVersion) {
  expect_protocol_error(parse_negotiate_protocol_version(Body().u32(0).i32(-1).bytes()),
                        "negative");
  expect_protocol_error(parse_negotiate_protocol_version(Body().u32(0).i32(3).cstr("a").bytes()),
                        "exceeds");
  expect_protocol_error(
      parse_negotiate_protocol_version(Body().u32(0).i32(2).cstr("a").str("bc").bytes()), "NUL");
}

TEST(Malformed, FunctionCallResponse) {
  expect_protocol_error(parse_function_call_response(Body().i32(-7).bytes()), "negative");
  expect_protocol_error(parse_function_call_response(Body().i32(4).str("ab").bytes()), "exceeds");
}

// ---- command_rows ----
TEST(CommandRows, CountedTags) {
  EXPECT_EQ(command_rows("INSERT 0 3"), 3u);
  EXPECT_EQ(command_rows("SELECT 5"), 5u);
  EXPECT_EQ(command_rows("UPDATE 2"), 2u);
  EXPECT_EQ(command_rows("DELETE 1"), 1u);
  EXPECT_EQ(command_rows("COPY 10"), 10u);
  EXPECT_EQ(command_rows("MOVE 3"), 3u);
  EXPECT_EQ(command_rows("FETCH 4"), 4u);
  EXPECT_EQ(command_rows("MERGE 2"), 2u);
  EXPECT_EQ(command_rows("SELECT 0"), 0u);
  EXPECT_EQ(command_rows("SELECT 18446744073709551615"), UINT64_MAX);
}

TEST(CommandRows, TagsWithoutACount) {
  EXPECT_EQ(command_rows("BEGIN"), std::nullopt);
  EXPECT_EQ(command_rows("CREATE TABLE"), std::nullopt);
  EXPECT_EQ(command_rows("COPY"), std::nullopt);  // servers before 8.2
  EXPECT_EQ(command_rows(""), std::nullopt);
  EXPECT_EQ(command_rows("INSERT 3"), std::nullopt);
  EXPECT_EQ(command_rows("INSERT x 3"), std::nullopt);
  EXPECT_EQ(command_rows("SELECT"), std::nullopt);
  EXPECT_EQ(command_rows("SELECT "), std::nullopt);
  EXPECT_EQ(command_rows("SELECT -1"), std::nullopt);
  EXPECT_EQ(command_rows("SELECT 5 "), std::nullopt);
  EXPECT_EQ(command_rows("SELECT 18446744073709551616"), std::nullopt);  // overflow
  EXPECT_EQ(command_rows("ALTER TABLE 5"), std::nullopt);
  EXPECT_EQ(command_rows("select 5"), std::nullopt);
}

// ---- encoders cannot be used to inject fields ----
TEST(Encoder, EmbeddedNulCannotForgeErrorFields) {
  Bytes out;
  encode_error(out, "ERROR", "42501", std::string_view("denied\0Mforged", 14), "d");
  auto d = decode_frame(out, 1000);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  auto e = parse_error_fields(d.message.body);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->message(), "denied");
  EXPECT_EQ(e->get('D'), "d");
  EXPECT_EQ(e->fields.size(), 5u);  // S V C M D
}

TEST(Encoder, ErrorFieldsSkipsZeroCodes) {
  ErrorFields f;
  f.fields = {{'S', "ERROR"}, {'\0', "x"}, {'M', "m"}};
  Bytes out;
  encode_error_fields(out, 'N', f);
  auto d = decode_frame(out, 1000);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(d.message.type, 'N');
  auto e = parse_error_fields(d.message.body);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fields.size(), 2u);
  EXPECT_EQ(e->message(), "m");
}

TEST(Encoder, ErrorWithoutDetailOrHintOmitsThem) {
  Bytes out;
  encode_error(out, "FATAL", "28000", "no");
  auto d = decode_frame(out, 1000);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  auto e = parse_error_fields(d.message.body);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fields.size(), 4u);
}

TEST(Encoder, FixedLayouts) {
  Bytes out;
  encode_sync(out);
  EXPECT_EQ(out, (Bytes{'S', 0, 0, 0, 4}));
  out.clear();
  encode_ready_for_query(out, 'I');
  EXPECT_EQ(out, (Bytes{'Z', 0, 0, 0, 5, 'I'}));
  out.clear();
  encode_auth_ok(out);
  EXPECT_EQ(out, (Bytes{'R', 0, 0, 0, 8, 0, 0, 0, 0}));
  out.clear();
  encode_ssl_request(out);
  EXPECT_EQ(out, (Bytes{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}));
  out.clear();
  encode_query(out, "x");
  EXPECT_EQ(out, (Bytes{'Q', 0, 0, 0, 6, 'x', 0}));
}

}  // namespace
}  // namespace phigate::pg
