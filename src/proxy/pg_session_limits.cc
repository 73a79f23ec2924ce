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

}  // namespace phigate::proxy
