#include "mask/json_path.h"

namespace phigate::mask {

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

bool match_from(const std::vector<JsonPathSeg>& pat, size_t i, const std::vector<JsonPathElem>& p,
                size_t j) {
  if (i == pat.size()) return j == p.size();
  const JsonPathSeg& s = pat[i];
  if (s.kind == JsonPathSeg::kDescend) {
    // ..name: the member `name` of this node or of any node below it.
    for (size_t k = j; k < p.size(); ++k) {
      if (!p[k].is_index && (s.key.empty() || p[k].key == s.key) &&
          match_from(pat, i + 1, p, k + 1))
        return true;
    }
    return false;
  }
  if (j == p.size()) return false;
  const JsonPathElem& e = p[j];
  switch (s.kind) {
    case JsonPathSeg::kKey:
      if (e.is_index || e.key != s.key) return false;
      break;
    case JsonPathSeg::kAnyKey:
      break;  // `.*` selects members and elements alike (RFC 9535 §2.3.2)
    case JsonPathSeg::kIndex:
      if (!e.is_index || e.index != s.index) return false;
      break;
    case JsonPathSeg::kAnyIndex:
      break;
    case JsonPathSeg::kDescend:
      break;
  }
  return match_from(pat, i + 1, p, j + 1);
}

}  // namespace

Result<std::vector<JsonPathSeg>> parse_json_path(std::string_view t) {
  auto bad = [&](std::string why) {
    return make_error("json_path", "bad JSON path '" + std::string(t) + "': " + why);
  };
  std::vector<JsonPathSeg> out;
  size_t i = 0;
  if (t.empty() || t[0] != '$') return bad("must start with $");
  i = 1;
  while (i < t.size()) {
    if (t.compare(i, 2, "..") == 0) {
      i += 2;
      JsonPathSeg s{JsonPathSeg::kDescend, {}, 0};
      if (i < t.size() && t[i] == '*') {
        ++i;
      } else {
        size_t b = i;
        while (i < t.size() && name_char(t[i])) ++i;
        if (i == b) return bad("expected a member name after ..");
        s.key = std::string(t.substr(b, i - b));
      }
      out.push_back(std::move(s));
      continue;
    }
    if (t[i] == '.') {
      ++i;
      if (i < t.size() && t[i] == '*') {
        ++i;
        out.push_back({JsonPathSeg::kAnyKey, {}, 0});
        continue;
      }
      size_t b = i;
      while (i < t.size() && name_char(t[i])) ++i;
      if (i == b) return bad("expected a member name after .");
      out.push_back({JsonPathSeg::kKey, std::string(t.substr(b, i - b)), 0});
      continue;
    }
    if (t[i] == '[') {
      ++i;
      if (i < t.size() && t[i] == '*') {
        if (i + 1 >= t.size() || t[i + 1] != ']') return bad("expected ] after [*");
        i += 2;
        out.push_back({JsonPathSeg::kAnyIndex, {}, 0});
        continue;
      }
      if (i < t.size() && (t[i] == '\'' || t[i] == '"')) {
        char q = t[i++];
        size_t b = i;
        while (i < t.size() && t[i] != q) ++i;
        if (i + 1 >= t.size() || t[i + 1] != ']') return bad("unterminated quoted member");
        out.push_back({JsonPathSeg::kKey, std::string(t.substr(b, i - b)), 0});
        i += 2;
        continue;
      }
      uint64_t v = 0;
      size_t b = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - b < 15) v = v * 10 + (t[i++] - '0');
      if (i == b || i >= t.size() || t[i] != ']') return bad("expected an index, * or a name");
      ++i;
      out.push_back({JsonPathSeg::kIndex, {}, v});
      continue;
    }
    return bad("unexpected '" + std::string(1, t[i]) + "'");
  }
  return out;
}

bool json_path_matches(const std::vector<JsonPathSeg>& pattern,
                       const std::vector<JsonPathElem>& path) {
  return match_from(pattern, 0, path, 0);
}

}  // namespace phigate::mask
