// SQL-level PREPARE / EXECUTE / DEALLOCATE / DISCARD. A prepared statement runs later under a name,
// so phigate remembers what it decided under each name and decides an EXECUTE as the statement it
// runs. SQL PREPARE and the extended protocol's Parse share the server's namespace (§55.2.3:
// "EXECUTE" can run a statement made by Parse and Bind can use one made by PREPARE), so both are
// kept in prepared_.
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "proxy/pg_session.h"

namespace phigate::proxy {

namespace {

using sql::Kind;

// What an EXECUTE runs, decided as that statement: the prepared statement's facts, plus what the
// EXECUTE's own parameter expressions call or read (EXECUTE p(nextval('s')) runs nextval too).
// Returns false when phigate cannot say what runs.
bool resolve_one(const sql::Statement& exec, const sql::Classification* prepared,
                 sql::Statement& out) {
  if (prepared == nullptr || !prepared->ok || prepared->statements.size() != 1) return false;
  const sql::Statement& src = prepared->statements[0];
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

// DISCARD ALL is the only DISCARD spelled with ALL; a comment that says "all" only makes phigate
// forget more than it had to, which fails closed.
bool mentions_all(std::string_view text) {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    if ((text[i] | 0x20) == 'a' && (text[i + 1] | 0x20) == 'l' && (text[i + 2] | 0x20) == 'l')
      return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<const sql::Classification> PgSession::resolve_execute(
    std::shared_ptr<const sql::Classification> cls) const {
  if (!cls || !cls->ok) return cls;
  bool any = false;
  for (const sql::Statement& st : cls->statements) any = any || st.kind == Kind::kExecute;
  if (!any) return cls;  // the common case: no copy
  // Statements earlier in the same string may PREPARE or DEALLOCATE the name an EXECUTE uses.
  std::unordered_map<std::string, std::shared_ptr<const sql::Classification>> overlay;
  auto resolved = std::make_shared<sql::Classification>(*cls);
  for (sql::Statement& st : resolved->statements) {
    if (st.kind == Kind::kPrepare) {
      overlay[st.prepared_name] = sql::classify(st.text);
    } else if (st.kind == Kind::kDeallocate) {
      if (st.prepared_name.empty()) {
        overlay.clear();  // DEALLOCATE ALL: nothing earlier stays visible
        for (const auto& [name, info] : prepared_)
          if (!name.empty()) overlay[name] = nullptr;
      } else {
        overlay[st.prepared_name] = nullptr;
      }
    } else if (st.kind == Kind::kExecute) {
      const sql::Classification* src = nullptr;
      if (auto o = overlay.find(st.prepared_name); o != overlay.end()) {
        src = o->second.get();
      } else if (auto it = prepared_.find(st.prepared_name);
                 it != prepared_.end() && !it->second->denied) {
        src = it->second->sql.get();
      }
      sql::Statement r;
      // Unresolved, the statement stays an EXECUTE with inner_kind execute, which policy refuses.
      if (resolve_one(st, src, r)) st = std::move(r);
    }
  }
  return resolved;
}

void PgSession::track_sql_prepared(const sql::Classification& cls, Pending& p) {
  for (const sql::Statement& st : cls.statements) {
    switch (st.kind) {
      case Kind::kPrepare: {
        // The server refuses a duplicate name (42P05) and keeps the old statement; so does phigate.
        if (st.prepared_name.empty() || prepared_.count(st.prepared_name)) break;
        auto info = std::make_shared<PreparedInfo>();
        info->version = ++versions_;
        info->text = st.text;
        info->sql = sql::classify(st.text);
        prepared_[st.prepared_name] = info;
        p.sql_prepared.emplace_back(st.prepared_name, info->version);
        break;
      }
      case Kind::kDeallocate:
        if (!st.prepared_name.empty()) {
          prepared_.erase(st.prepared_name);
        } else {
          // DEALLOCATE ALL drops every named statement; the unnamed one is not in that table.
          for (auto it = prepared_.begin(); it != prepared_.end();)
            it = it->first.empty() ? std::next(it) : prepared_.erase(it);
        }
        break;
      case Kind::kDiscard:
        if (!mentions_all(st.text)) break;  // PLANS/SEQUENCES/TEMP keep prepared statements
        // DISCARD ALL deallocates statements and closes portals. phigate forgets them even if the
        // server refuses (inside a transaction block): a name it does not know is refused, never
        // taken for something else.
        for (auto it = prepared_.begin(); it != prepared_.end();)
          it = it->first.empty() ? std::next(it) : prepared_.erase(it);
        portals_.clear();
        break;
      default:
        break;
    }
  }
}

// A failed Query or Execute may have stopped before its PREPAREs ran: forget them rather than let
// a name phigate believes in stand for something the server never made.
void PgSession::forget_sql_prepared(const Pending& p) {
  for (const auto& [name, version] : p.sql_prepared) {
    auto it = prepared_.find(name);
    if (it != prepared_.end() && it->second->version == version) prepared_.erase(it);
  }
}

}  // namespace phigate::proxy
