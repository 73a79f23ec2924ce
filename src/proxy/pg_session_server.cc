// Upstream → client: backend messages stream through unchanged in bulk; phigate only reads their
// types to pair responses with requests for the audit record, and rewrites its own denial markers.
#include <spdlog/spdlog.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "common/clock.h"
#include "proxy/pg_session.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
constexpr size_t kServerReadChunk = 65536;
}

awaitable<void> PgSession::server_loop() {
  Buffer buf(kServerReadChunk);
  buf.append(server_seed_);
  Bytes out;
  Bytes replacement;
  for (;;) {
    size_t head = 0, copied = 0;
    bool bad = false;
    out.clear();
    for (;;) {
      auto d = pg::decode_frame(buf.readable().subspan(head), pg::kDefaultMaxBackendLen);
      if (d.status == pg::DecodeStatus::kNeedMore) break;
      if (d.status == pg::DecodeStatus::kError) {
        bad = true;
        break;
      }
      replacement.clear();
      bool replace = false;
      handle_server_frame(d.message, replacement, replace);
      if (replace) {
        // Copy the untouched run before this frame, then the replacement instead of it.
        ByteSpan run = buf.readable().subspan(copied, head - copied);
        out.insert(out.end(), run.begin(), run.end());
        out.insert(out.end(), replacement.begin(), replacement.end());
        copied = head + d.message.total;
      }
      head += d.message.total;
    }
    error_code ec;
    if (out.empty()) {
      if (head > 0) co_await write_client(asio::buffer(buf.readable().data(), head), ec);
    } else {
      ByteSpan run = buf.readable().subspan(copied, head - copied);
      out.insert(out.end(), run.begin(), run.end());
      co_await write_client(asio::buffer(out), ec);
    }
    if (ec) break;
    if (bad) {
      if (fatal_message_.empty()) {
        fatal_sqlstate_ = "08P01";
        fatal_message_ = "upstream sent a malformed message; session closed";
      }
      break;
    }
    buf.consume(head);
    if (buf.empty()) buf.shrink_if_idle(4 * kServerReadChunk);
    auto w = buf.prepare(kServerReadChunk / 4);
    size_t n = co_await server_->read_some(asio::buffer(w.data(), w.size()), ec);
    buf.commit(n);
    if (ec || n == 0) break;
  }
  if (!fatal_message_.empty()) {
    Bytes f;
    pg::encode_error(f, "FATAL", fatal_sqlstate_, fatal_message_);
    error_code ec;
    co_await write_client(asio::buffer(f), ec);
  }
  closing_ = true;
  client_->close();
  server_->close();
  // Anything still pending never completed: record it so no statement is left without a result.
  while (!pending_.empty()) {
    if (pending_.front().rec) finish(pending_.front().rec, "aborted");
    pending_.pop_front();
  }
}

// The server refused a Parse or Bind: the name it was about to define does not hold what phigate
// recorded, so phigate forgets it (an Execute of it is then refused as unknown).
void PgSession::forget_failed(const Pending& p) {
  if (p.version == 0) return;
  if (p.kind == 'P') {
    auto it = prepared_.find(p.name);
    if (it != prepared_.end() && it->second->version == p.version) prepared_.erase(it);
  } else if (p.kind == 'B') {
    auto it = portals_.find(p.name);
    if (it != portals_.end() && it->second.version == p.version) portals_.erase(it);
  }
}

void PgSession::finish(const std::shared_ptr<StmtRecord>& rec, const char* status) {
  if (!rec) return;
  audit::Event e = make_event("result");
  e.ref_seq = rec->seq;
  e.status = rec->error ? "error" : status;
  e.rows = rec->rows;
  e.bytes = rec->bytes;
  e.error_code = rec->error_code;
  e.message = rec->tag;
  e.duration_ns = mono_ns() - rec->start_mono;
  ctx_.audit->append(std::move(e));
}

// Pops everything up to and including the message that ends a cycle (Sync, Query, FunctionCall):
// after an error the server skips the rest of an extended batch, so those entries are unanswered.
void PgSession::pop_until_sync() {
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    if (p.kind == 'Q' || p.kind == 'F') {
      finish(p.rec, "ok");
      return;
    }
    if (p.kind == 'S') return;
    finish(p.rec, "skipped");
  }
}

void PgSession::handle_server_frame(const pg::Frame& f, Bytes& replacement, bool& replace) {
  Pending* head = pending_.empty() ? nullptr : &pending_.front();
  auto pop_if = [&](char kind) {
    if (head && head->kind == kind) pending_.pop_front();
  };
  switch (f.type) {
    case 'D':  // DataRow
      if (head && head->rec) {
        ++head->rec->rows;
        head->rec->bytes += f.total;
      }
      break;
    case 'd':  // CopyData (COPY TO STDOUT)
      if (head && head->rec) head->rec->bytes += f.total;
      break;
    case 'C': {  // CommandComplete
      auto c = pg::parse_command_complete(f.body);
      if (!head || !c) break;
      if (head->rec) {
        head->rec->tag = std::string(c->tag);
        // DataRows already counted SELECT rows; other commands report their count in the tag.
        if (head->rec->rows == 0) head->rec->rows = pg::command_rows(c->tag).value_or(0);
      }
      if (head->kind == 'E') {
        finish(head->rec, "ok");
        pending_.pop_front();
      }
      break;
    }
    case 'I':  // EmptyQueryResponse
      if (head && head->kind == 'E') {
        finish(head->rec, "ok");
        pending_.pop_front();
      }
      break;
    case 's':  // PortalSuspended: Execute hit its row limit
      if (head && head->kind == 'E') {
        finish(head->rec, "suspended");
        pending_.pop_front();
      }
      break;
    case '1':
      pop_if('P');
      break;
    case '2':
      pop_if('B');
      break;
    case '3':
      pop_if('C');
      break;
    case 'T':  // RowDescription answers Describe; in a Query it precedes the rows
    case 'n':  // NoData
      pop_if('D');
      break;
    case 'E': {  // ErrorResponse
      if (!head) break;
      auto fields = pg::parse_error_fields(f.body);
      if (!head->deny_message.empty() && fields &&
          fields->message().find(deny_marker_) != std::string_view::npos) {
        pg::encode_error(replacement, "ERROR", head->deny_code, head->deny_message);
        replace = true;
      }
      if (head->rec) {
        head->rec->error = true;
        if (fields) head->rec->error_code = std::string(fields->sqlstate());
      }
      if (head->kind != 'Q' && head->kind != 'F' && head->kind != 'S') {
        forget_failed(*head);
        finish(head->rec, "error");
        pending_.pop_front();
      }
      break;
    }
    case 'Z':  // ReadyForQuery ends a cycle
      pop_until_sync();
      break;
    default:  // notices, ParameterStatus, notifications, copy responses, FunctionCallResponse
      break;
  }
}

}  // namespace phigate::proxy
