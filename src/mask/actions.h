#pragma once
// Mask actions (DESIGN.md §4 `masking`): rewrite a value given the findings in it, or the whole
// value for a column rule. Output goes into a caller-provided string that is cleared and reused,
// so the per-value path does not allocate once its capacity suffices.
#include <span>
#include <string>
#include <string_view>

#include "mask/detectors.h"

namespace phigate::mask {

enum class Action {
  kRedact,   // "[US_SSN]"
  kPartial,  // keep the last 4 characters, '*' for the others
  kHash,     // "tok_" + 16 hex of HMAC-SHA-256(key, value): stable per key, so joins still work
  kNull,     // the caller replaces the whole value with SQL NULL
};

// Parses "redact" | "partial" | "hash" | "null".
Result<Action> parse_action(std::string_view name);

struct ActionOptions {
  Action action = Action::kRedact;
  std::string_view hmac_key;             // required for kHash; a secret from the config
  std::string_view redact_prefix = "[";  // redaction text is prefix + detector name + suffix
  std::string_view redact_suffix = "]";
};

enum class Applied {
  kUnchanged,  // no findings: `out` holds a copy of the input
  kMasked,     // `out` holds the masked value
  kNull,       // action is kNull and something matched: the caller must emit NULL
};

// Masks each finding (sorted by begin, non-overlapping, as Engine::scan returns them) in `text`.
Applied apply_findings(std::string_view text, std::span<const Finding> findings,
                       const ActionOptions& options, std::string& out);

// Masks a whole value, as a column rule does; `name` labels the redaction (e.g. the column).
Applied apply_whole(std::string_view value, std::string_view name, const ActionOptions& options,
                    std::string& out);

}  // namespace phigate::mask
