#pragma once
// Validators behind the built-in detectors. The anchor scanner (scanner.h) reports where a run of
// digits ENDS (or where an '@' / ':' sits); each validator re-reads a bounded window around it: it
// finds where the entity begins, checks word boundaries, and applies the detector's checksum and
// reserved-value rules. Internal to src/mask/.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace phigate::mask::detail {

enum class Kind : uint8_t {
  kSsn,
  kCard,
  kEmail,
  kPhoneUs,
  kPhoneE164,
  kNpi,
  kIpv4,
  kIpv6,
  kMbi,
  kAba,
  kIban,
  kDea,       // MEDICAL_LICENSE: DEA registration number with its check digit
  kPassport,  // US_PASSPORT: needs a context word, the shape alone is any 9-digit number
  kDate,      // DATE_OF_BIRTH: needs a context word, a bare date is not a birth date
  kCustom,    // custom regex: hyperscan reports the start (SOM)
  kDeny,      // deny-list term: start = end - term length
};
inline constexpr size_t kKindCount = static_cast<size_t>(Kind::kDeny) + 1;

struct Confirmed {
  size_t begin = 0;
  float score = 0.0f;
};

// True if a valid entity of `kind` ends exactly at `end` in `text`; fills its start and score.
// Never reads outside `text`; never allocates. (kIban starts at `end`: see confirm_iban.)
bool confirm(Kind kind, std::string_view text, size_t end, Confirmed* out);

// IBAN is anchored where it BEGINS (country code + check digits): true if a valid IBAN starts at
// `begin`; fills *end_out. Grouping by single spaces every four characters is accepted.
bool confirm_iban(std::string_view text, size_t begin, size_t* end_out);

// Luhn (mod 10) over ASCII digits; non-digits are skipped. Used by CREDIT_CARD and US_NPI.
bool luhn_ok(std::string_view digits);
// ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
bool aba_ok(std::string_view nine_digits);
// DEA registration check digit: (d1+d3+d5) + 2·(d2+d4+d6) ≡ d7 (mod 10).
bool dea_ok(std::string_view seven_digits);
// ISO 13616 IBAN check: rearranged, letters as 10..35, the number mod 97 is 1. Alphanumerics only.
bool iban_mod97_ok(std::string_view compact);

// Character classes shared by the validator files (ASCII only: never locale-dependent).
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// An identifier must not be the tail or head of a longer number or word: "9123-45-6789",
// "123-45-6789-1" and "x123456789" are not SSNs. A '-' or '.' glued to another digit counts as
// part of the longer number too (phone extensions, decimals, dotted versions).
inline bool boundary_before(std::string_view t, size_t pos) {
  if (pos == 0) return true;
  char p = t[pos - 1];
  if (is_alnum(p) || p == '_') return false;
  if ((p == '-' || p == '.') && pos >= 2 && is_digit(t[pos - 2])) return false;
  return true;
}

inline bool boundary_after(std::string_view t, size_t end) {
  if (end >= t.size()) return true;
  char n = t[end];
  if (is_alnum(n) || n == '_') return false;
  if ((n == '-' || n == '.') && end + 1 < t.size() && is_digit(t[end + 1])) return false;
  return true;
}

}  // namespace phigate::mask::detail
