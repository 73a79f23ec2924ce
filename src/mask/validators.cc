#include "mask/validators.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "mask/validators_kinds.h"

namespace phigate::mask::detail {
namespace {

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

bool all_same(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return c == s[0]; });
}

// US_SSN: AAA-GG-SSSS with one consistent delimiter ('-', ' ' or '.'), or nine bare digits.
bool confirm_ssn(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  char digits[9];
  size_t begin;
  float score;
  auto is_delim = [](char c) { return c == '-' || c == ' ' || c == '.'; };
  if (end >= 11 && is_delim(t[end - 5])) {
    begin = end - 11;
    // Mixed delimiters ("123-45 6789") are rejected: real SSNs are written one way.
    if (t[begin + 3] != t[end - 5]) return false;
    std::string_view s = t.substr(begin, 11);
    if (!all_digits(s.substr(0, 3)) || !all_digits(s.substr(4, 2)) || !all_digits(s.substr(7, 4)))
      return false;
    std::memcpy(digits, s.data(), 3);
    std::memcpy(digits + 3, s.data() + 4, 2);
    std::memcpy(digits + 5, s.data() + 7, 4);
    score = 0.85f;
  } else if (end >= 9) {
    begin = end - 9;
    if (!all_digits(t.substr(begin, 9))) return false;
    std::memcpy(digits, t.data() + begin, 9);
    score = 0.4f;  // a bare 9-digit run is often something else (order ids, zip+4)
  } else {
    return false;
  }
  if (!boundary_before(t, begin)) return false;
  std::string_view d(digits, 9);
  // SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
  if (d.substr(0, 3) == "000" || d.substr(0, 3) == "666" || d[0] == '9') return false;
  if (d.substr(3, 2) == "00" || d.substr(5, 4) == "0000") return false;
  // Repeated digits and well-known sample numbers (Woolworth's wallet card, ads, docs).
  if (all_same(d) || d == "123456789" || d == "078051120" || d == "219099999") return false;
  *out = {begin, score};
  return true;
}

// CREDIT_CARD: 13-19 digits, optionally grouped by one consistent ' ' or '-'; Luhn.
bool confirm_card(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  constexpr size_t kMaxWindow = 19 + 18;
  size_t pos = end;
  while (pos > 0 && end - pos < kMaxWindow) {
    char c = t[pos - 1];
    if (is_digit(c) || ((c == ' ' || c == '-') && pos >= 2 && is_digit(t[pos - 2]) && pos < end &&
                        is_digit(t[pos]))) {
      --pos;
    } else {
      break;
    }
  }
  // Try each digit-group start, leftmost first, so "Order 12 4111 1111 1111 1111" still finds
  // the card after the order number fails.
  for (size_t b = pos; b < end; ++b) {
    if (!is_digit(t[b]) || (b > pos && is_digit(t[b - 1]))) continue;
    if (!boundary_before(t, b)) continue;
    std::string_view s = t.substr(b, end - b);
    char delim = 0;
    size_t ndigits = 0, group = 0;
    bool ok = true;
    for (char c : s) {
      if (is_digit(c)) {
        ++ndigits;
        ++group;
        continue;
      }
      // Groups shorter than 3 digits are not how cards are printed; consistent delimiter only.
      if ((delim != 0 && c != delim) || group < 3) ok = false;
      delim = c;
      group = 0;
    }
    if (!ok || (delim != 0 && group < 3) || ndigits < 13 || ndigits > 19) continue;
    if (!luhn_ok(s)) continue;
    // "0000 0000 0000 0000" passes Luhn; a card number is never one repeated digit.
    char first = s[0];
    if (std::all_of(s.begin(), s.end(), [&](char c) { return !is_digit(c) || c == first; }))
      continue;
    *out = {b, 1.0f};
    return true;
  }
  return false;
}

bool is_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

// EMAIL_ADDRESS: local@domain.tld with RFC 5321 length limits and sane labels. One backward pass
// over the domain checks its labels on the way to the '@'.
bool confirm_email(std::string_view t, size_t end, Confirmed* out) {
  if (end < t.size()) {
    char n = t[end];
    if (is_alnum(n) || n == '-' || n == '_') return false;
    if (n == '.' && end + 1 < t.size() && is_alnum(t[end + 1])) return false;  // domain goes on
  }
  // Domain: at most 256 bytes of [A-Za-z0-9.-] back to the '@'; at least two labels, each 1-63
  // chars, no leading/trailing '-'.
  size_t at = end, labels = 0, label_end = end;  // the current label is [at, label_end)
  auto label_ok = [&](size_t b) {
    const size_t len = label_end - b;
    return len > 0 && len <= 63 && t[b] != '-' && t[label_end - 1] != '-';
  };
  while (at > 0 && end - at < 256 && t[at - 1] != '@') {
    char c = t[at - 1];
    if (c == '.') {
      if (!label_ok(at)) return false;
      ++labels;
      label_end = at - 1;
    } else if (!is_alnum(c) && c != '-') {
      return false;
    }
    --at;
  }
  if (at == 0 || t[at - 1] != '@') return false;
  if (!label_ok(at) || ++labels < 2) return false;
  --at;  // now the '@'
  size_t begin = at;
  while (begin > 0 && at - begin < 64 && is_local_char(t[begin - 1])) --begin;
  if (begin > 0 && at - begin >= 64 && is_local_char(t[begin - 1])) return false;  // too long
  while (begin < at && t[begin] == '.') ++begin;
  // Local part: not empty, no trailing '.', no "..".
  if (begin == at || t[at - 1] == '.') return false;
  for (size_t k = begin + 1; k < at; ++k)
    if (t[k] == '.' && t[k - 1] == '.') return false;
  *out = {begin, 1.0f};
  return true;
}

// Parses the whole of `s` as a North American number: [+1|1][sep](AAA) or AAA, [sep]EEE[sep]NNNN.
// Returns 0 if not a phone number, 1 for bare digits, 2 for a formatted number.
int parse_us_phone(std::string_view s) {
  size_t ndigits = std::count_if(s.begin(), s.end(), is_digit);
  if (ndigits != 10 && ndigits != 11) return 0;
  size_t i = 0;
  bool formatted = false;
  auto sep = [&] {
    if (i < s.size() && (s[i] == ' ' || s[i] == '-' || s[i] == '.')) {
      ++i;
      formatted = true;
    }
  };
  auto digits = [&](size_t n, char* first) {
    if (i + n > s.size() || !all_digits(s.substr(i, n))) return false;
    *first = s[i];
    i += n;
    return true;
  };
  bool plus = !s.empty() && s[0] == '+';
  if (plus) {
    ++i;
    formatted = true;
  }
  if (plus || ndigits == 11) {
    if (i >= s.size() || s[i] != '1' || ndigits != 11) return 0;
    ++i;
    sep();
  }
  char area = 0, exchange = 0, line = 0;
  if (i < s.size() && s[i] == '(') {
    ++i;
    if (!digits(3, &area) || i >= s.size() || s[i] != ')') return 0;
    ++i;
    formatted = true;
  } else if (!digits(3, &area)) {
    return 0;
  }
  sep();
  if (!digits(3, &exchange)) return 0;
  sep();
  if (!digits(4, &line) || i != s.size()) return 0;
  // NANP: area code and exchange both start with 2-9.
  if (area < '2' || exchange < '2') return 0;
  return formatted ? 2 : 1;
}

bool confirm_phone_us(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  constexpr size_t kMaxLen = 18;  // "+1 (555) 123-4567"
  size_t lo = end > kMaxLen ? end - kMaxLen : 0;
  for (size_t b = lo; b + 10 <= end; ++b) {
    char c = t[b];
    if (!is_digit(c) && c != '+' && c != '(') continue;
    if (!boundary_before(t, b)) continue;
    int kind = parse_us_phone(t.substr(b, end - b));
    if (kind == 0) continue;
    *out = {b, kind == 2 ? 0.7f : 0.4f};
    return true;
  }
  return false;
}

// E.164: '+', country code 1-9, 8 to 15 digits in all.
bool confirm_phone_e164(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  size_t b = end;
  while (b > 0 && end - b < 15 && is_digit(t[b - 1])) --b;
  if (b == 0 || t[b - 1] != '+' || end - b < 8 || t[b] == '0') return false;
  --b;
  if (!boundary_before(t, b)) return false;
  *out = {b, 0.6f};
  return true;
}

// US_NPI: 10 digits starting 1 or 2; check digit is Luhn over "80840" + the NPI (CMS spec).
bool confirm_npi(std::string_view t, size_t end, Confirmed* out) {
  if (end < 10 || !boundary_after(t, end)) return false;
  size_t b = end - 10;
  std::string_view s = t.substr(b, 10);
  if (!all_digits(s) || (s[0] != '1' && s[0] != '2') || !boundary_before(t, b)) return false;
  char buf[15] = {'8', '0', '8', '4', '0'};
  std::memcpy(buf + 5, s.data(), 10);
  if (!luhn_ok(std::string_view(buf, 15))) return false;
  *out = {b, 0.8f};
  return true;
}

// IPv4: four dotted decimal octets ending at `end`, parsed backwards once.
bool confirm_ipv4(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  size_t p = end;
  for (int part = 0; part < 4; ++part) {
    size_t n = 0;
    int v = 0, scale = 1;
    while (p > 0 && n < 4 && is_digit(t[p - 1])) {
      v += (t[p - 1] - '0') * scale;
      scale *= 10;
      --p;
      ++n;
    }
    // 1-3 digits, at most 255, no leading zero (could be read as octal).
    if (n == 0 || n > 3 || v > 255 || (n > 1 && t[p] == '0')) return false;
    if (part < 3) {
      if (p == 0 || t[p - 1] != '.') return false;
      --p;
    }
  }
  if (!boundary_before(t, p)) return false;
  *out = {p, 0.6f};
  return true;
}

bool confirm_ipv6(std::string_view t, size_t end, Confirmed* out) {
  if (end < t.size() && (is_alnum(t[end]) || t[end] == ':')) return false;
  constexpr size_t kMax = 45;  // longest textual form, with an embedded IPv4 tail
  size_t b = end;
  while (b > 0 && end - b <= kMax && (is_hex(t[b - 1]) || t[b - 1] == ':' || t[b - 1] == '.')) --b;
  if (end - b > kMax) return false;
  while (b < end && t[b] == '.') ++b;
  if (b > 0 && (is_alnum(t[b - 1]) || t[b - 1] == '_')) return false;
  std::string_view s = t.substr(b, end - b);
  if (std::count(s.begin(), s.end(), ':') < 2) return false;
  char buf[kMax + 1];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  unsigned char addr[16];
  if (inet_pton(AF_INET6, buf, addr) != 1) return false;  // rejects times such as 12:30:45
  *out = {b, 0.6f};
  return true;
}

// CMS MBI alphabet: letters except S, L, O, I, B, Z (they look like digits).
bool mbi_alpha(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return c >= 'A' && c <= 'Z' && !std::strchr("SLOIBZ", c);
}

// US_MBI: C A AN N A AN N A A N N, optionally printed as XXXX-XXX-XXXX.
bool confirm_mbi(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end)) return false;
  char c[11];
  size_t b;
  if (end >= 13 && t[end - 5] == '-') {
    b = end - 13;
    if (t[b + 4] != '-') return false;  // both dashes or none
    std::string_view s = t.substr(b, 13);
    std::memcpy(c, s.data(), 4);
    std::memcpy(c + 4, s.data() + 5, 3);
    std::memcpy(c + 7, s.data() + 9, 4);
  } else if (end >= 11) {
    b = end - 11;
    std::memcpy(c, t.data() + b, 11);
  } else {
    return false;
  }
  if (!boundary_before(t, b)) return false;
  auto an = [](char x) { return is_digit(x) || mbi_alpha(x); };
  bool ok = c[0] >= '1' && c[0] <= '9' && mbi_alpha(c[1]) && an(c[2]) && is_digit(c[3]) &&
            mbi_alpha(c[4]) && an(c[5]) && is_digit(c[6]) && mbi_alpha(c[7]) && mbi_alpha(c[8]) &&
            is_digit(c[9]) && is_digit(c[10]);
  if (!ok) return false;
  *out = {b, 0.85f};
  return true;
}

}  // namespace

bool luhn_ok(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    char c = digits[i];
    if (!is_digit(c)) continue;
    int d = c - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool confirm(Kind kind, std::string_view text, size_t end, Confirmed* out) {
  if (end > text.size()) return false;
  switch (kind) {
    case Kind::kSsn:
      return confirm_ssn(text, end, out);
    case Kind::kCard:
      return confirm_card(text, end, out);
    case Kind::kEmail:
      return confirm_email(text, end, out);
    case Kind::kPhoneUs:
      return confirm_phone_us(text, end, out);
    case Kind::kPhoneE164:
      return confirm_phone_e164(text, end, out);
    case Kind::kNpi:
      return confirm_npi(text, end, out);
    case Kind::kIpv4:
      return confirm_ipv4(text, end, out);
    case Kind::kIpv6:
      return confirm_ipv6(text, end, out);
    case Kind::kMbi:
      return confirm_mbi(text, end, out);
    case Kind::kAba:
      return confirm_aba(text, end, out);
    case Kind::kDea:
      return confirm_dea(text, end, out);
    case Kind::kPassport:
      return confirm_passport(text, end, out);
    case Kind::kDate:
      return confirm_date(text, end, out);
    case Kind::kIban:    // anchored at its start: confirm_iban
    case Kind::kCustom:  // custom patterns carry their own start offset (SOM)
    case Kind::kDeny:    // deny terms: start = end - length
      return false;
  }
  return false;
}

}  // namespace phigate::mask::detail
