// Result capture for the audit record (issue 6): the rows of each statement as the client receives
// them go into a bounded ResultCapture; when the statement's result record is written its capture
// is stored as a content-addressed blob first, and the record names it by hash.
#include <spdlog/spdlog.h>

#include "proxy/pg_session.h"

namespace phigate::proxy {

void PgSession::capture_sent(const pg::Frame& sent) {
  if (sent.type == 'T') {  // RowDescription: names for the rows that follow
    capture_.on_row_description(sent.body);
  } else if (sent.type == 'D' && !pending_.empty() && pending_.front().rec) {
    capture_.on_data_row(pending_.front().rec.get(), sent.body);
  }
}

std::string PgSession::capture_blob(const StmtRecord* rec) {
  if (!capture_.enabled()) return {};
  std::string blob = capture_.take(rec);
  if (blob.empty()) return {};
  auto hash = ctx_.blobs->put(blob);
  if (!hash) {
    // The result record is still written (without a capture): losing a sample of the rows must
    // not lose the record that the statement ran.
    spdlog::error("session {}: result capture not stored: {}", session_id_, hash.error().message);
    return {};
  }
  return std::move(*hash);
}

}  // namespace phigate::proxy
