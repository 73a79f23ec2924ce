// Fuzz target: arbitrary text through the classifier (libpg_query + the streaming tree scan + the
// lexer-safety re-parse). Must never crash; a text that fails to parse must be reported as such.
#include <cstdint>
#include <string_view>

#include "sql/classify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = phigate::sql::classify_uncached(text);
  if (!c.ok && c.error.empty()) __builtin_trap();
  for (const auto& st : c.statements) {
    if (st.text.size() > size) __builtin_trap();
  }
  return 0;
}
