#pragma once
// EXECUTE name runs what was prepared under that name earlier in the session; policy must decide
// that statement, not the word EXECUTE. The session knows the names (SQL PREPARE and the extended
// protocol's Parse share them); this turns a classification's EXECUTEs into what they run.
#include <functional>
#include <memory>
#include <string_view>

#include "sql/classify.h"

namespace phigate::sql {

// What a name stands for on the session: the classification of the text prepared under it (a
// PREPARE statement or a Parse's query), or nullptr when the session knows no such name.
using PreparedLookup = std::function<const Classification*(std::string_view name)>;

// Returns `cls` itself when it has no EXECUTE (no copy). Otherwise a copy in which each EXECUTE
// carries the facts of the statement it runs (kind stays kExecute, inner_kind is the prepared
// statement's kind), merged with what the EXECUTE's own parameter expressions do. PREPARE and
// DEALLOCATE earlier in the same string are taken into account. An EXECUTE that cannot be resolved
// keeps inner_kind == kExecute, which policy refuses.
std::shared_ptr<const Classification> resolve_execute(std::shared_ptr<const Classification> cls,
                                                      const PreparedLookup& lookup);

}  // namespace phigate::sql
