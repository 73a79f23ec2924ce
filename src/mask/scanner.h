#pragma once
// The built-in detectors' candidate finder. Instead of a hyperscan database (measured on the mixed
// clinical corpus: one digit-class pattern alone ≈ 1.6 GB/s, the built-in set ≈ 0.38 GB/s, merged
// alternations no better), one SSE2 pass builds 64-bit masks of digits, '@' and ':' per 64 bytes
// and visits only the anchors: the END of every digit run (all numeric identifiers end in a
// digit), every '@' (email) and every ':' run (IPv6). Cheap digit-count gates per kind decide
// which validators run at an anchor. Internal to src/mask/.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mask/detectors.h"
#include "mask/validators.h"

namespace phigate::mask::detail {

struct BuiltinSet {
  static constexpr uint16_t kOff = 0xFFFF;
  std::array<uint16_t, kKindCount> detector;  // detector index per kind, kOff when not enabled
  bool digits = false;                        // some digit-anchored kind is enabled
  uint32_t enabled = 0;                       // bit per enabled kind (kept in sync by enable())
  // Fewest ASCII digits a text needs before any enabled digit-anchored kind can be confirmed in
  // it (kept in sync by enable(); 0xFF: none enabled). See may_find_builtins.
  uint8_t min_digits = 0xFF;
  BuiltinSet() { detector.fill(kOff); }
  void enable(Kind k, uint16_t index) {
    detector[static_cast<size_t>(k)] = index;
    enabled |= uint32_t{1} << static_cast<unsigned>(k);
    if (k != Kind::kEmail && k != Kind::kIpv6) min_digits = std::min(min_digits, min_digits_for(k));
  }
  bool on(Kind k) const { return (enabled >> static_cast<unsigned>(k)) & 1; }
  // Every digit-anchored candidate is the end of a digit run, so each kind needs at least one
  // digit; these three have validators that demand more (confirm_ssn: 9 digits, in both of its
  // shapes; parse_us_phone: 10 or 11; confirm_phone_e164: '+' and at least 8). The others are
  // left at 1: a wrong larger number here would silently drop findings.
  static uint8_t min_digits_for(Kind k) {
    switch (k) {
      case Kind::kSsn:
        return 9;
      case Kind::kPhoneUs:
        return 10;
      case Kind::kPhoneE164:
        return 8;
      default:
        return 1;
    }
  }
};

// Appends one Finding (name left empty, score = the validator's base score) per confirmed entity.
// Unsorted; may overlap. Never reads outside `text`; allocates only if `out` must grow.
// With digits = false the digit-run anchors are skipped: only for a text may_find_builtins
// reported kNoDigitMatch for (no digit-anchored kind can be confirmed in it).
void find_builtins(std::string_view text, const BuiltinSet& set, std::vector<Finding>& out,
                   bool digits = true);

// What find_builtins(text, set, ...) can find, from the anchors the block pass has: with fewer
// than set.min_digits ASCII digits no digit-anchored kind (kNoDigitMatch); with that and no ':'
// (or IPv6 off) only emails, at '@' (kOnlyAt: find_emails finds the same); with no '@' (or EMAIL
// off) either, nothing at all (kNothing). A cheap exit for the short values of JSON bodies;
// always kMaybe while disable_prefilter_for_tests(true) holds.
enum class Prefilter { kNothing, kOnlyAt, kNoDigitMatch, kMaybe };
Prefilter may_find_builtins(std::string_view text, const BuiltinSet& set);
void disable_prefilter_for_tests(bool on);
// find_builtins for a text may_find_builtins reported kOnlyAt for.
void find_emails(std::string_view text, const BuiltinSet& set, std::vector<Finding>& out);

// The block pass uses AVX2 when the CPU has it, SSE2 otherwise; tests force SSE2 to cover both.
void force_sse2_for_tests(bool on);

}  // namespace phigate::mask::detail
