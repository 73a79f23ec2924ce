#include "codec/http/forwarded.h"

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

std::optional<std::string> quoted_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return std::nullopt;
    if (c == '"' || c == '\\') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

std::optional<std::string> forwarded_value(std::string_view s) {
  if (is_token(s)) return std::string(s);
  return quoted_string(s);
}

std::string forwarded_element(std::string_view client_ip, std::string_view proto,
                              const std::string* host) {
  std::string out = "for=";
  if (client_ip.empty()) {
    out += "unknown";
  } else if (client_ip.find(':') != std::string_view::npos) {
    out += quoted_string("[" + std::string(client_ip) + "]").value_or("unknown");
  } else {
    out += forwarded_value(client_ip).value_or("unknown");
  }
  out += ";proto=";
  out += forwarded_value(proto).value_or("http");
  if (host != nullptr) {
    if (auto v = forwarded_value(*host)) out += ";host=" + *v;
  }
  return out;
}

}  // namespace phigate::http
