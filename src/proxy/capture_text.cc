#include "proxy/capture_text.h"

#include "audit/canonical.h"

namespace phigate::proxy {

bool printable_text(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return audit::is_valid_utf8(s);
}

size_t utf8_prefix(std::string_view s, size_t n) {
  if (n >= s.size()) return s.size();
  size_t k = n;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  // Not UTF-8 text at all (k went back over more than a sequence): keep the bytes as they are.
  return n - k > 3 ? n : k;
}

}  // namespace phigate::proxy
