// The one-pass EMAIL_ADDRESS validator (validators.cc confirm_email) against the two-pass version
// it replaced, kept here as the reference: same verdict and start for every end offset of random
// texts built around '@' with dots, dashes, long labels (63/64), long local parts (64) and long
// domains (256).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "mask/validators.h"

namespace phigate::mask {
namespace {

using detail::is_alnum;

bool ref_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

bool ref_confirm_email(std::string_view t, size_t end, detail::Confirmed* out) {
  if (end < t.size()) {
    char n = t[end];
    if (is_alnum(n) || n == '-' || n == '_') return false;
    if (n == '.' && end + 1 < t.size() && is_alnum(t[end + 1])) return false;
  }
  size_t at = end;
  while (at > 0 && end - at < 256 && t[at - 1] != '@') {
    char c = t[at - 1];
    if (!is_alnum(c) && c != '.' && c != '-') return false;
    --at;
  }
  if (at == 0 || t[at - 1] != '@') return false;
  std::string_view domain = t.substr(at, end - at);
  --at;
  size_t begin = at;
  while (begin > 0 && at - begin < 64 && ref_local_char(t[begin - 1])) --begin;
  if (begin > 0 && at - begin >= 64 && ref_local_char(t[begin - 1])) return false;
  while (begin < at && t[begin] == '.') ++begin;
  std::string_view local = t.substr(begin, at - begin);
  if (local.empty() || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  size_t labels = 0, start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return false;
  *out = {begin, 1.0f};
  return true;
}

std::string piece(std::mt19937& rng) {
  static const char* kPieces[] = {"a", "b9", "example", "org", ".",   ".",  "..", "-",  "@", "@",
                                  "_", "+",  "%",       " ",   "x-y", "-z", "q-", "p3", "é", "Z"};
  static const char* kLocal[] = {"p3", "a.b", ".a", "a..b", "a.", "x_y+z%", "-q"};
  static const char* kLabel[] = {"example", "org", "-a", "b-", "a-b", "co", "9", ""};
  switch (rng() % 12) {
    case 3:
    case 4:
    case 5: {  // shaped like an address: local@label(.label)*
      std::string e = rng() % 4 ? kLocal[rng() % std::size(kLocal)] : std::string(63, 'm');
      e += '@';
      for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) {
        e += rng() % 8 ? kLabel[rng() % std::size(kLabel)] : std::string(63 + rng() % 2, 'd');
        if (k > 1) e += '.';
      }
      return e;
    }
    case 0:
      return std::string(60 + rng() % 8, 'l');  // labels around 63
    case 1:
      return std::string(62 + rng() % 5, 'u');  // local parts around 64
    case 2: {
      std::string d;  // domains around 256
      while (d.size() < 240 + rng() % 24) d += "abcdefghi.";
      return d;
    }
    default:
      return kPieces[rng() % std::size(kPieces)];
  }
}

TEST(EmailValidatorReference, SameVerdictAndStartAtEveryEnd) {
  std::mt19937 rng(1234567);
  size_t confirmed = 0, checked = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string t;
    for (int k = 1 + static_cast<int>(rng() % 10); k > 0; --k) t += piece(rng);
    for (size_t end = 0; end <= t.size(); ++end) {
      detail::Confirmed a, b;
      const bool want = ref_confirm_email(t, end, &a);
      const bool got = detail::confirm(detail::Kind::kEmail, t, end, &b);
      ASSERT_EQ(got, want) << "end " << end << " in \"" << t << "\"";
      if (want) {
        ASSERT_EQ(b.begin, a.begin) << t;
        ASSERT_EQ(b.score, a.score) << t;
        ++confirmed;
      }
      ++checked;
    }
  }
  EXPECT_GT(confirmed, 300u);
  EXPECT_GT(checked, 100000u);
}

}  // namespace
}  // namespace phigate::mask
