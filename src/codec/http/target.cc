#include "codec/http/target.h"

#include <algorithm>

#include "common/ascii.h"

namespace phigate::http {

namespace {

bool unreserved(unsigned char c) {  // RFC 3986 §2.3
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void decode_into(std::string_view s, bool plus_space, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += plus_space && s[i] == '+' ? ' ' : s[i];
    }
  }
}

std::string decode_component(std::string_view s, bool plus_space) {
  std::string out;
  decode_into(s, plus_space, out);
  return out;
}

}  // namespace

std::string decode_path(std::string_view path) { return decode_component(path, false); }

std::string strip_path_params(std::string_view decoded) {
  // Segment by segment: each cut at its first ';'; a segment left empty is dropped like the empty
  // segments normalisation already collapsed, except at the end (a trailing slash stays).
  std::string out;
  out.reserve(decoded.size());
  for (size_t at = 0; at < decoded.size();) {
    size_t next = decoded.find('/', at + 1);
    std::string_view seg =
        decoded.substr(at + 1, next == std::string_view::npos ? next : next - at - 1);
    seg = seg.substr(0, seg.find(';'));
    if (!seg.empty() || next == std::string_view::npos) {
      out += '/';
      out += seg;
    }
    if (next == std::string_view::npos) break;
    at = next;
  }
  return out.empty() ? "/" : out;
}

bool normalize_target(std::string_view target, Target& out, std::string& why) {
  // Cleared rather than replaced: a Target reused for the next request keeps its buffers.
  out.clear();
  if (target.empty() || target[0] != '/') {
    why = "request-target must start with /";
    return false;
  }
  if (target.find('#') != std::string_view::npos) {
    why = "a fragment is not allowed in a request-target";
    return false;
  }
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) {
    out.has_query = true;
    out.query.assign(target.substr(q + 1));
  }
  // Pass 1: percent-decoding of unreserved characters and refusal of the ambiguous ones, into
  // `decoded` as scratch space (it is written last, from `path`).
  std::string& p = out.decoded;
  p.reserve(raw_path.size());
  for (size_t i = 0; i < raw_path.size(); ++i) {
    auto c = static_cast<unsigned char>(raw_path[i]);
    if (c == '\\') {
      why = "backslash in path";
      return false;
    }
    if (c <= 0x20 || c >= 0x7f) {
      why = "invalid byte in path";
      return false;
    }
    if (c != '%') {
      p += static_cast<char>(c);
      continue;
    }
    if (i + 2 >= raw_path.size() || hex_value(raw_path[i + 1]) < 0 ||
        hex_value(raw_path[i + 2]) < 0) {
      why = "malformed percent-encoding in path";
      return false;
    }
    auto d =
        static_cast<unsigned char>(hex_value(raw_path[i + 1]) * 16 + hex_value(raw_path[i + 2]));
    if (d == '/' || d == '\\' || d == 0 || d == '%') {
      why = "encoded '/', '\\', '%' or NUL in path";
      return false;
    }
    if (unreserved(d)) {
      p += static_cast<char>(d);
    } else {
      // Uppercase hex (RFC 3986 §6.2.2.1), so equal paths are equal strings.
      static constexpr char kHex[] = "0123456789ABCDEF";
      p += '%';
      p += kHex[d >> 4];
      p += kHex[d & 15];
    }
    i += 2;
  }
  // Pass 2: segments; "." dropped, ".." pops (never above the root), empty segments collapse.
  // `path` is the stack of segments, each as "/seg".
  std::string& path = out.path;
  path.reserve(p.size() + 1);
  std::string_view rest = p;
  bool trailing_slash = !p.empty() && p.back() == '/';
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    // Servlet containers (Tomcat, Jetty: where HAPI FHIR runs) cut a segment's ";params" before
    // resolving dot segments, so "..;x" climbs there while it is a plain name here; an encoded
    // ';' is cut by some of them too. Refused: the two readings would reach different resources.
    std::string_view name = seg.substr(0, std::min(seg.find(';'), seg.find("%3B")));
    if (name.size() < seg.size() && (name == "." || name == "..")) {
      why = "a dot-segment with parameters (';') in path";
      return false;
    }
    if (seg == "..") {
      path.resize(path.empty() ? 0 : path.rfind('/'));
      trailing_slash = true;
    } else if (seg == ".") {
      trailing_slash = true;
    } else if (!seg.empty()) {
      path += '/';
      path += seg;
      trailing_slash = false;
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (rest.empty()) trailing_slash = true;
  }
  if (path.empty() || trailing_slash) path += '/';
  decode_into(path, false, out.decoded);
  return true;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    if (!item.empty()) {
      size_t eq = item.find('=');
      std::string_view name = item.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      out.emplace_back(decode_component(name, true), decode_component(value, true));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace phigate::http
