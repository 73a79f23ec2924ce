// Fuzz target: arbitrary text through the classifier (libpg_query + the streaming tree scan + the
// lexer-safety re-parse), the regex normalizer and EXECUTE resolution. Must never crash; a text
// that fails to parse must be reported as such; the per-statement facts must be consistent.
#include <cstdint>
#include <memory>
#include <string_view>

#include "sql/classify.h"
#include "sql/normalize.h"
#include "sql/prepared.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c =
      std::make_shared<const phigate::sql::Classification>(phigate::sql::classify_uncached(text));
  if (!c->ok && c->error.empty()) __builtin_trap();
  for (const auto& st : c->statements) {
    if (st.text.size() > size) __builtin_trap();
    if (st.tables.size() != st.table_ops.size()) __builtin_trap();
    if (!st.nested_kinds.empty() && !st.writes) __builtin_trap();
    if (!st.hazard_functions.empty() && !st.writes) __builtin_trap();
    if (!st.impure_function.empty() && st.functions.empty()) __builtin_trap();
  }
  // Resolution against a session where every name stands for this very text.
  auto resolved = phigate::sql::resolve_execute(
      c, [&c](std::string_view) -> const phigate::sql::Classification* { return c.get(); });
  if (resolved->statements.size() != c->statements.size()) __builtin_trap();
  auto norm = phigate::sql::normalize_sql(text);
  if (c->ok && !norm) __builtin_trap();  // what parses also scans
  if (norm && norm->size() > 2 * size + 1) __builtin_trap();
  return 0;
}
