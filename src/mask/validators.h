#pragma once
// Validators behind the built-in detectors. hyperscan reports only where a match ENDS (built-in
// patterns are compiled without SOM, DESIGN.md §9), so each validator re-reads a bounded window
// ending there: it finds where the entity begins, checks word boundaries, and applies the
// detector's checksum and reserved-value rules. Internal to src/mask/.
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
  kCustom,
};

struct Confirmed {
  size_t begin = 0;
  float score = 0.0f;
};

// True if a valid entity of `kind` ends exactly at `end` in `text`; fills its start and score.
// Never reads outside `text`; never allocates.
bool confirm(Kind kind, std::string_view text, size_t end, Confirmed* out);

// Luhn (mod 10) over ASCII digits; non-digits are skipped. Used by CREDIT_CARD and US_NPI.
bool luhn_ok(std::string_view digits);

}  // namespace phigate::mask::detail
