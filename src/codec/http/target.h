#pragma once
// Request-target normalisation (RFC 3986 §6.2.2, §5.2.4; RFC 9112 §3.2.1), so that policy, audit
// and the upstream all see the same path. Encodings that different servers read differently are
// refused rather than guessed at: %2F and %5C (a slash inside a segment), %00, %25 (double
// encoding), a backslash, and a fragment.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phigate::http {

struct Target {
  std::string path;     // normalised, as forwarded: unreserved characters decoded, no dot
                        // segments, no empty segments; other %XX kept encoded
  std::string decoded;  // `path` fully percent-decoded once: what path globs match
  std::string query;    // raw, after '?', forwarded as is ("" when absent)
  bool has_query = false;
  // Empty, keeping the capacity (a Target reused for the next request).
  void clear() {
    path.clear();
    decoded.clear();
    query.clear();
    has_query = false;
  }
};

// A normalised path (Target::path or a part of it cut at a '/') percent-decoded once: what path
// globs match (Target::decoded is this of the whole path).
std::string decode_path(std::string_view path);

// A decoded path without its segments' parameters: "/a;v=1/b;x" -> "/a/b". What a servlet
// container routes on (RFC 3986 §3.3 leaves ';' to the scheme's server), so path rules are also
// checked against it.
std::string strip_path_params(std::string_view decoded);

// False (with `why`) when the target must be refused with 400; also a dot segment that carries
// parameters ("..;x", ".%3B"), which servlet containers resolve as a dot segment.
bool normalize_target(std::string_view target, Target& out, std::string& why);

// `a=1&b=x%20y` -> {{"a","1"},{"b","x y"}}: names and values percent-decoded once, '+' as space
// (application/x-www-form-urlencoded). A malformed escape is kept literally.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace phigate::http
