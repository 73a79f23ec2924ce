#pragma once
// Bounds-checked big-endian readers/writers for wire protocols. A reader never reads past its span;
// every accessor reports failure instead of asserting, so untrusted bytes cannot cause UB.
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phigate {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline std::string_view as_sv(ByteSpan s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}
inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<uint16_t> u16() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<int16_t> i16() {
    auto v = u16();
    if (!v) return std::nullopt;
    return static_cast<int16_t>(*v);
  }
  std::optional<uint32_t> u32() {
    if (remaining() < 4) return std::nullopt;
    uint32_t v = (uint32_t(data_[pos_]) << 24) | (uint32_t(data_[pos_ + 1]) << 16) |
                 (uint32_t(data_[pos_ + 2]) << 8) | uint32_t(data_[pos_ + 3]);
    pos_ += 4;
    return v;
  }
  std::optional<int32_t> i32() {
    auto v = u32();
    if (!v) return std::nullopt;
    return static_cast<int32_t>(*v);
  }
  // A NUL-terminated string; fails if no terminator is inside the span.
  std::optional<std::string_view> cstr() {
    if (remaining() == 0) return std::nullopt;
    const void* end = std::memchr(data_.data() + pos_, 0, remaining());
    if (!end) return std::nullopt;
    size_t len = static_cast<const uint8_t*>(end) - (data_.data() + pos_);
    std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), len);
    pos_ += len + 1;
    return s;
  }
  std::optional<ByteSpan> bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  ByteSpan rest() {
    ByteSpan s = data_.subspan(pos_);
    pos_ = data_.size();
    return s;
  }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(uint8_t(v >> 8));
    out_.push_back(uint8_t(v));
  }
  void i16(int16_t v) { u16(static_cast<uint16_t>(v)); }
  void u32(uint32_t v) {
    out_.push_back(uint8_t(v >> 24));
    out_.push_back(uint8_t(v >> 16));
    out_.push_back(uint8_t(v >> 8));
    out_.push_back(uint8_t(v));
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void cstr(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
    out_.push_back(0);
  }
  void bytes(ByteSpan s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void str(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  size_t size() const { return out_.size(); }
  // Reserve a 4-byte length at the current position; patch_len fills it with the byte count from
  // that position to the end (PostgreSQL's self-inclusive length convention).
  size_t placeholder_u32() {
    size_t at = out_.size();
    u32(0);
    return at;
  }
  void patch_len(size_t at) {
    uint32_t len = static_cast<uint32_t>(out_.size() - at);
    out_[at] = uint8_t(len >> 24);
    out_[at + 1] = uint8_t(len >> 16);
    out_[at + 2] = uint8_t(len >> 8);
    out_[at + 3] = uint8_t(len);
  }

 private:
  Bytes& out_;
};

}  // namespace phigate
