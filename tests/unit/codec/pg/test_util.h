#pragma once
// Shared helpers for the pg codec tests: streaming a wire image through decode_frame the way a
// session's read loop does, in arbitrary chunks, so split and coalesced reads are both exercised.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"

namespace phigate::pg::testing {

struct Streamed {
  std::vector<std::pair<char, Bytes>> frames;  // type and a copy of the body
  bool error = false;
  std::string error_message;
};

// Drains every complete frame at the front of `buf`, erasing what was consumed.
inline void drain(Bytes& buf, Streamed& s, uint32_t max_len) {
  while (!s.error) {
    auto d = decode_frame(buf, max_len);
    if (d.status == DecodeStatus::kNeedMore) return;
    if (d.status == DecodeStatus::kError) {
      s.error = true;
      s.error_message = d.error.message;
      EXPECT_EQ(d.error.code, "protocol");
      return;
    }
    EXPECT_GE(d.message.total, 5u);
    EXPECT_EQ(d.message.total, d.message.body.size() + 5);
    s.frames.emplace_back(d.message.type, Bytes(d.message.body.begin(), d.message.body.end()));
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(d.message.total));
  }
}

// Feeds `wire` in pieces ending at each of `cuts` (ascending offsets), draining after every piece.
inline Streamed stream_with_cuts(const Bytes& wire, const std::vector<size_t>& cuts,
                                 uint32_t max_len = kDefaultMaxBackendLen) {
  Streamed s;
  Bytes buf;
  size_t at = 0;
  auto feed_to = [&](size_t end) {
    buf.insert(buf.end(), wire.begin() + static_cast<std::ptrdiff_t>(at),
               wire.begin() + static_cast<std::ptrdiff_t>(end));
    at = end;
    drain(buf, s, max_len);
  };
  for (size_t c : cuts) feed_to(c);
  feed_to(wire.size());
  if (!s.error) {
    EXPECT_TRUE(buf.empty()) << buf.size() << " bytes left undecoded";
  }
  return s;
}

inline Streamed stream_in_chunks(const Bytes& wire, size_t chunk,
                                 uint32_t max_len = kDefaultMaxBackendLen) {
  std::vector<size_t> cuts;
  for (size_t c = chunk; c < wire.size(); c += chunk) cuts.push_back(c);
  return stream_with_cuts(wire, cuts, max_len);
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes str_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A frame built by hand, for layouts the encoders never produce (malformed on purpose).
inline Bytes raw_frame(char type, const Bytes& body) {
  Bytes out;
  encode_frame(out, type, body);
  return out;
}

// Body builder for hand-made bodies.
class Body {
 public:
  Body() = default;
  Body(const Body&) = delete;  // w_ points at this object's out_
  Body& operator=(const Body&) = delete;
  Body& u8(uint8_t v) {
    w_.u8(v);
    return *this;
  }
  Body& i16(int16_t v) {
    w_.i16(v);
    return *this;
  }
  Body& u16(uint16_t v) {
    w_.u16(v);
    return *this;
  }
  Body& i32(int32_t v) {
    w_.i32(v);
    return *this;
  }
  Body& u32(uint32_t v) {
    w_.u32(v);
    return *this;
  }
  Body& cstr(std::string_view s) {
    w_.cstr(s);
    return *this;
  }
  Body& str(std::string_view s) {
    w_.str(s);
    return *this;
  }
  const Bytes& bytes() const { return out_; }
  operator ByteSpan() const { return out_; }

 private:
  Bytes out_;
  ByteWriter w_{out_};
};

inline Bytes random_bytes_of(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

}  // namespace phigate::pg::testing
