// max_rows (DESIGN.md §4 roles.max_rows): a result stops reaching the client after N rows. The rows
// beyond are read from the server and dropped — never buffered — and the result ends with an
// ErrorResponse instead of its CommandComplete / PortalSuspended, so the client sees that it did
// not get everything.
//
// The server is not cancelled: a cancel request races with the statement's end and may hit the
// session's next statement instead. So the server completes the statement normally, and the
// ReadyForQuery that follows carries the server's real transaction state (an open transaction
// block stays usable; nothing is rolled back behind the client's back).
#include "codec/pg/encoder.h"
#include "proxy/pg_session.h"

namespace phigate::proxy {

bool PgSession::count_row(StmtRecord& rec) {
  if (rec.max_rows == 0) return true;
  // An extended-protocol portal counts across its Executes, so fetching in chunks does not reset
  // the limit; a simple Query counts per result.
  uint64_t& sent = rec.portal_rows ? *rec.portal_rows : rec.result_rows;
  if (sent >= rec.max_rows) {
    ++rec.withheld;
    rec.truncated = true;
    return false;
  }
  ++sent;
  return true;
}

bool PgSession::end_result(StmtRecord& rec, Bytes& replacement) {
  rec.result_rows = 0;
  if (rec.withheld == 0) return false;
  std::string msg = "result exceeds max_rows (" + std::to_string(rec.max_rows) + ") of role " +
                    rec.limit_role + ": " + std::to_string(rec.withheld) +
                    " more rows withheld (phigate)";
  rec.withheld = 0;
  // 54000 program_limit_exceeded: the closest standard class for "more than you may have".
  pg::encode_error(replacement, "ERROR", "54000", msg);
  return true;
}

namespace {
// Cursor names are client-controlled; past this many phigate stops tracking new ones and their
// FETCHes count per result (the limit still applies to each FETCH).
constexpr size_t kMaxCursors = 10000;
}  // namespace

void PgSession::attach_cursor_counts(const sql::Classification& cls, StmtRecord& rec) {
  for (const sql::Statement& st : cls.statements) {
    if (st.declares_cursor) {
      rec.declared_cursors.push_back(st.cursor_name);
    } else if (st.kind == sql::Kind::kFetch) {
      auto it = cursor_rows_.find(st.cursor_name);
      if (it == cursor_rows_.end() && cursor_rows_.size() < kMaxCursors) {
        it = cursor_rows_.emplace(st.cursor_name, std::make_shared<uint64_t>(0)).first;
      }
      // The first cursor of the string counts every result of it: stricter, never looser.
      if (it != cursor_rows_.end() && !rec.portal_rows) rec.portal_rows = it->second;
    } else if (st.kind == sql::Kind::kClose) {
      if (st.cursor_name.empty()) {
        cursor_rows_.clear();
      } else {
        cursor_rows_.erase(st.cursor_name);
      }
    } else if (st.kind == sql::Kind::kDiscard) {
      cursor_rows_.clear();
    }
  }
}

void PgSession::cursor_declared(StmtRecord& rec) {
  if (rec.declares_done >= rec.declared_cursors.size()) return;
  const std::string& name = rec.declared_cursors[rec.declares_done++];
  if (cursor_rows_.size() < kMaxCursors || cursor_rows_.count(name)) {
    cursor_rows_[name] = std::make_shared<uint64_t>(0);
  }
}

}  // namespace phigate::proxy
