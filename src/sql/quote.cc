#include "sql/quote.h"

namespace phigate::sql {

namespace {
std::string quoted(std::string_view s, char q) {
  std::string out(1, q);
  out.reserve(s.size() + 2);
  for (char c : s) {
    if (c == '\0') continue;
    if (c == q) out.push_back(q);
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}
}  // namespace

std::string quote_ident(std::string_view s) { return quoted(s, '"'); }
std::string quote_literal(std::string_view s) { return quoted(s, '\''); }

}  // namespace phigate::sql
