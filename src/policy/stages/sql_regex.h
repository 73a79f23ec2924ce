#pragma once
// `regex` rule matcher: a hyperscan pattern compiled once per snapshot, matched against the
// normalized statement text (sql/normalize.h). hyperscan does not backtrack, so a hostile
// statement cannot make a pattern run for long or exhaust the stack (std::regex can).
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct hs_database;

namespace phigate {

class SqlRegex {
 public:
  // Flags: DOTALL and SINGLEMATCH; case-sensitive (the normalized text has keywords and unquoted
  // identifiers in lower case). Fails with hyperscan's message for an unsupported or bad pattern.
  static Result<std::shared_ptr<const SqlRegex>> compile(const std::string& pattern);
  // Whether the pattern matches anywhere in `text`. nullopt-like failure (scratch/scan error)
  // is reported as `matched = true, ok = false` so callers can fail closed.
  struct Match {
    bool matched = false;
    bool ok = true;
  };
  Match match(std::string_view text) const;

  explicit SqlRegex(hs_database* db) : db_(db) {}
  ~SqlRegex();
  SqlRegex(const SqlRegex&) = delete;
  SqlRegex& operator=(const SqlRegex&) = delete;

 private:
  hs_database* db_;
};

}  // namespace phigate
