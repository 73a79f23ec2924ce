#include "mask/scanner.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
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
  uint64_t sep = 0;    // '.', '/', '-', ' ': between the digit groups of one entity
  uint64_t alpha = 0;  // ASCII letters
  uint64_t dot = 0;    // '.': an IPv4 address has three within 15 bytes
};

Masks block_masks(const char* p) {
  Masks m;
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
  const __m128i at = _mm_set1_epi8('@'), colon = _mm_set1_epi8(':');
  const __m128i dot = _mm_set1_epi8('.'), slash = _mm_set1_epi8('/'), dash = _mm_set1_epi8('-');
  const __m128i space = _mm_set1_epi8(' '), lower = _mm_set1_epi8(0x20);
  const __m128i a = _mm_set1_epi8('a' - 1), z = _mm_set1_epi8('z' + 1);
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
    __m128i dots = _mm_cmpeq_epi8(v, dot);
    m.dot |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(dots))) << (16 * i);
    __m128i sep = _mm_or_si128(_mm_or_si128(dots, _mm_cmpeq_epi8(v, slash)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, dash), _mm_cmpeq_epi8(v, space)));
    m.sep |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(sep))) << (16 * i);
    __m128i l = _mm_or_si128(v, lower);  // OR 0x20 lower-cases exactly the ASCII letters
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, a), _mm_cmplt_epi8(l, z));
    m.alpha |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(alpha))) << (16 * i);
  }
#else
  for (int i = 0; i < 64; ++i) {
    uint64_t bit = uint64_t{1} << i;
    if (p[i] >= '0' && p[i] <= '9') m.digit |= bit;
    if (p[i] == '@') m.at |= bit;
    if (p[i] == ':') m.colon |= bit;
    if (p[i] == '.' || p[i] == '/' || p[i] == '-' || p[i] == ' ') m.sep |= bit;
    if (p[i] == '.') m.dot |= bit;
    if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') m.alpha |= bit;
  }
#endif
  return m;
}

#if defined(__x86_64__)
// The same masks 32 bytes at a time, for CPUs with AVX2 (chosen once at run time).
__attribute__((target("avx2"), always_inline)) inline Masks block_masks_avx2(const char* p) {
  Masks m;
  const __m256i lo = _mm256_set1_epi8('0' - 1), hi = _mm256_set1_epi8('9' + 1);
  const __m256i at = _mm256_set1_epi8('@'), colon = _mm256_set1_epi8(':');
  const __m256i dot = _mm256_set1_epi8('.'), slash = _mm256_set1_epi8('/');
  const __m256i dash = _mm256_set1_epi8('-'), space = _mm256_set1_epi8(' ');
  const __m256i lower = _mm256_set1_epi8(0x20);
  const __m256i a = _mm256_set1_epi8('a' - 1), z = _mm256_set1_epi8('z' + 1);
  for (int i = 0; i < 2; ++i) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
    auto bits = [](__m256i x) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(x)));
    };
    const unsigned shift = 32 * static_cast<unsigned>(i);
    m.digit |= bits(_mm256_and_si256(_mm256_cmpgt_epi8(v, lo), _mm256_cmpgt_epi8(hi, v))) << shift;
    m.at |= bits(_mm256_cmpeq_epi8(v, at)) << shift;
    m.colon |= bits(_mm256_cmpeq_epi8(v, colon)) << shift;
    __m256i dots = _mm256_cmpeq_epi8(v, dot);
    m.dot |= bits(dots) << shift;
    __m256i sep =
        _mm256_or_si256(_mm256_or_si256(dots, _mm256_cmpeq_epi8(v, slash)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(v, dash), _mm256_cmpeq_epi8(v, space)));
    m.sep |= bits(sep) << shift;
    __m256i l = _mm256_or_si256(v, lower);
    m.alpha |= bits(_mm256_and_si256(_mm256_cmpgt_epi8(l, a), _mm256_cmpgt_epi8(z, l))) << shift;
  }
  return m;
}

std::atomic<bool> force_sse2{false};

// Masks for `count` consecutive 64-byte blocks in one call: an AVX2 function called per block
// paid more in call and vzeroupper overhead than its compares cost.
__attribute__((target("avx2"))) void chunk_masks_avx2(const char* p, size_t count, Masks* out) {
  for (size_t b = 0; b < count; ++b) out[b] = block_masks_avx2(p + 64 * b);
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes && !force_sse2.load(std::memory_order_relaxed);
}
#else
void chunk_masks_avx2(const char* p, size_t count, Masks* out) {
  for (size_t b = 0; b < count; ++b) out[b] = block_masks(p + 64 * b);
}
bool have_avx2() { return false; }
#endif

// Bit i set: byte i - k has the property (k ≥ 1), carrying bytes over from the previous block.
uint64_t back(uint64_t prev, uint64_t cur, unsigned k) { return (cur << k) | (prev >> (64 - k)); }

// Run ends where some entity may end, branch-free over a whole block. A digit-anchored entity
// ends in one of: a run of ≥ 7 digits (bare SSN/NPI/ABA/phone/card/E.164, DEA, passport, IBAN);
// a group of 1-6 digits after a separator glued to a digit (536-22-1234, 10.0.0.1, 4/2/80,
// 3782 822463 10005); 2-6 digits after a letter (MBI "MK73", IBAN "GB82", "A1234567"); or a
// 4-digit year after a separator ("April 2, 1980"). Isolated short numbers — "HR 72", "500 mg",
// "CPT 99213", "q8h" — are skipped unexamined.
uint64_t candidate_ends(uint64_t ends, const Masks& prev, const Masks& cur) {
  uint64_t d[9], sp[9], al[9];
  for (unsigned k = 1; k <= 8; ++k) {
    d[k] = back(prev.digit, cur.digit, k);
    sp[k] = back(prev.sep, cur.sep, k);
    al[k] = back(prev.alpha, cur.alpha, k);
  }
  uint64_t keep = 0, run = ~uint64_t{0};  // run: the k bytes before are all digits
  for (unsigned k = 1; k <= 6; ++k) {
    run &= d[k];
    uint64_t exactly_k = run & ~d[k + 1];
    keep |= exactly_k & sp[k + 1] & d[k + 2];   // separator glued to a digit before the group
    if (k >= 2) keep |= exactly_k & al[k + 1];  // letters right before the digits
    if (k == 4) keep |= exactly_k & sp[5];      // a year after a space or '-'
  }
  keep |= run & d[7];  // seven or more digits
  return ends & keep;
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
  Scanner(std::string_view t, const BuiltinSet& s, std::vector<Finding>& out, bool digits)
      : t_(t), set_(s), digits_(s.digits && digits), out_(out) {}

  // run() for a text with no digit-anchored match and no ':' (or IPv6 off): only its '@'
  // anchors, visited in the same (ascending) order, without the block masks.
  void emails() {
    if (!set_.on(Kind::kEmail)) return;
    for (size_t a = t_.find('@'); a != std::string_view::npos; a = t_.find('@', a + 1)) email_at(a);
  }

  void run() {
    const size_t n = t_.size();
    uint64_t prev_digit = 0;
    Masks prev;
    char tail[64];
    constexpr size_t kChunk = 16;  // blocks whose masks are computed per call
    Masks chunk[kChunk];
    size_t in_chunk = 0, next = 0;
    for (size_t base = 0; base < n; base += 64) {
      if (next == in_chunk) {  // refill: full blocks in bulk, the padded last block alone
        next = 0;
        size_t full = (n - base) / 64;
        in_chunk = std::min(full, kChunk);
        if (in_chunk > 0) {
          if (avx2_) {
            chunk_masks_avx2(t_.data() + base, in_chunk, chunk);
          } else {
            for (size_t b = 0; b < in_chunk; ++b) chunk[b] = block_masks(t_.data() + base + 64 * b);
          }
        } else {
          std::memset(tail, ' ', sizeof tail);  // pad with non-anchor bytes
          std::memcpy(tail, t_.data() + base, n - base);
          chunk[0] = block_masks(tail);
          in_chunk = 1;
        }
      }
      const Masks& m = chunk[next++];
      if (digits_) {
        // Bit i set: byte i is the first non-digit after a run (the run's exclusive end).
        uint64_t ends = ~m.digit & ((m.digit << 1) | (prev_digit >> 63));
        ends = candidate_ends(ends, prev, m);
        while (ends) {
          unsigned i = static_cast<unsigned>(std::countr_zero(ends));
          ends &= ends - 1;
          size_t e = base + i;
          if (e <= n) digit_run_end(e, prev, m, i);
        }
      }
      if (set_.on(Kind::kEmail))
        for (uint64_t a = m.at; a; a &= a - 1) email_at(base + std::countr_zero(a));
      if (set_.on(Kind::kIpv6))
        for (uint64_t c = m.colon; c; c &= c - 1) colon_at(base + std::countr_zero(c));
      prev_digit = m.digit;
      prev = m;
    }
    // A run that ends exactly at a block boundary at the end of the text has no "next byte" bit.
    if (digits_ && n > 0 && n % 64 == 0 && is_digit(t_[n - 1])) digit_run_end(n, prev, Masks{}, 0);
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

  // Masks of the previous and current block; `i` is e's bit in the current one.
  void digit_run_end(size_t e, const Masks& prev_masks, const Masks& cur_masks, unsigned i) {
    const uint64_t prev = prev_masks.digit, cur = cur_masks.digit;
    // Run length from the masks: the ones directly below bit i of cur, continuing into prev.
    size_t len = i == 0 ? 0 : static_cast<size_t>(std::countl_one(cur << (64 - i)));
    if (len == i) len += static_cast<size_t>(std::countl_one(prev));
    len = std::min<size_t>(len, 64);  // longer runs never end an entity: boundaries reject them
    const size_t rb = e - len;
    const char before = rb > 0 ? t_[rb - 1] : '\0';
    const bool alpha_before = is_alpha(before);
    auto d = [&](unsigned n) { return digits_before(prev, cur, i, n); };
    auto c = [&](size_t k) { return rb >= k ? t_[rb - k] : '\0'; };  // k bytes before the run
    auto dig = [&](size_t k) { return is_digit(c(k)); };
    // Gates: the shape of the digit run that ends an entity (its length, the bytes before it)
    // and the number of digits just before. Most runs in clinical prose (vitals, doses, visit
    // dates) fail them all without a validator call.
    if (len <= 4 || len == 7 || len == 8) {
      const int d18 = d(18);
      if (d18 >= 4) {
        const int d11 = d(11);
        const bool group_sep = before == '-' || before == ' ' || before == '.';
        if (set_.on(Kind::kSsn) && len == 4 && group_sep && dig(2) && dig(3) && d11 >= 9)
          try_kind(Kind::kSsn, e);
        if (set_.on(Kind::kAba) && len == 1 && before == '-' && dig(2) && d11 >= 9)
          try_kind(Kind::kAba, e);
        if (set_.on(Kind::kPhoneUs) && len == 4 && group_sep && dig(2) && dig(3) && dig(4) &&
            d18 >= 10)
          try_kind(Kind::kPhoneUs, e);
        if (set_.on(Kind::kIpv4) && before == '.' && len <= 3 && dig(2) &&
            digits_before(prev_masks.dot, cur_masks.dot, i, 15) >= 3)
          try_kind(Kind::kIpv4, e);
        if (set_.on(Kind::kMbi) && len == 2 && alpha_before && e >= 11) try_kind(Kind::kMbi, e);
        if (set_.on(Kind::kDea) && len >= 7 && alpha_before) try_kind(Kind::kDea, e);
        if (set_.on(Kind::kPassport) && len == 8 && alpha_before) try_kind(Kind::kPassport, e);
      }
      if (set_.on(Kind::kDate) && len != 3) {
        // Numeric: <1-4 digits><sep><1-2 digits><same sep><this run>.
        bool numeric = (before == '/' || before == '-' || before == '.') && dig(2) &&
                       (c(3) == before || (dig(3) && c(4) == before));
        // Named month: "April 2, 1980", "2 April 1980", "02-Apr-1980" end in a 4-digit year.
        bool named = len == 4 && (before == ' ' || before == ',' || before == '-') &&
                     (is_alnum(c(2)) || c(2) == ',') && (t_[rb] == '1' || t_[rb] == '2');
        if (numeric || named) try_kind(Kind::kDate, e);
      }
    } else {
      if (set_.on(Kind::kSsn) && len == 9) try_kind(Kind::kSsn, e);
      if (set_.on(Kind::kAba) && len == 9) try_kind(Kind::kAba, e);
      if (set_.on(Kind::kPassport) && len == 9) try_kind(Kind::kPassport, e);
      if (set_.on(Kind::kNpi) && len == 10) try_kind(Kind::kNpi, e);
      if (set_.on(Kind::kPhoneUs) && (len == 10 || len == 11)) try_kind(Kind::kPhoneUs, e);
    }
    // Cards: 13-19 bare digits, or a last group of 3-6 after ' '/'-' with 13+ digits before.
    if (set_.on(Kind::kCard) &&
        ((len >= 13 && len <= 19) || (len >= 3 && len <= 6 && (before == ' ' || before == '-') &&
                                      dig(2) && d(18) >= 8 && d(40) >= 13)))
      try_kind(Kind::kCard, e);
    if (set_.on(Kind::kPhoneE164) && before == '+' && len >= 8) try_kind(Kind::kPhoneE164, e);
    // IBAN: anchored at its start, an upper-case country code right before the first digits.
    if (set_.on(Kind::kIban) && len >= 2 && is_upper(before) && is_upper(c(2))) {
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
  const bool digits_;  // set_.digits, unless the caller knows no digit-anchored kind can match
  const bool avx2_ = have_avx2();
  std::vector<Finding>& out_;
  size_t email_done_ = 0, colon_done_ = 0;
};

}  // namespace

namespace {
std::atomic<bool> prefilter_off{false};
}

void disable_prefilter_for_tests(bool on) { prefilter_off.store(on, std::memory_order_relaxed); }

Prefilter may_find_builtins(std::string_view text, const BuiltinSet& set) {
  if (prefilter_off.load(std::memory_order_relaxed)) return Prefilter::kMaybe;
  const bool email = set.on(Kind::kEmail), ipv6 = set.on(Kind::kIpv6);
  const size_t need = set.min_digits;
  size_t digits = 0, i = 0;
  unsigned seen = 0;  // bit 1: an '@' seen, bit 2: a ':' seen
#if defined(__SSE2__)
  const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
  const __m128i at = _mm_set1_epi8('@'), colon = _mm_set1_epi8(':');
  // The lanes of v picked by `keep` (bit per lane): each byte of text is in exactly one.
  auto count = [&](__m128i v, unsigned keep) {
    __m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
    digits +=
        static_cast<size_t>(std::popcount(static_cast<unsigned>(_mm_movemask_epi8(d)) & keep));
    seen |=
        ((static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, at))) & keep) != 0 ? 2u : 0u) |
        ((static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon))) & keep) != 0 ? 4u
                                                                                          : 0u);
  };
  const size_t n = text.size();
  const char* p = text.data();
  if (n >= 16) {
    for (; i + 16 <= n; i += 16) {
      count(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), 0xFFFF);
      if (digits >= need) return Prefilter::kMaybe;
    }
    if (i < n) {  // the last 16 bytes again, counting only the lanes not seen yet
      count(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)),
            (0xFFFFu << (16 - (n - i))) & 0xFFFFu);
      i = n;
    }
  } else if (n >= 8) {
    // Bytes [0, 8) in lanes 0-7, [n - 8, n) in lanes 8-15: lane 8 + k repeats byte n - 8 + k
    // while that is below 8, so only lanes 24 - n and up of the high half count.
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
    count(_mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a)),
          0xFFu | ((0xFFFFu << (24 - n)) & 0xFF00u));
    i = n;
  } else if (n >= 4) {
    // The same with 4-byte halves: lanes 0-3 and 4-7, lanes 12 - n to 7 of the high half count.
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    count(_mm_set_epi32(0, 0, static_cast<int>(b), static_cast<int>(a)),
          0xFu | ((0xFFu << (12 - n)) & 0xF0u));
    i = n;
  }
#endif
  // Per byte: bit 0 a digit, bit 1 '@', bit 2 ':'; branch-free over the (short) rest.
  static constexpr auto kClass = [] {
    std::array<uint8_t, 256> t{};
    for (int d = '0'; d <= '9'; ++d) t[static_cast<size_t>(d)] = 1;
    t['@'] = 2;
    t[':'] = 4;
    return t;
  }();
  const unsigned want = (email ? 2u : 0u) | (ipv6 ? 4u : 0u);
  for (; i < text.size(); ++i) {
    const unsigned k = kClass[static_cast<unsigned char>(text[i])];
    digits += k & 1;
    seen |= k;
  }
  if (digits >= need) return Prefilter::kMaybe;
  if (seen & want & 4) return Prefilter::kNoDigitMatch;  // a ':' with IPv6 on: the block pass
  return seen & want ? Prefilter::kOnlyAt : Prefilter::kNothing;
}

void force_sse2_for_tests(bool on) {
#if defined(__x86_64__)
  force_sse2.store(on, std::memory_order_relaxed);
#else
  (void)on;
#endif
}

void find_builtins(std::string_view text, const BuiltinSet& set, std::vector<Finding>& out,
                   bool digits) {
  Scanner(text, set, out, digits).run();
}

void find_emails(std::string_view text, const BuiltinSet& set, std::vector<Finding>& out) {
  Scanner(text, set, out, false).emails();
}

}  // namespace phigate::mask::detail
