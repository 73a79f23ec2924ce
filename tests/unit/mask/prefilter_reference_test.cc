// detail::may_find_builtins against its definition, byte by byte: the SIMD version reads short
// texts as overlapping halves and long texts' tails as an overlapping last block, so every length
// 0-80 at every alignment, with digits, '@' and ':' at every position (first and last bytes
// included), must give the answer the counts give.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "mask/detectors.h"
#include "mask/scanner.h"

namespace phigate::mask {
namespace {

detail::Prefilter reference(std::string_view t, const detail::BuiltinSet& set) {
  size_t digits = 0;
  bool at = false, colon = false;
  for (char c : t) {
    digits += c >= '0' && c <= '9';
    at |= c == '@';
    colon |= c == ':';
  }
  const bool email = set.on(detail::Kind::kEmail), ipv6 = set.on(detail::Kind::kIpv6);
  if (digits >= set.min_digits) return detail::Prefilter::kMaybe;
  if (colon && ipv6) return detail::Prefilter::kNoDigitMatch;
  return (at && email) ? detail::Prefilter::kOnlyAt : detail::Prefilter::kNothing;
}

TEST(PrefilterReference, EveryLengthAndAlignment) {
  std::vector<detail::BuiltinSet> sets(4);
  sets[0].enable(detail::Kind::kSsn, 0);
  sets[0].enable(detail::Kind::kEmail, 1);
  sets[0].enable(detail::Kind::kPhoneUs, 2);
  sets[1].enable(detail::Kind::kEmail, 0);
  sets[1].enable(detail::Kind::kIpv6, 1);
  sets[2].enable(detail::Kind::kPhoneE164, 0);
  sets[3].enable(detail::Kind::kNpi, 0);  // one digit is enough to say "maybe"
  std::mt19937 rng(412397710);
  const char kAlphabet[] = "0123456789@:ab -.\x80\xff";
  std::string buf(128, ' ');
  size_t checked = 0;
  for (int round = 0; round < 3000; ++round) {
    const size_t len = rng() % 81, off = rng() % 32;
    // Mostly letters with a few digits, '@' and ':', so counts land on both sides of min_digits.
    for (char& c : buf) c = rng() % 3 ? 'x' : kAlphabet[rng() % (sizeof kAlphabet - 1)];
    std::string_view t(buf.data() + off, len);
    for (const detail::BuiltinSet& s : sets) {
      ASSERT_EQ(detail::may_find_builtins(t, s), reference(t, s))
          << "len " << len << " off " << off << ": " << t;
      ++checked;
    }
  }
  // One special byte at each position of each short length: the overlapping halves count it once.
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (char special : {'7', '@', ':'}) {
        std::string s(len, 'x');
        s[pos] = special;
        for (const detail::BuiltinSet& set : sets)
          ASSERT_EQ(detail::may_find_builtins(s, set), reference(s, set)) << s;
        std::string d(len, '5');  // all digits but one
        d[pos] = special == '7' ? 'x' : special;
        for (const detail::BuiltinSet& set : sets)
          ASSERT_EQ(detail::may_find_builtins(d, set), reference(d, set)) << d;
      }
    }
  }
  // One digit short of US_SSN's nine, spread over lengths whose loads overlap: a byte counted
  // twice would turn "nothing" into "maybe".
  for (int round = 0; round < 2000; ++round) {
    const size_t len = 8 + rng() % 30;
    std::string s(len, 'x');
    for (size_t placed = 0; placed < 8;) {
      size_t at = rng() % len;
      if (s[at] == 'x') {
        s[at] = static_cast<char>('0' + rng() % 10);
        ++placed;
      }
    }
    ASSERT_EQ(detail::may_find_builtins(s, sets[0]), detail::Prefilter::kNothing) << s;
    ++checked;
  }
  EXPECT_GT(checked, 10000u);
}

}  // namespace
}  // namespace phigate::mask
