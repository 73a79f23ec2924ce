// Validators for checksummed identifiers: ABA routing numbers, IBANs, DEA registration numbers
// (the MEDICAL_LICENSE detector), and the US passport shape.
#include <algorithm>
#include <cstring>

#include "mask/validators.h"
#include "mask/validators_kinds.h"

namespace phigate::mask::detail {
namespace {

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

bool all_same(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return c == s[0]; });
}

// IBAN lengths per country (ISO 13616 registry). A country missing here is not matched: a wrong
// length would make mod 97 the only check, and 1 in 97 random strings passes it.
struct IbanCountry {
  char code[3];
  uint8_t length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

size_t iban_length(char a, char b) {
  for (const IbanCountry& c : kIbanCountries)
    if (c.code[0] == a && c.code[1] == b) return c.length;
  return 0;
}

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

bool aba_ok(std::string_view d) {
  if (d.size() != 9 || !all_digits(d)) return false;
  int w[3] = {3, 7, 1}, sum = 0;
  for (size_t i = 0; i < 9; ++i) sum += w[i % 3] * (d[i] - '0');
  return sum % 10 == 0;
}

bool dea_ok(std::string_view d) {
  if (d.size() != 7 || !all_digits(d)) return false;
  int odd = (d[0] - '0') + (d[2] - '0') + (d[4] - '0');
  int even = (d[1] - '0') + (d[3] - '0') + (d[5] - '0');
  return (odd + 2 * even) % 10 == d[6] - '0';
}

bool iban_mod97_ok(std::string_view s) {
  if (s.size() < 5) return false;
  unsigned rem = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    char c = to_upper(s[(k + 4) % s.size()]);  // the first four characters move to the end
    if (is_digit(c)) {
      rem = (rem * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else if (is_upper(c)) {
      rem = (rem * 100 + static_cast<unsigned>(c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

// ABA: nine digits, or printed as dddd-dddd-d. The first two digits are a Federal Reserve routing
// symbol (00-12, 21-32, 61-72, 80). A bare checksum passes 1 in 10 random numbers, so the score
// stays low unless a context word ("routing", "ABA") is near.
bool confirm_aba(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  char d[9];
  size_t b;
  if (end >= 11 && t[end - 2] == '-' && t[end - 7] == '-') {
    b = end - 11;
    std::string_view s = t.substr(b, 11);
    if (!all_digits(s.substr(0, 4)) || !all_digits(s.substr(5, 4)) || !is_digit(s[10]))
      return false;
    std::memcpy(d, s.data(), 4);
    std::memcpy(d + 4, s.data() + 5, 4);
    d[8] = s[10];
  } else if (end >= 9) {
    b = end - 9;
    if (!all_digits(t.substr(b, 9))) return false;
    std::memcpy(d, t.data() + b, 9);
  } else {
    return false;
  }
  if (!boundary_before(t, b)) return false;
  std::string_view s(d, 9);
  int prefix = (d[0] - '0') * 10 + (d[1] - '0');
  bool symbol = prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) ||
                prefix == 80;
  if (!symbol || all_same(s) || !aba_ok(s)) return false;
  *out = {b, 0.3f};
  return true;
}

// DEA: a registrant-type letter, the registrant's initial (a letter, or '9' for some business
// activities), seven digits whose last is the check digit.
bool confirm_dea(std::string_view t, size_t end, Confirmed* out) {
  if (end < 9 || !boundary_after(t, end)) return false;
  size_t b = end - 9;
  std::string_view digits = t.substr(end - 7, 7);
  char type = to_upper(t[b]), initial = t[b + 1];
  if (!std::strchr("ABCDEFGHJKLMPRSTUX", type) || type == '\0') return false;
  if (!is_alpha(initial) && initial != '9') return false;
  if (!dea_ok(digits) || !boundary_before(t, b)) return false;
  *out = {b, 0.6f};
  return true;
}

// US passport: nine digits, or (next generation books) one letter and eight digits. Any 9-digit
// number has this shape, so the detector only reports with a context word near (see detectors.cc).
bool confirm_passport(std::string_view t, size_t end, Confirmed* out) {
  if (end < 9 || !boundary_after(t, end)) return false;
  size_t b = end - 9;
  std::string_view s = t.substr(b, 9);
  if (!all_digits(s.substr(1)) || !(is_digit(s[0]) || is_alpha(s[0]))) return false;
  if (!boundary_before(t, b) || all_same(s.substr(1))) return false;
  *out = {b, 0.3f};
  return true;
}

bool confirm_iban(std::string_view t, size_t begin, size_t* end_out) {
  if (begin + 15 > t.size() || !boundary_before(t, begin)) return false;
  char a = t[begin], b = t[begin + 1];  // IBANs are written with an upper-case country code
  if (!is_upper(a) || !is_upper(b) || !is_digit(t[begin + 2]) || !is_digit(t[begin + 3]))
    return false;
  size_t want = iban_length(a, b);
  if (want == 0) return false;
  char compact[34];
  size_t n = 0, i = begin;
  while (n < want && i < t.size()) {
    char c = t[i];
    // A single space is allowed only between groups of four (the printed form).
    if (c == ' ' && n > 0 && n % 4 == 0 && i + 1 < t.size() && is_alnum(t[i + 1]) &&
        t[i - 1] != ' ') {
      ++i;
      continue;
    }
    if (!is_alnum(c)) return false;
    compact[n++] = c;
    ++i;
  }
  if (n != want || (i < t.size() && (is_alnum(t[i]) || t[i] == '_'))) return false;
  if (!iban_mod97_ok(std::string_view(compact, n))) return false;
  *end_out = i;
  return true;
}

}  // namespace phigate::mask::detail
