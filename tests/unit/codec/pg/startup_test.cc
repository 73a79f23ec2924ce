// decode_startup: the untyped first packet of a connection (§55.2.1, §55.7).
#include <gtest/gtest.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "test_util.h"

namespace phigate::pg {
namespace {

using testing::Body;

// A startup packet with an arbitrary version and a raw parameter area (to build malformed ones).
Bytes startup_raw(uint32_t version, const Bytes& params) {
  Bytes out;
  ByteWriter w(out);
  w.u32(static_cast<uint32_t>(8 + params.size()));
  w.u32(version);
  w.bytes(params);
  return out;
}

Bytes params_of(std::initializer_list<std::string_view> parts) {
  Bytes b;
  for (auto p : parts) {
    b.insert(b.end(), p.begin(), p.end());
    b.push_back(0);
  }
  b.push_back(0);
  return b;
}

Decoded<StartupPacket> decode(const Bytes& b, StartupOptions opts = {}) {
  size_t consumed = 0;
  auto d = decode_startup(b, consumed, opts);
  if (d.status == DecodeStatus::kMessage) {
    EXPECT_LE(consumed, b.size());
  } else {
    EXPECT_EQ(consumed, 0u);
  }
  return d;
}

void expect_error(const Bytes& b, std::string_view needle) {
  auto d = decode(b);
  ASSERT_EQ(d.status, DecodeStatus::kError) << "expected an error mentioning " << needle;
  EXPECT_EQ(d.error.code, "protocol");
  EXPECT_NE(d.error.message.find(needle), std::string::npos) << d.error.message;
}

TEST(Startup, RoundTripsParamsInOrder) {
  Bytes wire;
  encode_startup(wire, {{"user", "alice"}, {"database", "clinic"}, {"application_name", "psql"}});
  size_t consumed = 0;
  auto d = decode_startup(wire, consumed);
  ASSERT_EQ(d.status, DecodeStatus::kMessage) << d.error.message;
  EXPECT_EQ(consumed, wire.size());
  EXPECT_EQ(d.message.kind, StartupKind::kStartup);
  EXPECT_EQ(d.message.version, kProtocolV3);
  ASSERT_EQ(d.message.params.size(), 3u);
  EXPECT_EQ(d.message.params[1].first, "database");
  EXPECT_EQ(d.message.param("user"), "alice");
  EXPECT_EQ(d.message.param("application_name"), "psql");
  EXPECT_EQ(d.message.param("missing"), "");
}

TEST(Startup, EmptyValuesAreKept) {
  auto d = decode(startup_raw(kProtocolV3, params_of({"user", "bob", "options", ""})));
  ASSERT_EQ(d.status, DecodeStatus::kMessage) << d.error.message;
  EXPECT_EQ(d.message.params.size(), 2u);
}

TEST(Startup, EveryPrefixNeedsMoreAndExtraBytesAreNotConsumed) {
  Bytes wire;
  encode_startup(wire, {{"user", "alice"}, {"database", "clinic"}});
  size_t len = wire.size();
  for (size_t k = 0; k < len; ++k) {
    size_t consumed = 99;
    auto d = decode_startup(ByteSpan(wire).first(k), consumed);
    EXPECT_EQ(d.status, DecodeStatus::kNeedMore) << "prefix " << k;
  }
  // A client may pipeline its first typed message right behind the startup packet.
  encode_query(wire, "SELECT 1");
  size_t consumed = 0;
  auto d = decode_startup(wire, consumed);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(consumed, len);
}

TEST(Startup, SslAndGssEncRequests) {
  Bytes ssl, gss;
  encode_ssl_request(ssl);
  encode_gssenc_request(gss);
  ASSERT_EQ(ssl.size(), 8u);
  auto d = decode(ssl);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(d.message.kind, StartupKind::kSsl);
  d = decode(gss);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(d.message.kind, StartupKind::kGssEnc);
  for (size_t k = 0; k < 8; ++k) {
    size_t consumed = 0;
    EXPECT_EQ(decode_startup(ByteSpan(ssl).first(k), consumed).status, DecodeStatus::kNeedMore);
  }
}

TEST(Startup, CancelRequest) {
  Bytes wire;
  encode_cancel_request(wire, 1234, -99);
  ASSERT_EQ(wire.size(), 16u);
  size_t consumed = 0;
  auto d = decode_startup(wire, consumed);
  ASSERT_EQ(d.status, DecodeStatus::kMessage);
  EXPECT_EQ(consumed, 16u);
  EXPECT_EQ(d.message.kind, StartupKind::kCancel);
  EXPECT_EQ(d.message.cancel_pid, 1234);
  EXPECT_EQ(d.message.cancel_key, -99);
  for (size_t k = 0; k < 16; ++k) {
    EXPECT_EQ(decode_startup(ByteSpan(wire).first(k), consumed).status, DecodeStatus::kNeedMore);
  }
}

TEST(Startup, SpecialRequestsMustHaveExactLengths) {
  // Refused as soon as the 8-byte header shows the mismatch, before the rest arrives.
  Bytes ssl16 = Body().u32(16).u32(kSslRequestCode).bytes();
  expect_error(ssl16, "SSLRequest");
  Bytes gss12 = Body().u32(12).u32(kGssEncRequestCode).u32(0).bytes();
  expect_error(gss12, "GSSENCRequest");
  Bytes cancel8 = Body().u32(8).u32(kCancelRequestCode).bytes();
  expect_error(cancel8, "CancelRequest");
  Bytes cancel20 = Body().u32(20).u32(kCancelRequestCode).bytes();
  expect_error(cancel20, "CancelRequest");
  Bytes cancel12 = Body().u32(12).u32(kCancelRequestCode).u32(1).bytes();
  expect_error(cancel12, "CancelRequest");
}

TEST(Startup, LengthOutOfRange) {
  for (uint32_t len : {0u, 4u, 7u, kMaxStartupLen + 1, 0x7fffffffu, 0xffffffffu, 0x80000000u}) {
    Bytes b = Body().u32(len).u32(kProtocolV3).bytes();
    auto d = decode(b);
    ASSERT_EQ(d.status, DecodeStatus::kError) << len;
    EXPECT_NE(d.error.message.find("invalid length"), std::string::npos);
  }
  // The length alone is enough to refuse: no waiting for 2 GiB that will never be accepted.
  Bytes only_len = Body().u32(0x7fffffff).bytes();
  EXPECT_EQ(decode(only_len).status, DecodeStatus::kError);
}

TEST(Startup, MaximumLengthIsAccepted) {
  // length + version + "user\0" + value + NUL + terminator
  std::string big(kMaxStartupLen - 4 - 4 - 5 - 1 - 1, 'x');
  Bytes wire;
  encode_startup(wire, {{"user", big}});
  ASSERT_EQ(wire.size(), kMaxStartupLen);
  EXPECT_EQ(decode(wire).status, DecodeStatus::kMessage);
}

TEST(Startup, UnknownProtocolVersionsNameTheVersion) {
  Bytes p = params_of({"user", "alice"});
  expect_error(startup_raw(2 << 16, p), "2.0");
  expect_error(startup_raw(4 << 16, p), "4.0");
  expect_error(startup_raw((3 << 16) | 2, p), "3.2");
  expect_error(startup_raw((3 << 16) | 9999, p), "3.9999");
  expect_error(startup_raw(0, p), "0.0");
}

TEST(Startup, MinorVersionsCanBeHandedToTheCallerForNegotiation) {
  Bytes wire = startup_raw((3 << 16) | 2, params_of({"user", "alice", "_pq_.opt", "1"}));
  auto d = decode(wire, StartupOptions{true});
  ASSERT_EQ(d.status, DecodeStatus::kMessage) << d.error.message;
  EXPECT_EQ(d.message.version, (3u << 16) | 2);
  EXPECT_EQ(d.message.param("_pq_.opt"), "1");
  // Other major versions stay refused.
  EXPECT_EQ(decode(startup_raw(4 << 16, params_of({"user", "a"})), StartupOptions{true}).status,
            DecodeStatus::kError);
}

TEST(Startup, UserIsRequiredAndNonEmpty) {
  expect_error(startup_raw(kProtocolV3, params_of({"database", "clinic"})), "user name");
  expect_error(startup_raw(kProtocolV3, params_of({"user", ""})), "user name");
  expect_error(startup_raw(kProtocolV3, params_of({})), "user name");
}

TEST(Startup, MalformedParameterArea) {
  // No parameter area at all: length 8 with the v3 code.
  expect_error(startup_raw(kProtocolV3, {}), "terminator");
  // Last byte is not the terminator.
  Bytes p = params_of({"user", "alice"});
  p.back() = 'x';
  expect_error(startup_raw(kProtocolV3, p), "terminator");
  // A name whose value is missing.
  expect_error(startup_raw(kProtocolV3, testing::str_bytes(std::string_view("user\0", 5))),
               "has no value");
  expect_error(startup_raw(kProtocolV3, testing::str_bytes(std::string_view("user\0bob", 8))),
               "terminator");
  // "user\0bob\0x\0": x has no value before the packet ends.
  expect_error(startup_raw(kProtocolV3, testing::str_bytes(std::string_view("user\0bob\0x\0", 11))),
               "has no value");
  // Bytes after the empty-name terminator.
  expect_error(
      startup_raw(kProtocolV3, testing::str_bytes(std::string_view("user\0bob\0\0x\0", 12))),
      "after the parameter terminator");
  expect_error(startup_raw(kProtocolV3, params_of({"user", "a", "user", "b"})), "duplicate");
}

TEST(Startup, EncoderDropsEmptyNamesAndCutsAtNul) {
  Bytes wire;
  encode_startup(wire, {{"", "x"}, {"user", std::string_view("al\0ice", 6)}});
  auto d = decode(wire);
  ASSERT_EQ(d.status, DecodeStatus::kMessage) << d.error.message;
  ASSERT_EQ(d.message.params.size(), 1u);
  EXPECT_EQ(d.message.param("user"), "al");
}

}  // namespace
}  // namespace phigate::pg
