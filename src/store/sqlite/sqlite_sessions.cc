#include "store/sqlite/sqlite_sessions.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "audit/canonical.h"
#include "audit/record_view.h"

namespace phigate::store::sqlite_detail {
namespace {

// Catch-up transaction size: large enough to amortise commits, small enough that a writer
// waiting on the busy timeout is not starved on a first open of a big store.
constexpr int kCatchUpRows = 50000;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS audit_sessions (session_id TEXT PRIMARY KEY,"
    " first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, start_seq INTEGER NOT NULL,"
    " start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,"
    " sub TEXT, issuer TEXT, task_id TEXT, workflow_id TEXT, act_sub TEXT, roles TEXT,"
    " client_addr TEXT, client_user TEXT, resource TEXT, protocol TEXT, client_tls TEXT,"
    " upstream_tls TEXT, statements INTEGER NOT NULL, allowed INTEGER NOT NULL,"
    " denied INTEGER NOT NULL, held INTEGER NOT NULL, errors INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS audit_sessions_meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " high_water INTEGER NOT NULL, low_seq INTEGER NOT NULL, sessions INTEGER NOT NULL);";

// Identity columns: set from the session's start record, kept once set.
constexpr const char* kIdentity[] = {
    "start_ns",    "sub",         "issuer",   "task_id",  "workflow_id", "act_sub",     "roles",
    "client_addr", "client_user", "resource", "protocol", "client_tls",  "upstream_tls"};

// Values ?1..?24 are the row as inserted (the batch's records from its start record on); when the
// row exists and has started, ?25..?32 (the whole batch) are added to it instead. RETURNING
// first_seq tells an insert (the batch's first seq) from an update (an older one).
std::string upsert_sql() {
  std::string sql =
      "INSERT INTO audit_sessions (session_id, first_seq, last_seq, start_seq, start_ns, end_ns,"
      " last_ns, sub, issuer, task_id, workflow_id, act_sub, roles, client_addr, client_user,"
      " resource, protocol, client_tls, upstream_tls, statements, allowed, denied, held, errors)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
      " ?19, ?20, ?21, ?22, ?23, ?24)"
      " ON CONFLICT (session_id) DO UPDATE SET last_seq = excluded.last_seq,"
      " start_seq = CASE WHEN start_seq != 0 THEN start_seq ELSE excluded.start_seq END";
  for (const char* c : kIdentity) {
    sql += std::string(", ") + c + " = CASE WHEN start_seq != 0 THEN " + c + " ELSE excluded." + c +
           " END";
  }
  sql +=
      ", end_ns = CASE WHEN start_seq = 0 THEN excluded.end_ns WHEN ?25 THEN ?26 ELSE end_ns END"
      ", last_ns = CASE WHEN start_seq = 0 THEN excluded.last_ns ELSE max(last_ns, ?27) END";
  const char* counts[] = {"statements", "allowed", "denied", "held", "errors"};
  for (int i = 0; i < 5; ++i) {
    sql += std::string(", ") + counts[i] + " = CASE WHEN start_seq = 0 THEN excluded." + counts[i] +
           " ELSE " + counts[i] + " + ?" + std::to_string(28 + i) + " END";
  }
  return sql + " RETURNING first_seq";
}

struct MetaRow {
  int64_t high_water = 0, low_seq = 0, sessions = 0;
};

// The meta row if the index can be trusted for the records up to its high-water mark: the tables
// exist, nothing below low_seq was pruned since, the high-water mark is not beyond the newest
// record. The row count is checked by the caller (a reader counts the rows it reads anyway).
Result<std::optional<MetaRow>> trusted_meta(sqlite3* db) {
  for (const char* table : {"audit_sessions", "audit_sessions_meta"}) {
    auto has = has_table(db, table);
    if (!has.ok()) return has.error();
    if (!*has) return std::optional<MetaRow>();
  }
  auto s = prepare(db, "SELECT high_water, low_seq, sessions FROM audit_sessions_meta WHERE id = 1",
                   false);
  if (!s.ok()) return s.error();
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<MetaRow>();
  if (rc != SQLITE_ROW) return db_error(db, "session index: read meta");
  MetaRow m{sqlite3_column_int64(s->get(), 0), sqlite3_column_int64(s->get(), 1),
            sqlite3_column_int64(s->get(), 2)};
  auto min = query_int(db, "SELECT min(seq) FROM audit_events");
  if (!min.ok()) return min.error();
  auto max = query_int(db, "SELECT max(seq) FROM audit_events");
  if (!max.ok()) return max.error();
  if (m.high_water < 0 || m.sessions < 0 || m.high_water > max->value_or(0) ||
      (m.high_water > 0 && m.low_seq != min->value_or(0))) {
    return std::optional<MetaRow>();
  }
  return std::optional<MetaRow>(m);
}

}  // namespace

void SessionIndexWriter::Counts::add(std::string_view type, int64_t time_ns, uint8_t summary) {
  const auto decision = (summary & kSummaryAllow)  ? audit::RecordDecision::kAllow
                        : (summary & kSummaryHold) ? audit::RecordDecision::kHold
                                                   : audit::RecordDecision::kOther;
  audit::count_session_record(*this, type, time_ns, decision, (summary & kSummaryError) != 0);
}

SessionIndexWriter::~SessionIndexWriter() = default;

Result<std::unique_ptr<SessionIndexWriter>> SessionIndexWriter::open(sqlite3* db, bool announce) {
  std::unique_ptr<SessionIndexWriter> w(new SessionIndexWriter(db));
  if (auto st = exec(db, "BEGIN IMMEDIATE"); !st.ok()) return st.error();
  auto fail = [&](Error e) -> Error {
    (void)exec(db, "ROLLBACK");  // best effort: the original error is what matters
    return e;
  };
  // Checked before the CREATE: a table recreated empty under an old meta row would hide sessions.
  auto meta = trusted_meta(db);
  if (!meta.ok()) return fail(meta.error());
  if (auto st = exec(db, kSchema); !st.ok()) return fail(st.error());
  bool trusted = meta->has_value();
  if (trusted) {
    auto rows = query_int(db, "SELECT count(*) FROM audit_sessions");
    if (!rows.ok()) return fail(rows.error());
    trusted = rows->value_or(0) == (*meta)->sessions;
  }
  if (!trusted) {
    if (meta->has_value())
      spdlog::warn("audit: session index out of step with its meta row; rebuilding");
    if (auto st = exec(db,
                       "DELETE FROM audit_sessions; DELETE FROM audit_sessions_meta;"
                       "INSERT INTO audit_sessions_meta VALUES (1, 0, 0, 0);");
        !st.ok()) {
      return fail(st.error());
    }
  } else {
    w->high_water_ = (*meta)->high_water;
    w->low_seq_ = (*meta)->low_seq;
    w->sessions_ = (*meta)->sessions;
  }
  if (auto st = w->prepare_statements(); !st.ok()) return fail(st.error());
  if (auto st = exec(db, "COMMIT"); !st.ok()) return fail(st.error());
  if (auto st = w->catch_up(announce); !st.ok()) return st.error();
  return w;
}

Status SessionIndexWriter::prepare_statements() {
  auto up = prepare(db_, upsert_sql(), true);
  if (!up.ok()) return up.error();
  auto get = prepare(
      db_, "SELECT high_water, low_seq, sessions FROM audit_sessions_meta WHERE id = 1", true);
  if (!get.ok()) return get.error();
  auto put = prepare(db_,
                     "UPDATE audit_sessions_meta SET high_water = ?1, low_seq = ?2, sessions = ?3"
                     " WHERE id = 1",
                     true);
  if (!put.ok()) return put.error();
  upsert_ = std::move(*up);
  meta_get_ = std::move(*get);
  meta_put_ = std::move(*put);
  return ok_status();
}

Status SessionIndexWriter::catch_up(bool announce) {
  auto sel = prepare(db_,
                     "SELECT seq, time_ns, session_id, type, sub, resource, record FROM"
                     " audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                     false);
  if (!sel.ok()) return sel.error();
  sqlite3_stmt* s = sel->get();
  uint64_t total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (auto st = exec(db_, "BEGIN IMMEDIATE"); !st.ok()) return st;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, high_water_);
    sqlite3_bind_int(s, 2, kCatchUpRows);
    batch_.clear();
    int64_t first = 0, last = 0;
    Status st = ok_status();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      RowView r = row_view(s);
      if (st = accumulate(r); !st.ok()) break;
      if (first == 0) first = r.seq;
      last = r.seq;
      ++total;
    }
    if (st.ok() && rc != SQLITE_DONE) st = db_error(db_, "read audit records");
    sqlite3_reset(s);
    if (st.ok() && last > 0) st = flush(first, last);
    if (st.ok()) st = exec(db_, "COMMIT");
    if (!st.ok()) {
      (void)exec(db_, "ROLLBACK");
      return st;
    }
    if (last == 0) break;
  }
  if (total > 0) {
    spdlog::log(announce && total >= kCatchUpRows ? spdlog::level::info : spdlog::level::debug,
                "audit: session index caught up with {} records in {:.1f} s", total,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return ok_status();
}

Status SessionIndexWriter::add(const std::vector<RowView>& rows) {
  if (rows.empty()) return ok_status();
  // Re-read: another process may have pruned records (then the index is no longer continued).
  sqlite3_stmt* g = meta_get_.get();
  int rc = sqlite3_step(g);
  const bool continues = rc == SQLITE_ROW && sqlite3_column_int64(g, 0) == rows.front().seq - 1;
  if (rc == SQLITE_ROW) {
    high_water_ = sqlite3_column_int64(g, 0);
    low_seq_ = sqlite3_column_int64(g, 1);
    sessions_ = sqlite3_column_int64(g, 2);
  }
  sqlite3_reset(g);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_, "session index: read meta");
  if (!continues) return ok_status();
  batch_.clear();
  for (const RowView& r : rows) {
    if (auto st = accumulate(r); !st.ok()) return st;
  }
  return flush(rows.front().seq, rows.back().seq);
}

Status SessionIndexWriter::accumulate(const RowView& r) {
  if (r.session_id.empty()) return ok_status();
  auto it = batch_.find(r.session_id);
  if (it == batch_.end()) {
    it = batch_.emplace(std::string(r.session_id), Delta{}).first;
    it->second.first_seq = r.seq;
  }
  Delta& d = it->second;
  d.last_seq = r.seq;
  const bool start = !d.starts && audit::starts_session(r.type);
  uint8_t summary = r.summary;
  audit::RecordView v;
  std::optional<audit::Event> full;
  // The ingest knows decision and status from the Event (no line to read); the identity of a
  // starting session and records read back by catch-up come off the line: the few fields needed
  // as spans (RecordView, ~0.3 us, no Event), or a full parse when one holds JSON escapes (rare).
  if (start || !(summary & kSummaryKnown)) {
    if (!audit::parse_record_view(r.record, v)) {
      // Not a record line (tampered): it is left out, as the scan-based list would refuse it.
      spdlog::warn("audit: session index skips malformed record seq {}", r.seq);
      return ok_status();
    }
    if (v.summary_escaped) {
      full = audit::from_json_line(std::string(r.record));
      if (!full) return ok_status();
      summary = summary_bits(full->decision, full->status);
    } else {
      summary = summary_bits(v.decision, v.status);
    }
  }
  d.all.add(r.type, r.time_ns, summary);
  if (start) {
    d.starts = true;
    d.start_seq = r.seq;
    d.start_ns = r.time_ns;
    d.sub = r.sub;
    d.resource = r.resource;
    // The same fields from whichever form was read: spans of the line, or the parsed Event.
    auto identity = [&d](const auto& src) {
      d.issuer = src.issuer;
      d.task_id = src.task_id;
      d.workflow_id = src.workflow_id;
      d.act_sub = src.act_sub;
      d.client_addr = src.client_addr;
      d.client_user = src.client_user;
      d.protocol = src.protocol;
      d.client_tls = src.client_tls;
      d.upstream_tls = src.upstream_tls;
    };
    if (full) {
      identity(*full);
      d.roles = nlohmann::json(full->roles).dump();
    } else {
      identity(v);
      d.roles = v.roles;
    }
  }
  if (d.starts) d.from_start.add(r.type, r.time_ns, summary);
  return ok_status();
}

Status SessionIndexWriter::flush(int64_t first_seq, int64_t high_water) {
  sqlite3_stmt* s = upsert_.get();
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  auto u64 = [&](int i, uint64_t v) { sqlite3_bind_int64(s, i, static_cast<int64_t>(v)); };
  for (const auto& [id, d] : batch_) {
    const Counts& f = d.from_start;  // all zero unless the session starts in this batch
    text(1, id);
    sqlite3_bind_int64(s, 2, d.first_seq);
    sqlite3_bind_int64(s, 3, d.last_seq);
    sqlite3_bind_int64(s, 4, d.start_seq);
    sqlite3_bind_int64(s, 5, d.start_ns);
    sqlite3_bind_int64(s, 6, f.end_ns);
    sqlite3_bind_int64(s, 7, f.last_ns);
    const std::string* ident[] = {&d.sub,      &d.issuer,   &d.task_id,     &d.workflow_id,
                                  &d.act_sub,  &d.roles,    &d.client_addr, &d.client_user,
                                  &d.resource, &d.protocol, &d.client_tls,  &d.upstream_tls};
    for (int i = 0; i < 12; ++i) text(8 + i, *ident[i]);
    u64(20, f.statements);
    u64(21, f.allowed);
    u64(22, f.denied);
    u64(23, f.held);
    u64(24, f.errors);
    sqlite3_bind_int(s, 25, d.all.end_ns != 0 ? 1 : 0);
    sqlite3_bind_int64(s, 26, d.all.end_ns);
    sqlite3_bind_int64(s, 27, d.all.last_ns);
    u64(28, d.all.statements);
    u64(29, d.all.allowed);
    u64(30, d.all.denied);
    u64(31, d.all.held);
    u64(32, d.all.errors);
    int rc = sqlite3_step(s);
    const bool inserted = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) == d.first_seq;
    if (rc == SQLITE_ROW) rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return db_error(db_, "session index: upsert " + id);
    if (inserted) ++sessions_;
  }
  sqlite3_clear_bindings(s);
  batch_.clear();
  if (low_seq_ == 0) low_seq_ = first_seq;  // the first record ever summarised
  high_water_ = high_water;
  sqlite3_stmt* p = meta_put_.get();
  sqlite3_bind_int64(p, 1, high_water_);
  sqlite3_bind_int64(p, 2, low_seq_);
  sqlite3_bind_int64(p, 3, sessions_);
  int rc = sqlite3_step(p);
  sqlite3_reset(p);
  if (rc != SQLITE_DONE) return db_error(db_, "session index: update meta");
  return ok_status();
}

Status reset_session_index(sqlite3* db) {
  auto has = has_table(db, "audit_sessions_meta");
  if (!has.ok()) return has.error();
  if (!*has) return ok_status();
  return exec(db,
              "DELETE FROM audit_sessions; UPDATE audit_sessions_meta SET high_water = 0,"
              " low_seq = 0, sessions = 0");
}

Result<bool> prune_session_index(sqlite3* db, int64_t cut) {
  auto meta = trusted_meta(db);
  if (!meta.ok()) return meta.error();
  if (!meta->has_value() || (*meta)->high_water < cut) return false;
  auto rows = query_int(db, "SELECT count(*) FROM audit_sessions");
  if (!rows.ok()) return rows.error();
  if (rows->value_or(0) != (*meta)->sessions) return false;
  SessionIndexWriter w(db);
  if (auto st = w.prepare_statements(); !st.ok()) return st.error();
  w.high_water_ = (*meta)->high_water;
  w.low_seq_ = cut + 1;

  // The sessions with records on both sides of the cut. A kept start record leaves the summary
  // as it is (it counts from the start on); only first_seq moves, to the first kept record, which
  // is at or before the start record. A pruned start (or none yet) means the remaining records are
  // summarised afresh, through the same accumulate()/flush() as the ingest.
  const std::string straddling = " FROM audit_sessions WHERE first_seq <= ?1 AND last_seq > ?1";
  auto sel = prepare(db, "SELECT session_id, start_seq, last_seq" + straddling, false);
  if (!sel.ok()) return sel.error();
  struct Straddler {
    bool restart = false;
    int64_t new_first = 0;
  };
  std::unordered_map<std::string, Straddler> straddlers;
  int64_t read_to = cut;  // the records to read: (cut, read_to]
  sqlite3_bind_int64(sel->get(), 1, cut);
  int rc;
  while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW) {
    const int64_t start_seq = sqlite3_column_int64(sel->get(), 1);
    const bool restart = start_seq <= cut;  // 0: not started
    straddlers[std::string(column_text(sel->get(), 0))].restart = restart;
    read_to = std::max<int64_t>(read_to, restart ? sqlite3_column_int64(sel->get(), 2) : start_seq);
  }
  if (rc != SQLITE_DONE) return db_error(db, "session index: read straddling sessions");
  read_to =
      std::min<int64_t>(read_to, w.high_water_);  // beyond it the ingest adds records as usual

  if (!straddlers.empty()) {
    // SQLite filters the rows by session (unparsed), so only those sessions' records come back.
    auto rec = prepare(db,
                       std::string("SELECT seq, time_ns, session_id, type, sub, resource, record"
                                   " FROM audit_events WHERE seq > ?1 AND seq <= ?2 AND"
                                   " session_id IN (") +
                           "SELECT session_id" + straddling + ") ORDER BY seq",
                       false);
    if (!rec.ok()) return rec.error();
    sqlite3_stmt* s = rec->get();
    sqlite3_bind_int64(s, 1, cut);
    sqlite3_bind_int64(s, 2, read_to);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      RowView r = row_view(s);
      auto it = straddlers.find(std::string(r.session_id));
      if (it == straddlers.end()) continue;
      if (it->second.new_first == 0) it->second.new_first = r.seq;
      if (it->second.restart) {
        if (auto st = w.accumulate(r); !st.ok()) return st.error();
      }
    }
    if (rc != SQLITE_DONE) return db_error(db, "session index: read straddling records");
  }

  // Rows of sessions wholly before the cut, and of the restarted ones (re-inserted by flush).
  auto del = prepare(db,
                     "DELETE FROM audit_sessions WHERE last_seq <= ?1 OR (first_seq <= ?1 AND"
                     " start_seq <= ?1)",
                     false);
  if (!del.ok()) return del.error();
  sqlite3_bind_int64(del->get(), 1, cut);
  if (sqlite3_step(del->get()) != SQLITE_DONE) return db_error(db, "session index: prune rows");
  auto upd = prepare(db, "UPDATE audit_sessions SET first_seq = ?2 WHERE session_id = ?1", false);
  if (!upd.ok()) return upd.error();
  for (const auto& [id, x] : straddlers) {
    if (x.restart) continue;
    sqlite3_reset(upd->get());
    sqlite3_bind_text(upd->get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    // Not found only if its start row's session_id column was forged: any bound past the cut is
    // still at or before the start record.
    sqlite3_bind_int64(upd->get(), 2, x.new_first != 0 ? x.new_first : cut + 1);
    if (sqlite3_step(upd->get()) != SQLITE_DONE) return db_error(db, "session index: first_seq");
  }
  auto left = query_int(db, "SELECT count(*) FROM audit_sessions");
  if (!left.ok()) return left.error();
  w.sessions_ = left->value_or(0);
  if (auto st = w.flush(cut + 1, w.high_water_); !st.ok()) return st.error();
  return true;
}

Status rebuild_session_index(sqlite3* db) {
  auto w = SessionIndexWriter::open(db, /*announce=*/false);
  if (!w.ok()) return w.error();
  return ok_status();
}

namespace {

// Runs fn inside one read transaction, so everything it reads is one snapshot.
template <class Fn>
auto in_snapshot(sqlite3* db, Fn fn) -> decltype(fn()) {
  if (auto st = exec(db, "BEGIN"); !st.ok()) return st.error();
  auto out = fn();
  (void)exec(db, "COMMIT");  // read-only: nothing to lose
  return out;
}

}  // namespace

Result<std::optional<SessionIndexSnapshot>> read_session_index(sqlite3* db) {
  using Out = Result<std::optional<SessionIndexSnapshot>>;
  return in_snapshot(db, [&]() -> Out {
    auto meta = trusted_meta(db);
    if (!meta.ok()) return meta.error();
    if (!meta->has_value()) return std::optional<SessionIndexSnapshot>();
    auto sel = prepare(db,
                       "SELECT session_id, start_seq, start_ns, end_ns, last_ns, sub, issuer,"
                       " task_id, workflow_id, act_sub, roles, client_addr, client_user, resource,"
                       " protocol, client_tls, upstream_tls, statements, allowed, denied, held,"
                       " errors FROM audit_sessions",
                       false);
    if (!sel.ok()) return sel.error();
    sqlite3_stmt* s = sel->get();
    SessionIndexSnapshot snap;
    snap.high_water = static_cast<uint64_t>((*meta)->high_water);
    int64_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      ++rows;
      if (sqlite3_column_int64(s, 1) == 0) continue;  // no start record yet: not a session
      audit::SessionSummary x;
      x.session_id = column_text(s, 0);
      x.start_ns = sqlite3_column_int64(s, 2);
      x.end_ns = sqlite3_column_int64(s, 3);
      x.last_ns = sqlite3_column_int64(s, 4);
      x.sub = column_text(s, 5);
      x.issuer = column_text(s, 6);
      x.task_id = column_text(s, 7);
      x.workflow_id = column_text(s, 8);
      x.act_sub = column_text(s, 9);
      auto roles = nlohmann::json::parse(column_text(s, 10), nullptr, false);
      if (!roles.is_array()) return std::optional<SessionIndexSnapshot>();
      for (const auto& r : roles) {
        if (!r.is_string()) return std::optional<SessionIndexSnapshot>();
        x.roles.push_back(r.get<std::string>());
      }
      x.client_addr = column_text(s, 11);
      x.client_user = column_text(s, 12);
      x.resource = column_text(s, 13);
      x.protocol = column_text(s, 14);
      x.client_tls = column_text(s, 15);
      x.upstream_tls = column_text(s, 16);
      x.statements = static_cast<uint64_t>(sqlite3_column_int64(s, 17));
      x.allowed = static_cast<uint64_t>(sqlite3_column_int64(s, 18));
      x.denied = static_cast<uint64_t>(sqlite3_column_int64(s, 19));
      x.held = static_cast<uint64_t>(sqlite3_column_int64(s, 20));
      x.errors = static_cast<uint64_t>(sqlite3_column_int64(s, 21));
      snap.sessions.push_back(std::move(x));
    }
    if (rc != SQLITE_DONE) return db_error(db, "session index: read sessions");
    // Rows deleted (or a table recreated) since the meta row was written: sessions could be
    // missing, so the index is not used.
    if (rows != (*meta)->sessions) return std::optional<SessionIndexSnapshot>();
    return std::optional<SessionIndexSnapshot>(std::move(snap));
  });
}

Result<std::optional<SessionBounds>> read_session_bounds(sqlite3* db, const std::string& id) {
  using Out = Result<std::optional<SessionBounds>>;
  return in_snapshot(db, [&]() -> Out {
    auto meta = trusted_meta(db);
    if (!meta.ok()) return meta.error();
    if (!meta->has_value()) return std::optional<SessionBounds>();
    // The row count check costs a pass over the index (not the log): a deleted row would
    // otherwise send replay past the session's records.
    auto rows = query_int(db, "SELECT count(*) FROM audit_sessions");
    if (!rows.ok()) return rows.error();
    if (rows->value_or(0) != (*meta)->sessions) return std::optional<SessionBounds>();
    auto sel =
        prepare(db, "SELECT first_seq, last_seq FROM audit_sessions WHERE session_id = ?1", false);
    if (!sel.ok()) return sel.error();
    sqlite3_stmt* s = sel->get();
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    SessionBounds b;
    b.high_water = static_cast<uint64_t>((*meta)->high_water);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      b.range.emplace(static_cast<uint64_t>(sqlite3_column_int64(s, 0)),
                      static_cast<uint64_t>(sqlite3_column_int64(s, 1)));
    } else if (rc != SQLITE_DONE) {
      return db_error(db, "session index: read bounds");
    }
    return std::optional<SessionBounds>(std::move(b));
  });
}

Result<std::optional<std::vector<audit::SessionSummary>>> indexed_sessions(
    const IndexReads& r, const audit::SessionFilter& f) {
  using Out = std::optional<std::vector<audit::SessionSummary>>;
  Result<std::optional<SessionIndexSnapshot>> snap = std::optional<SessionIndexSnapshot>();
  Status st = r.with_table([&](AuditTable& t) {
    snap = read_session_index(t.handle());
    return ok_status();
  });
  if (!st.ok()) return st.error();
  if (!snap.ok()) return snap.error();
  if (!snap->has_value()) return Out();
  audit::SessionIndex index;
  for (auto& s : (*snap)->sessions) index.seed(std::move(s));
  st = r.scan((*snap)->high_water + 1, [&](const audit::Event& e) {
    index.add(e);
    return true;
  });
  if (!st.ok()) return st.error();
  return Out(index.list(f));
}

Result<bool> indexed_scan_session(const IndexReads& r, const std::string& id,
                                  const std::function<bool(const audit::Event&)>& fn) {
  Result<std::optional<SessionBounds>> b = std::optional<SessionBounds>();
  Status st = r.with_table([&](AuditTable& t) {
    b = read_session_bounds(t.handle(), id);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  if (!b.ok()) return b.error();
  if (!b->has_value()) return false;
  const SessionBounds& bounds = **b;
  if (bounds.range) {
    // Records up to the high-water mark are in SQLite (the journal only adds newer ones).
    bool stopped = false;
    st = r.with_table([&](AuditTable& t) {
      return t.scan_session(bounds.range->first, bounds.range->second, id,
                            [&](const audit::Event& e) {
                              stopped = !fn(e);
                              return !stopped;
                            });
    });
    if (!st.ok()) return st.error();
    if (stopped) return true;
  }
  st = r.scan(bounds.high_water + 1, fn);
  if (!st.ok()) return st.error();
  return true;
}

}  // namespace phigate::store::sqlite_detail
