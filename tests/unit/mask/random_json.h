#pragma once
// Random JSON texts for the masker's differential tests: nesting up to a few levels, white space
// (including newlines and tabs) around every token, numbers, literals, objects whose member names
// come from `keys`, and string values written by the caller's `leaf` (so each test decides what
// its strings hold and how they are escaped).
#include <cstdint>
#include <random>
#include <span>
#include <string>

namespace phigate::mask::testing {

inline void random_space(std::mt19937& rng, std::string& out) {
  static const char* kWs[] = {"", "", "", " ", "\n  ", "\t"};
  out += kWs[rng() % std::size(kWs)];
}

// `leaf(rng, out)` appends one JSON string value, quotes included. `keys` are member names as
// they appear between the quotes (already escaped).
template <class Leaf>
void random_json(std::mt19937& rng, int depth, std::span<const char* const> keys, Leaf& leaf,
                 std::string& out) {
  int kind = static_cast<int>(rng() % (depth > 4 ? 5 : 9));
  random_space(rng, out);
  switch (kind) {
    case 0:
    case 1:
    case 2:
      leaf(rng, out);
      break;
    case 3:
      out += std::to_string(static_cast<int>(rng() % 2000) - 1000);
      if (rng() % 3 == 0) out += ".5e1";
      break;
    case 4:
      out += rng() % 3 == 0 ? "true" : rng() % 2 ? "null" : "false";
      break;
    case 5:
    case 6:
    case 7: {
      out += '{';
      for (int k = static_cast<int>(rng() % 5); k > 0; --k) {
        random_space(rng, out);
        out += '"';
        out += keys[rng() % keys.size()];
        out += '"';
        random_space(rng, out);
        out += ':';
        random_json(rng, depth + 1, keys, leaf, out);
        if (k > 1) out += ',';
      }
      out += '}';
      break;
    }
    default: {
      out += '[';
      for (int k = static_cast<int>(rng() % 5); k > 0; --k) {
        random_json(rng, depth + 1, keys, leaf, out);
        if (k > 1) out += ',';
      }
      out += ']';
      break;
    }
  }
  random_space(rng, out);
}

}  // namespace phigate::mask::testing
