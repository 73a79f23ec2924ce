#pragma once
// A small JSONPath subset for masking rules (RFC 9535 syntax, only what locating PHI needs):
//   $            the root             .name / ['name']   a member
//   [*] / .*     any element/member   [3]                an element
//   ..name       a member at any depth below (descendant segment, RFC 9535 §2.5.2)
// A rule on a container masks every scalar below it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace phigate::mask {

struct JsonPathSeg {
  enum Kind { kKey, kAnyKey, kIndex, kAnyIndex, kDescend } kind = kKey;
  std::string key;     // kKey, and kDescend's member name ("" = any)
  uint64_t index = 0;  // kIndex
};

// One step of the location being parsed: an object member or an array element.
struct JsonPathElem {
  bool is_index = false;
  std::string key;
  uint64_t index = 0;
};

Result<std::vector<JsonPathSeg>> parse_json_path(std::string_view text);

// Whether `path` (root first) is exactly a location the pattern names.
bool json_path_matches(const std::vector<JsonPathSeg>& pattern,
                       const std::vector<JsonPathElem>& path);

}  // namespace phigate::mask
