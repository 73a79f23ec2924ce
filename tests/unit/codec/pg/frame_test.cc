// decode_frame's length rules and the no-crash guarantee for arbitrary bytes through every decoder.
#include <gtest/gtest.h>

#include <random>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "test_util.h"

namespace phigate::pg {
namespace {

using testing::stream_in_chunks;

Bytes header(char type, uint32_t len) {
  Bytes b;
  ByteWriter w(b);
  w.u8(static_cast<uint8_t>(type));
  w.u32(len);
  return b;
}

TEST(DecodeFrame, NeedsFiveBytesForTheHeader) {
  Bytes b = header('Q', 4);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(decode_frame(ByteSpan(b).first(k), 100).status, DecodeStatus::kNeedMore);
  }
  auto d = decode_frame(b, 100);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_TRUE(d.message.body.empty());
  EXPECT_EQ(d.message.total, 5u);
}

TEST(DecodeFrame, LengthBelowFourIsAnError) {
  for (uint32_t len : {0u, 1u, 3u}) {
    auto d = decode_frame(header('Q', len), 100);
    ASSERT_EQ(d.status, DecodeStatus::kError) << len;
    EXPECT_EQ(d.error.code, "protocol");
    EXPECT_NE(d.error.message.find("'Q'"), std::string::npos) << d.error.message;
  }
}

TEST(DecodeFrame, NegativeLengthIsAnErrorNotAHugeWait) {
  for (uint32_t len : {0xffffffffu, 0x80000000u, 0xfffffffcu}) {
    auto d = decode_frame(header('D', len), kDefaultMaxBackendLen);
    ASSERT_EQ(d.status, DecodeStatus::kError) << len;
    EXPECT_NE(d.error.message.find("invalid length"), std::string::npos) << d.error.message;
  }
}

// The cap is enforced from the header alone, before the body is buffered.
TEST(DecodeFrame, LengthAboveCapIsAnErrorAtTheHeader) {
  auto d = decode_frame(header('Q', 1001), 1000);
  ASSERT_EQ(d.status, DecodeStatus::kError);
  EXPECT_NE(d.error.message.find("exceeds the limit"), std::string::npos) << d.error.message;
  EXPECT_EQ(decode_frame(header('Q', 1000), 1000).status, DecodeStatus::kNeedMore);
  EXPECT_EQ(decode_frame(header('Q', kDefaultMaxFrontendLen + 1), kDefaultMaxFrontendLen).status,
            DecodeStatus::kError);
}

TEST(DecodeFrame, ExactlyAtCapIsAccepted) {
  Bytes body(96, 'x');
  Bytes wire;
  encode_frame(wire, 'd', body);
  auto d = decode_frame(wire, 100);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(d.message.body.size(), 96u);
  EXPECT_EQ(decode_frame(wire, 99).status, DecodeStatus::kError);
}

TEST(DecodeFrame, UnprintableTypeIsNamedInHex) {
  auto d = decode_frame(header('\x01', 2), 100);
  ASSERT_EQ(d.status, DecodeStatus::kError);
  EXPECT_NE(d.error.message.find("0x01"), std::string::npos) << d.error.message;
}

TEST(DecodeFrame, ConsumesOnlyItsOwnFrame) {
  Bytes wire;
  encode_query(wire, "SELECT 1");
  size_t first = wire.size();
  encode_sync(wire);
  auto d = decode_frame(wire, 1000);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(d.message.total, first);
  auto d2 = decode_frame(ByteSpan(wire).subspan(first), 1000);
  ASSERT_EQ(d2.status, DecodeStatus::kMessage);
  EXPECT_EQ(d2.message.type, 'S');
}

// A stream that goes bad mid-way: good frames before the bad header come out, then an error, and
// nothing after it is interpreted.
TEST(DecodeFrame, StreamStopsAtTheFirstBadHeader) {
  Bytes wire;
  encode_query(wire, "SELECT 1");
  encode_sync(wire);
  Bytes bad = header('Q', 2);
  wire.insert(wire.end(), bad.begin(), bad.end());
  encode_sync(wire);
  for (size_t chunk : {size_t(1), size_t(5), wire.size()}) {
    auto s = stream_in_chunks(wire, chunk);
    EXPECT_TRUE(s.error);
    EXPECT_EQ(s.frames.size(), 2u);
  }
}

// Runs every decoder over `buf`: whatever the bytes, each returns need-more, a message or a
// protocol error, and views stay inside the buffer.
void exercise_all(ByteSpan buf) {
  size_t consumed = 0;
  auto s = decode_startup(buf, consumed);
  if (s.status == DecodeStatus::kMessage) {
    EXPECT_LE(consumed, buf.size());
    EXPECT_GE(consumed, 8u);
  }
  if (s.status == DecodeStatus::kError) {
    EXPECT_EQ(s.error.code, "protocol");
  }
  (void)decode_startup(buf, consumed, StartupOptions{true});
  auto d = decode_frame(buf, kDefaultMaxBackendLen);
  ByteSpan body = buf.size() > 5 ? buf.subspan(5) : buf;
  if (d.status == DecodeStatus::kMessage) {
    EXPECT_LE(d.message.total, buf.size());
    body = d.message.body;
  }
  auto check = [&](const auto& r) {
    if (!r) {
      EXPECT_EQ(r.error().code, "protocol");
    }
  };
  check(parse_query(body));
  check(parse_parse(body));
  check(parse_bind(body));
  check(parse_execute(body));
  check(parse_describe(body));
  check(parse_close(body));
  check(parse_function_call(body));
  check(parse_password(body));
  check(parse_sasl_initial_response(body));
  check(parse_sasl_response(body));
  check(parse_copy_fail(body));
  check(parse_empty(body));
  auto auth = parse_authentication(body);
  check(auth);
  if (auth) check(sasl_mechanisms(*auth));
  check(parse_backend_key_data(body));
  check(parse_parameter_status(body));
  check(parse_ready_for_query(body));
  auto cc = parse_command_complete(body);
  check(cc);
  if (cc) (void)command_rows(cc->tag);
  check(parse_row_description(body));
  check(parse_data_row(body));
  check(parse_error_fields(body));
  check(parse_copy_response(body));
  check(parse_parameter_description(body));
  check(parse_notification_response(body));
  check(parse_negotiate_protocol_version(body));
  check(parse_function_call_response(body));
}

TEST(Garbage, RandomBuffersNeverCrash) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 20000; ++i) {
    Bytes buf = testing::random_bytes_of(rng, rng() % 96);
    exercise_all(buf);
  }
}

// Random bytes rarely get past the length checks; these keep a plausible small header so the body
// parsers see many random bodies of the size the header announces.
TEST(Garbage, RandomBodiesBehindValidHeadersNeverCrash) {
  std::mt19937 rng(99);
  const char kTypes[] = "QPBEDCFpSHXfRKZTNGWtAvV123nsIcd";
  for (int i = 0; i < 20000; ++i) {
    Bytes body = testing::random_bytes_of(rng, rng() % 48);
    // Bias towards small counts/lengths so nested fields are reached.
    for (auto& b : body) {
      if (rng() % 3 == 0) b = static_cast<uint8_t>(rng() % 4);
    }
    Bytes wire;
    encode_frame(wire, kTypes[rng() % (sizeof kTypes - 1)], body);
    exercise_all(wire);
  }
}

}  // namespace
}  // namespace phigate::pg
