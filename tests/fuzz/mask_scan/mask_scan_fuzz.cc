// Fuzz target: arbitrary bytes through the detector engine (every built-in, a custom regex and a
// deny list) as one text and as a row split at 0x1f bytes, then through every mask action. Must
// never crash or read out of bounds; findings must be in bounds, sorted and non-overlapping, and
// scan_fields must agree with per-field scans.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"

// Distinct failures (GCC merges identical __builtin_trap calls, hiding which check fired).
#define FUZZ_CHECK(cond)                                                 \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "mask_scan_fuzz: check failed: %s\n", #cond); \
      std::abort();                                                      \
    }                                                                    \
  } while (0)

namespace {

const phigate::mask::Engine& engine() {
  static auto e = [] {
    phigate::mask::Profile p;
    for (std::string_view n : phigate::mask::builtin_detector_names()) p.detectors.emplace_back(n);
    p.custom = {{"MRN", "MRN-[0-9]{8}"}, {"SPAN", "[a-z\\n]+x"}};
    p.deny_lists = {{"VIP", {"Jane Roe", "a+b"}}};
    return phigate::mask::Engine::compile(p).value();
  }();
  return *e;
}

void check(std::string_view text, std::span<const phigate::mask::Finding> f) {
  uint32_t prev_end = 0;
  for (const auto& x : f) {
    FUZZ_CHECK(x.begin < x.end && x.end <= text.size() && x.begin >= prev_end);
    prev_end = x.end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<phigate::mask::Finding> f;
  FUZZ_CHECK(engine().scan(text, f));
  check(text, f);
  std::string out;
  for (auto a : {phigate::mask::Action::kRedact, phigate::mask::Action::kPartial,
                 phigate::mask::Action::kHash, phigate::mask::Action::kNull}) {
    phigate::mask::ActionOptions o;
    o.action = a;
    o.hmac_key = "k";
    phigate::mask::apply_findings(text, f, o, out);
    phigate::mask::apply_whole(text, "X", o, out);
  }
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == 0x1f) {
      fields.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  phigate::mask::RowFindings rf;
  FUZZ_CHECK(engine().scan_fields(fields, rf) && rf.fields() == fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    check(fields[i], rf.field(i));
    f.clear();
    FUZZ_CHECK(engine().scan(fields[i], f));
    FUZZ_CHECK(f.size() == rf.field(i).size());
  }
  return 0;
}
