#pragma once
// A growable byte queue for socket reads: bytes are appended at the end and consumed from the front
// without zero-filling or shifting on every read (a 64 KiB memset per read showed up in profiles).
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "common/bytes.h"

namespace phigate {

class Buffer {
 public:
  explicit Buffer(size_t initial = 16384) : data_(new uint8_t[initial]), cap_(initial) {}
  Buffer(Buffer&&) = default;
  Buffer& operator=(Buffer&&) = default;

  ByteSpan readable() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(data_.get()) + begin_, end_ - begin_};
  }
  void clear() { begin_ = end_ = 0; }

  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // At least `n` writable bytes after the readable ones; moves the readable bytes to the front or
  // grows only when needed.
  std::span<uint8_t> prepare(size_t n) {
    if (cap_ - end_ < n) {
      size_t live = end_ - begin_;
      if (begin_ > 0 && cap_ - live >= n) {
        std::memmove(data_.get(), data_.get() + begin_, live);
      } else {
        size_t cap = cap_ * 2;
        while (cap - live < n) cap *= 2;
        std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
        if (live) std::memcpy(bigger.get(), data_.get() + begin_, live);
        data_ = std::move(bigger);
        cap_ = cap;
      }
      begin_ = 0;
      end_ = live;
    }
    return {data_.get() + end_, cap_ - end_};
  }
  void commit(size_t n) { end_ += n; }
  void append(ByteSpan s) {
    auto w = prepare(s.size());
    if (!s.empty()) std::memcpy(w.data(), s.data(), s.size());
    commit(s.size());
  }
  // Gives memory back after a huge message so an idle session does not keep it.
  void shrink_if_idle(size_t keep) {
    if (empty() && cap_ > keep) {
      data_.reset(new uint8_t[keep]);
      cap_ = keep;
      begin_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t cap_ = 0;
  size_t begin_ = 0, end_ = 0;
};

}  // namespace phigate
