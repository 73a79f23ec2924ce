#include "sql/prepared.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

namespace phigate::sql {
namespace {

// What an EXECUTE runs, decided as that statement: the prepared statement's facts, plus what the
// EXECUTE's own parameter expressions call or read (EXECUTE p(nextval('s')) runs nextval too).
// Returns false when phigate cannot say what runs.
bool resolve_one(const Statement& exec, const Classification* prepared, Statement& out) {
  if (prepared == nullptr || !prepared->ok || prepared->statements.size() != 1) return false;
  const Statement& src = prepared->statements[0];
  if (src.kind == Kind::kExecute || src.nested_execute) return false;  // EXECUTE of an EXECUTE
  out = src;
  out.kind = Kind::kExecute;
  out.inner_kind = src.kind == Kind::kPrepare ? src.inner_kind : src.kind;
  out.plumbing = false;
  out.prepared_name = exec.prepared_name;
  out.writes = src.writes || !exec.hazard_functions.empty() || !exec.nested_kinds.empty();
  for (const std::string& f : exec.functions) {
    if (std::find(out.functions.begin(), out.functions.end(), f) == out.functions.end())
      out.functions.push_back(f);
  }
  for (const std::string& h : exec.hazard_functions) out.hazard_functions.push_back(h);
  if (out.impure_function.empty()) out.impure_function = exec.impure_function;
  for (size_t i = 0; i < exec.tables.size(); ++i) {
    out.tables.push_back(exec.tables[i]);
    out.table_ops.push_back(exec.table_ops[i]);
  }
  for (Kind k : exec.nested_kinds) out.nested_kinds.push_back(k);
  if (out.lexer_unsafe.empty()) out.lexer_unsafe = exec.lexer_unsafe;
  out.changes_identity = src.changes_identity || exec.changes_identity;
  return true;
}

}  // namespace

std::shared_ptr<const Classification> resolve_execute(std::shared_ptr<const Classification> cls,
                                                      const PreparedLookup& lookup) {
  if (!cls || !cls->ok) return cls;
  bool any = false;
  for (const Statement& st : cls->statements) any = any || st.kind == Kind::kExecute;
  if (!any) return cls;  // the common case: no copy
  // Statements earlier in the same string may PREPARE or DEALLOCATE the name an EXECUTE uses.
  std::unordered_map<std::string, std::shared_ptr<const Classification>> overlay;
  bool all_gone = false;  // DEALLOCATE ALL earlier in the string
  auto resolved = std::make_shared<Classification>(*cls);
  for (Statement& st : resolved->statements) {
    if (st.kind == Kind::kPrepare) {
      overlay[st.prepared_name] = classify(st.text);
    } else if (st.kind == Kind::kDeallocate) {
      if (st.prepared_name.empty()) {
        overlay.clear();
        all_gone = true;
      } else {
        overlay[st.prepared_name] = nullptr;
      }
    } else if (st.kind == Kind::kExecute) {
      const Classification* src = nullptr;
      if (auto o = overlay.find(st.prepared_name); o != overlay.end()) {
        src = o->second.get();
      } else if (!all_gone && lookup) {
        src = lookup(st.prepared_name);
      }
      Statement r;
      if (resolve_one(st, src, r)) st = std::move(r);
    }
  }
  return resolved;
}

}  // namespace phigate::sql
