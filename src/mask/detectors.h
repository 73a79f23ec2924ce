#pragma once
// PHI content detectors (DESIGN.md §4 `masking`): every detector of a profile is compiled once into
// one hyperscan block-mode database; each hyperscan match is then confirmed by a C++ validator
// (checksums, reserved ranges, word boundaries) that also recovers the match's start offset.
//
// Start offsets: built-in patterns are compiled WITHOUT HS_FLAG_SOM_LEFTMOST (≈3× slower, DESIGN
// §9); their validators re-check a bounded window ending at the reported end offset instead. Only
// `custom` regexes, whose shape phigate cannot know, are compiled with SOM.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct hs_database;

namespace phigate::mask {

struct CustomDetector {
  std::string name;   // e.g. "MRN"; shown in redactions ("[MRN]") and audit counts
  std::string regex;  // hyperscan/PCRE syntax, e.g. "MRN-[0-9]{8}"
};

// The detector part of one `masking:` profile.
struct Profile {
  std::vector<std::string> detectors;  // built-in names, e.g. "US_SSN"; unknown names are errors
  std::vector<CustomDetector> custom;
  float threshold = 0.0f;  // findings scoring below this are dropped
};

struct Finding {
  uint16_t detector = 0;  // index into Engine::detector_names()
  std::string_view name;  // detector name; points into the Engine, valid while it lives
  uint32_t begin = 0;     // byte offsets into the scanned text, [begin, end)
  uint32_t end = 0;
  float score = 0.0f;
};

// Built-in detector names, in a stable order.
const std::vector<std::string_view>& builtin_detector_names();

class Engine {
 public:
  // Compiles the profile's detectors. Fails (never silently drops a detector) on an unknown
  // detector name or a custom regex hyperscan rejects: masking fails closed. A profile without
  // detectors (column rules only) yields an Engine whose scan finds nothing.
  static Result<std::shared_ptr<const Engine>> compile(const Profile& profile);

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Appends the findings in `text` to `out` (which the caller clears and reuses), sorted by begin
  // and non-overlapping: where detectors overlap the higher score (then the longer match) wins.
  // Does not allocate once this thread's scratch is warm and `out` has capacity. Returns false if
  // the scan itself failed (text ≥ 4 GiB, scratch allocation failure): callers must fail closed.
  [[nodiscard]] bool scan(std::string_view text, std::vector<Finding>& out) const;

  const std::vector<std::string>& detector_names() const { return names_; }

 private:
  struct Pattern;
  static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                      unsigned int flags, void* ctx);
  Engine() = default;

  hs_database* db_ = nullptr;
  uint64_t id_ = 0;  // unique per Engine: lets a thread skip hs_alloc_scratch once warm
  std::vector<std::string> names_;
  std::vector<Pattern> patterns_;  // indexed by hyperscan expression id
  float threshold_ = 0.0f;
};

}  // namespace phigate::mask
