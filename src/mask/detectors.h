#pragma once
// PHI content detectors (DESIGN.md §4 `masking`). Built-in detectors run as one SIMD anchor pass
// (scanner.h) whose candidates are confirmed by C++ validators (checksums, reserved ranges, word
// boundaries; validators.h). A profile's `custom` regexes and deny-list terms are compiled once
// into one hyperscan block-mode database; only custom regexes, whose shape phigate cannot know,
// pay for start-of-match tracking (HS_FLAG_SOM_LEFTMOST).
//
// Scores: each detector has a base score; a context word (e.g. "DOB", "routing") within
// Profile::context_window bytes before a finding raises it by Profile::context_boost. US_PASSPORT
// and DATE_OF_BIRTH report nothing without a context word (their shapes alone are any 9-digit
// number / any date). Findings scoring below Profile::threshold are dropped.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct hs_database;

namespace phigate::mask {
namespace detail {
struct BuiltinSet;
}

struct CustomDetector {
  std::string name;    // e.g. "MRN"; shown in redactions ("[MRN]") and audit counts
  std::string regex;   // hyperscan/PCRE syntax, e.g. "MRN-[0-9]{8}"
  float score = 1.0f;  // score of every match (before context)
};

// Exact terms (ASCII case-insensitive, whole words where a term starts/ends with a letter or
// digit), e.g. {"VIP_PATIENT", {"John Smith", "Jane Roe"}}. Score 1.0.
struct DenyList {
  std::string name;
  std::vector<std::string> terms;
};

// Extra context words for a detector (built-in or custom), added to the built-in ones.
struct ContextWords {
  std::string detector;
  std::vector<std::string> words;
};

// The detector part of one `masking:` profile.
struct Profile {
  std::vector<std::string> detectors;  // built-in names, e.g. "US_SSN"; unknown names are errors
  std::vector<CustomDetector> custom;
  float threshold = 0.0f;  // findings scoring below this are dropped
  // Added for issue 5 after the original three members, so existing initialisers still compile.
  std::vector<DenyList> deny_lists;
  std::vector<ContextWords> context;
  uint32_t context_window = 48;  // bytes before a finding searched for context words
  float context_boost = 0.35f;   // added to the score (capped at 1) when a context word is near
  bool builtin_context = true;   // false: only the profile's own context words count
  // Context is otherwise looked up only where it changes the outcome (threshold, overlaps,
  // context-only detectors), so Finding::score may be the base score; `mask test` sets this.
  bool exact_scores = false;
};

struct Finding {
  uint16_t detector = 0;  // index into Engine::detector_names()
  std::string_view name;  // detector name; points into the Engine, valid while it lives
  uint32_t begin = 0;     // byte offsets into the scanned text, [begin, end)
  uint32_t end = 0;
  float score = 0.0f;
};

// Findings of one DataRow: field i's findings are findings[offsets[i] .. offsets[i+1]), each group
// sorted by begin and non-overlapping, offsets relative to that field. Reuse one per session.
struct RowFindings {
  std::vector<Finding> findings;
  std::vector<uint32_t> offsets;  // fields + 1 entries after scan_fields
  std::span<const Finding> field(size_t i) const {
    return {findings.data() + offsets[i], offsets[i + 1] - offsets[i]};
  }
  size_t fields() const { return offsets.empty() ? 0 : offsets.size() - 1; }
};

// Built-in detector names, in a stable order.
const std::vector<std::string_view>& builtin_detector_names();

class Engine {
 public:
  // Compiles the profile's detectors. Fails (never silently drops a detector) on an unknown
  // detector name, a custom regex hyperscan rejects, an empty deny term or context words for a
  // detector the profile does not have: masking fails closed. A profile without detectors
  // (column rules only) yields an Engine whose scan finds nothing.
  static Result<std::shared_ptr<const Engine>> compile(const Profile& profile);

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Appends the findings in `text` to `out` (which the caller clears and reuses), sorted by begin
  // and non-overlapping: where detectors overlap the higher score (then the longer match) wins.
  // Does not allocate once this thread's scratch is warm and `out` has capacity. Returns false if
  // the scan itself failed (text ≥ 4 GiB, scratch allocation failure): callers must fail closed.
  [[nodiscard]] bool scan(std::string_view text, std::vector<Finding>& out) const;

  // Scans every field of one row (a DataRow's text values; pass an empty view for NULL) in one
  // go: the built-in pass walks each field, custom/deny patterns run as ONE hyperscan call over
  // the fields joined by '\n' in a thread-local buffer (≈0.9 µs per hs_scan call saved per
  // field). Matches never span fields. `out` is overwritten. Same failure contract as scan().
  [[nodiscard]] bool scan_fields(std::span<const std::string_view> fields, RowFindings& out) const;

  const std::vector<std::string>& detector_names() const { return names_; }
  bool empty() const { return !db_ && !has_builtins_; }

 private:
  struct Pattern;
  struct Detector;
  struct HsContext;
  static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                      unsigned int flags, void* ctx);
  Engine();
  bool hs_run(std::string_view text, HsContext& ctx) const;
  // Context, threshold, names, then sort and drop overlaps over out[first..]; built-in findings
  // are out[first..mid), hyperscan's out[mid..].
  void finish(std::string_view text, std::vector<Finding>& out, size_t first, size_t mid) const;
  bool context_near(std::string_view text, const Finding& f) const;

  hs_database* db_ = nullptr;
  uint64_t id_ = 0;  // unique per Engine: lets a thread skip hs_alloc_scratch once warm
  std::vector<std::string> names_;
  std::vector<Detector> detectors_;  // parallel to names_
  std::vector<Pattern> patterns_;    // indexed by hyperscan expression id
  std::unique_ptr<detail::BuiltinSet> builtins_;
  bool has_builtins_ = false;
  bool per_field_hs_ = false;  // a custom regex uses \A/\z/\Z: no joined-row hyperscan call
  float threshold_ = 0.0f;
  uint32_t context_window_ = 48;
  float context_boost_ = 0.35f;
  bool exact_scores_ = false;
};

}  // namespace phigate::mask
