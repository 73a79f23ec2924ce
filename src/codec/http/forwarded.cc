#include "codec/http/forwarded.h"

#include <initializer_list>

namespace phigate::http {

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

namespace {

// Appends the concatenation of `parts` as one quoted-string, or nothing and false when it holds a
// control character.
bool append_quoted(std::initializer_list<std::string_view> parts, std::string& out) {
  const size_t mark = out.size();
  out += '"';
  for (std::string_view s : parts) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7F) {
        out.resize(mark);
        return false;
      }
      if (c == '"' || c == '\\') out += '\\';
      out += ch;
    }
  }
  out += '"';
  return true;
}

// forwarded_value appended; false (and nothing appended) when it cannot be represented.
bool append_value(std::string_view s, std::string& out) {
  if (!is_token(s)) return append_quoted({s}, out);
  out += s;
  return true;
}

}  // namespace

std::optional<std::string> quoted_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  if (!append_quoted({s}, out)) return std::nullopt;
  return out;
}

std::optional<std::string> forwarded_value(std::string_view s) {
  if (is_token(s)) return std::string(s);
  return quoted_string(s);
}

void append_forwarded_element(std::string_view client_ip, std::string_view proto,
                              const std::string_view* host, std::string& out) {
  out += "for=";
  if (client_ip.empty()) {
    out += "unknown";
  } else if (client_ip.find(':') != std::string_view::npos) {
    // An IPv6 address is never a token: the brackets are quoted along with it.
    if (!append_quoted({"[", client_ip, "]"}, out)) out += "unknown";
  } else if (!append_value(client_ip, out)) {
    out += "unknown";
  }
  out += ";proto=";
  if (!append_value(proto, out)) out += "http";
  if (host != nullptr) {
    const size_t mark = out.size();
    out += ";host=";
    if (!append_value(*host, out)) out.resize(mark);
  }
}

std::string forwarded_element(std::string_view client_ip, std::string_view proto,
                              const std::string* host) {
  std::string out;
  std::string_view h = host != nullptr ? std::string_view(*host) : std::string_view();
  append_forwarded_element(client_ip, proto, host != nullptr ? &h : nullptr, out);
  return out;
}

}  // namespace phigate::http
