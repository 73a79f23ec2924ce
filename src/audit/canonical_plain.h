#pragma once
// Internal to canonical.cc: the fast path of the canonical encoder, for the common record whose
// strings (and `masked` keys) are all "plain" (printable ASCII without `"` or `\`). Such a string
// encodes as itself between quotes, so the encoded size is known up front: a first pass (Sizer)
// checks every string once and adds up an upper bound, the buffer is grown once, and a second pass
// (PlainWriter) copies keys and values with memcpy into it, with no per-append capacity checks.
// A record holding any other string goes to the general Encoder, which escapes and sanitizes;
// both produce the same bytes for plain records (tests compare them with nlohmann's dump).
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::audit::canonical_detail {

// True when `s` needs no escaping and no UTF-8 check. No early exit: the loop is branch-free so the
// compiler can vectorise it, and audit strings are short enough that stopping early saves nothing.
inline bool plain(std::string_view s) {
  unsigned bad = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bad |= static_cast<unsigned>(c < 0x20) | static_cast<unsigned>(c >= 0x80) |
           static_cast<unsigned>(c == '"') | static_cast<unsigned>(c == '\\');
  }
  return bad == 0;
}

// Longest decimal form of a 64-bit integer ("-9223372036854775808", "18446744073709551615").
constexpr size_t kMaxNumLen = 20;

// First pass: an upper bound of the encoded size (exact but for numbers), and whether every string
// is plain. Same interface as the writers so one field list (canonical.cc) drives all three.
class Sizer {
 public:
  void field(std::string_view k, std::string_view v) {
    n_ += k.size();
    str(v);
  }
  void optional(std::string_view k, std::string_view v) {
    if (!v.empty()) field(k, v);
  }
  void field(std::string_view k, uint64_t) { n_ += k.size() + kMaxNumLen; }
  void field(std::string_view k, int64_t) { n_ += k.size() + kMaxNumLen; }
  void field(std::string_view k, const std::vector<std::string>& v) {
    n_ += k.size() + 2 + v.size();  // brackets and (at most) one comma per element
    for (const auto& s : v) str(s);
  }
  void field(std::string_view k, const std::map<std::string, uint64_t>& m) {
    n_ += k.size() + 2;
    for (const auto& [key, count] : m) {
      (void)count;
      str(key);
      n_ += 2 + kMaxNumLen;  // ':' and ','
    }
  }
  void raw(std::string_view s) { n_ += s.size(); }
  size_t pos() const { return n_; }

  size_t size() const { return n_; }
  bool all_plain() const { return plain_; }

 private:
  void str(std::string_view s) {
    plain_ = plain_ && plain(s);
    n_ += s.size() + 2;
  }
  size_t n_ = 0;
  bool plain_ = true;
};

// Second pass: writes into memory the Sizer sized. Only for records the Sizer found all plain.
class PlainWriter {
 public:
  explicit PlainWriter(char* p) : base_(p), p_(p) {}
  void field(std::string_view k, std::string_view v) {
    put(k);
    str(v);
  }
  void optional(std::string_view k, std::string_view v) {
    if (!v.empty()) field(k, v);
  }
  void field(std::string_view k, uint64_t v) {
    put(k);
    num(v);
  }
  void field(std::string_view k, int64_t v) {
    put(k);
    num(v);
  }
  void field(std::string_view k, const std::vector<std::string>& v) {
    put(k);
    *p_++ = '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) *p_++ = ',';
      str(v[i]);
    }
    *p_++ = ']';
  }
  void field(std::string_view k, const std::map<std::string, uint64_t>& m) {
    put(k);
    *p_++ = '{';
    bool first = true;
    for (const auto& [key, count] : m) {
      if (!first) *p_++ = ',';
      first = false;
      str(key);
      *p_++ = ':';
      num(count);
    }
    *p_++ = '}';
  }
  void raw(std::string_view s) { put(s); }
  size_t pos() const { return static_cast<size_t>(p_ - base_); }

  char* end() const { return p_; }

 private:
  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void str(std::string_view s) {
    *p_++ = '"';
    put(s);
    *p_++ = '"';
  }
  template <class T>
  void num(T v) {
    p_ = std::to_chars(p_, p_ + kMaxNumLen, v).ptr;
  }
  char* base_;
  char* p_;
};

}  // namespace phigate::audit::canonical_detail
