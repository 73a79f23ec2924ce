#include "mask/scanner.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// POPCNT is safe to require here: Debian's amd64 hyperscan, which phigate_mask links, already
// refuses CPUs without SSE4.2 (which implies POPCNT); without it std::popcount is a libgcc call.
#if defined(__x86_64__)
#pragma GCC target("popcnt")
#endif

namespace phigate::mask::detail {
namespace {

struct Masks {
  uint64_t digit = 0, at = 0, colon = 0;
};

Masks block_masks(const char* p) {
  Masks m;
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
  const __m128i at = _mm_set1_epi8('@'), colon = _mm_set1_epi8(':');
  for (int i = 0; i < 4; ++i) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    // Signed compares: bytes ≥ 0x80 are negative, hence never digits.
    __m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
    m.digit |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(d))) << (16 * i);
    m.at |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, at))))
            << (16 * i);
    m.colon |=
        static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon))))
        << (16 * i);
  }
#else
  for (int i = 0; i < 64; ++i) {
    uint64_t bit = uint64_t{1} << i;
    if (p[i] >= '0' && p[i] <= '9') m.digit |= bit;
    if (p[i] == '@') m.at |= bit;
    if (p[i] == ':') m.colon |= bit;
  }
#endif
  return m;
}

// Digits among the n (≤ 64) bytes before bit `i` of the current block, from the current and the
// previous block's digit masks.
int digits_before(uint64_t prev, uint64_t cur, unsigned i, unsigned n) {
  if (i >= n) return std::popcount((cur >> (i - n)) & ((uint64_t{1} << n) - 1));
  uint64_t low = i == 0 ? 0 : cur & ((uint64_t{1} << i) - 1);
  return std::popcount(low) + std::popcount(prev >> (64 - (n - i)));
}

class Scanner {
 public:
  Scanner(std::string_view t, const BuiltinSet& s, std::vector<Finding>& out)
      : t_(t), set_(s), out_(out) {}

  void run() {
    const size_t n = t_.size();
    uint64_t prev_digit = 0;
    char tail[64];
    for (size_t base = 0; base < n; base += 64) {
      const char* p = t_.data() + base;
      if (n - base < 64) {  // pad the last block with non-anchor bytes
        std::memset(tail, ' ', sizeof tail);
        std::memcpy(tail, p, n - base);
        p = tail;
      }
      Masks m = block_masks(p);
      if (set_.digits) {
        // Bit i set: byte i is the first non-digit after a run (the run's exclusive end).
        uint64_t ends = ~m.digit & ((m.digit << 1) | (prev_digit >> 63));
        while (ends) {
          unsigned i = static_cast<unsigned>(std::countr_zero(ends));
          ends &= ends - 1;
          size_t e = base + i;
          if (e <= n) digit_run_end(e, prev_digit, m.digit, i);
        }
      }
      if (set_.on(Kind::kEmail))
        for (uint64_t a = m.at; a; a &= a - 1) email_at(base + std::countr_zero(a));
      if (set_.on(Kind::kIpv6))
        for (uint64_t c = m.colon; c; c &= c - 1) colon_at(base + std::countr_zero(c));
      prev_digit = m.digit;
    }
    // A run that ends exactly at a block boundary at the end of the text has no "next byte" bit.
    if (set_.digits && n > 0 && n % 64 == 0 && is_digit(t_[n - 1]))
      digit_run_end(n, prev_digit, 0, 0);
  }

 private:
  void emit(Kind k, size_t begin, size_t end, float score) {
    out_.push_back(Finding{set_.detector[static_cast<size_t>(k)],
                           {},
                           static_cast<uint32_t>(begin),
                           static_cast<uint32_t>(end),
                           score});
  }

  void try_kind(Kind k, size_t e) {
    Confirmed c;
    if (confirm(k, t_, e, &c)) emit(k, c.begin, e, c.score);
  }

  // `prev`/`cur` are the digit masks of the previous and current block, `i` e's bit in `cur`.
  void digit_run_end(size_t e, uint64_t prev, uint64_t cur, unsigned i) {
    // Run length from the masks: the ones directly below bit i of cur, continuing into prev.
    size_t len = i == 0 ? 0 : static_cast<size_t>(std::countl_one(cur << (64 - i)));
    if (len == i) len += static_cast<size_t>(std::countl_one(prev));
    len = std::min<size_t>(len, 64);  // longer runs never end an entity: boundaries reject them
    const size_t rb = e - len;
    const char before = rb > 0 ? t_[rb - 1] : '\0';
    const bool alpha_before = is_alpha(before);
    auto d = [&](unsigned n) { return digits_before(prev, cur, i, n); };
    // Gates: the shape of the digit run that ends an entity (its length, the byte before it) and
    // the number of digits just before. Most runs in clinical prose (vitals, doses) fail them all.
    if (len <= 4 || len == 7 || len == 8) {
      const int d18 = d(18);
      if (d18 >= 4) {
        const int d11 = d(11);
        if (set_.on(Kind::kSsn) && len == 4 && d11 >= 9) try_kind(Kind::kSsn, e);
        if (set_.on(Kind::kAba) && len == 1 && d11 >= 9) try_kind(Kind::kAba, e);
        if (set_.on(Kind::kPhoneUs) && len == 4 && d18 >= 10) try_kind(Kind::kPhoneUs, e);
        if (set_.on(Kind::kIpv4) && before == '.' && len <= 3) try_kind(Kind::kIpv4, e);
        if (set_.on(Kind::kMbi) && len == 2 && alpha_before && e >= 11) try_kind(Kind::kMbi, e);
        if (set_.on(Kind::kDea) && len >= 7 && alpha_before) try_kind(Kind::kDea, e);
        if (set_.on(Kind::kPassport) && len == 8 && alpha_before) try_kind(Kind::kPassport, e);
      }
      if (set_.on(Kind::kDate) && len != 3 && rb >= 2 && d(11) >= 4 &&
          (before == '/' || before == '-' || before == '.' || before == ' ' || before == ','))
        try_kind(Kind::kDate, e);
    } else {
      if (set_.on(Kind::kSsn) && len == 9) try_kind(Kind::kSsn, e);
      if (set_.on(Kind::kAba) && len == 9) try_kind(Kind::kAba, e);
      if (set_.on(Kind::kPassport) && len == 9) try_kind(Kind::kPassport, e);
      if (set_.on(Kind::kNpi) && len == 10) try_kind(Kind::kNpi, e);
      if (set_.on(Kind::kPhoneUs) && (len == 10 || len == 11)) try_kind(Kind::kPhoneUs, e);
    }
    // Cards: 13-19 bare digits, or groups of at least three.
    if (set_.on(Kind::kCard) && len >= 3 && (len >= 13 || (d(18) >= 8 && d(40) >= 13)))
      try_kind(Kind::kCard, e);
    if (set_.on(Kind::kPhoneE164) && before == '+' && len >= 8) try_kind(Kind::kPhoneE164, e);
    if (set_.on(Kind::kIban) && len >= 2 && alpha_before && rb >= 2 && is_alpha(t_[rb - 2])) {
      size_t end = 0;
      if (confirm_iban(t_, rb - 2, &end)) emit(Kind::kIban, rb - 2, end, 0.9f);
    }
  }

  // '@': the domain runs forward over [A-Za-z0-9.-]; the validator walks back over the local part.
  void email_at(size_t a) {
    if (a < email_done_) return;
    size_t e = a + 1;
    while (e < t_.size() && e - a <= 255 && (is_alnum(t_[e]) || t_[e] == '.' || t_[e] == '-')) ++e;
    while (e > a + 1 && (t_[e - 1] == '.' || t_[e - 1] == '-')) --e;
    email_done_ = e;
    // The top-level label is alphabetic, at least two letters ("a@b.c" and "x@10.0.0.1" are not).
    size_t tld = e;
    while (tld > a + 1 && is_alpha(t_[tld - 1])) --tld;
    if (e - tld < 2 || tld == a + 1 || t_[tld - 1] != '.') return;
    try_kind(Kind::kEmail, e);
  }

  // ':': IPv6 addresses have at least two colons within a run of [0-9A-Fa-f:.]; one run is
  // validated once, at its end.
  void colon_at(size_t c) {
    if (c < colon_done_) return;
    size_t e = c, colons = 0;
    while (e < t_.size() && e - c <= 45) {
      char x = t_[e];
      bool hex = is_digit(x) || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F');
      if (x == ':') {
        ++colons;
      } else if (!hex && x != '.') {
        break;
      }
      ++e;
    }
    colon_done_ = e;
    while (e > c && t_[e - 1] == '.') --e;
    // Colons before `c` (the run may have started before the first colon we saw) count too.
    if (colons < 2 && !(c > 0 && t_[c - 1] == ':')) return;
    try_kind(Kind::kIpv6, e);
  }

  std::string_view t_;
  const BuiltinSet& set_;
  std::vector<Finding>& out_;
  size_t email_done_ = 0, colon_done_ = 0;
};

}  // namespace

void find_builtins(std::string_view text, const BuiltinSet& set, std::vector<Finding>& out) {
  Scanner(text, set, out).run();
}

}  // namespace phigate::mask::detail
