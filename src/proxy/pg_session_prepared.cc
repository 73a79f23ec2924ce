// SQL-level PREPARE / EXECUTE / DEALLOCATE / DISCARD. A prepared statement runs later under a name,
// so phigate remembers what it decided under each name and decides an EXECUTE as the statement it
// runs. SQL PREPARE and the extended protocol's Parse share the server's namespace (§55.2.3:
// "EXECUTE" can run a statement made by Parse and Bind can use one made by PREPARE), so both are
// kept in prepared_.
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "proxy/pg_session.h"
#include "sql/prepared.h"

namespace phigate::proxy {

namespace {

using sql::Kind;

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
  return sql::resolve_execute(std::move(cls),
                              [this](std::string_view name) -> const sql::Classification* {
                                auto it = prepared_.find(std::string(name));
                                if (it == prepared_.end() || it->second->denied) return nullptr;
                                return it->second->sql.get();
                              });
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
