// The SQLite store's session index (sqlite_sessions.h): `sessions list` and `replay` answered from
// it must equal the scan-based answers (audit::Store's defaults over every record) for the same
// store, whatever transactions the records went in, after a crash, and when the index was damaged.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <random>
#include <sstream>

#include "../temp_dir.h"
#include "audit/canonical.h"
#include "audit/session_review.h"
#include "sqlite_probe.h"
#include "store/sqlite/sqlite_retention.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

using audit::Event;
using phigate::testing::TempDir;
using testing::exec_sql;
using testing::sqlite_int;

// Interleaved sessions: PostgreSQL-like (start, statements allowed/denied/held, results ok and
// error, end), HTTP connections (requests and results, no session_start), an auth failure that
// never became a session, one whose auth failure precedes its start, sessions still open,
// records without a session, and identity text that needs JSON escapes.
class Workload {
 public:
  explicit Workload(unsigned seed) : rng_(seed) {}

  std::vector<Event> next(size_t n) {
    std::vector<Event> out;
    for (size_t i = 0; i < n; ++i) out.push_back(one());
    return out;
  }

 private:
  Event base(const std::string& sid, const std::string& type) {
    Event e;
    e.seq = ++seq_;
    e.node_id = "gw-1";
    e.time_ns = 1700000000000000000 + static_cast<int64_t>(seq_) * 1000;
    e.session_id = sid;
    e.type = type;
    const int k = sid.empty() ? 0 : sid.back() % 4;
    e.sub = k == 0 ? "alice" : k == 1 ? "bob" : k == 2 ? "etl-worker" : "carol \"c\"";
    if (k == 2) {
      e.task_id = "t1";
      e.workflow_id = "wf";
      e.act_sub = "hannah";
    }
    e.issuer = "local";
    e.roles = k == 3 ? std::vector<std::string>{"r\\1", "r\"2"} : std::vector<std::string>{"a"};
    e.client_addr = "10.0.0." + std::to_string(k) + ":5432";
    e.client_user = k == 1 ? "b\xC3\xB6" : "app";
    const bool http = sid.rfind("h", 0) == 0;
    e.resource = http ? "api" : (k % 2 ? "labs" : "clinic");
    e.protocol = http ? "http" : "postgres";
    if (!http && k != 1) {
      e.client_tls = "tls";
      e.upstream_tls = "prefer:plain";
    }
    e.prev_hash = prev_;
    e.hash = audit::chain_hash(prev_, audit::canonical_json(e));
    prev_ = e.hash;
    return e;
  }

  Event one() {
    std::uniform_int_distribution<int> pick(0, 99);
    const int r = pick(rng_);
    // Start a new session now and then; otherwise continue one that is open.
    if (open_.empty() || r < 8) {
      const int kind = pick(rng_) % 4;
      std::string sid = (kind == 0 ? "h" : "p") + std::to_string(next_id_++);
      if (kind == 1) {
        open_.push_back(sid);
        pending_start_.push_back(sid);
        return finish(base(sid, "auth_failure"));  // its start comes later (or never)
      }
      open_.push_back(sid);
      return finish(base(sid, kind == 0 ? "http_request" : "session_start"), true);
    }
    if (r < 10) return finish(base("", "admin_request"));
    if (r < 12) return finish(base("x" + std::to_string(next_id_++), "auth_failure"));
    const std::string sid = open_[static_cast<size_t>(pick(rng_)) % open_.size()];
    if (auto it = std::find(pending_start_.begin(), pending_start_.end(), sid);
        it != pending_start_.end()) {
      pending_start_.erase(it);
      return finish(base(sid, "session_start"), true);
    }
    const bool http = sid[0] == 'h';
    if (r < 16) {
      open_.erase(std::find(open_.begin(), open_.end(), sid));
      return finish(base(sid, http ? "http_result" : "session_end"));
    }
    if (r < 55) return finish(base(sid, http ? "http_request" : "statement"), true);
    if (r < 60) return finish(base(sid, "cancel"));
    return finish(base(sid, http ? "http_result" : "result"));
  }

  // Fills the type-specific fields, then re-hashes (base() hashed the bare record).
  Event finish(Event e, bool decided = false) {
    std::uniform_int_distribution<int> pick(0, 9);
    if (decided && e.type != "session_start") {
      const int d = pick(rng_);
      e.decision = d < 6 ? "allow" : d < 8 ? "deny" : d < 9 ? "hold" : "error";
      e.action = "SELECT 1 /* \"q\" */";
      e.statement_kind = "select";
      last_stmt_ = e.seq;
    }
    if (e.type == "result" || e.type == "http_result") {
      e.status = pick(rng_) < 3 ? "error" : "ok";
      e.ref_seq = pick(rng_) < 5 ? last_stmt_ : 0;
      e.rows = 3;
    }
    e.hash = audit::chain_hash(e.prev_hash, audit::canonical_json(e));
    prev_ = e.hash;
    return e;
  }

  std::mt19937 rng_;
  uint64_t seq_ = 0, last_stmt_ = 0;
  std::string prev_ = audit::kGenesisHash;
  int next_id_ = 0;
  std::vector<std::string> open_, pending_start_;
};

std::string dump(const std::vector<audit::SessionSummary>& v) {
  std::ostringstream o;
  for (const auto& s : v) {
    o << s.session_id << "|" << s.start_ns << "|" << s.end_ns << "|" << s.last_ns << "|" << s.sub
      << "|" << s.issuer << "|" << s.task_id << "|" << s.workflow_id << "|" << s.act_sub << "|";
    for (const auto& r : s.roles) o << r << ",";
    o << "|" << s.client_addr << "|" << s.client_user << "|" << s.resource << "|" << s.protocol
      << "|" << s.client_tls << "|" << s.upstream_tls << "|" << s.statements << "|" << s.allowed
      << "|" << s.denied << "|" << s.held << "|" << s.errors << "\n";
  }
  return o.str();
}

std::string describe(const audit::Timeline& tl) {
  std::ostringstream o;
  if (tl.first()) o << audit::to_json_line(*tl.first()) << "\n";
  for (const auto& t : tl.entries()) {
    o << t.seq << " " << t.type << " " << t.decision << " " << t.has_result << " " << t.status
      << "\n";
  }
  return o.str();
}

// replay through the index.
std::string indexed_timeline(audit::Store& st, const std::string& sid) {
  audit::Timeline tl(sid);
  Status s = st.scan_session(sid, [&](const Event& e) {
    tl.add(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.error().message;
  return describe(tl);
}

// Every filter combination, and replay of every session id (plus unknown ones), index vs scan.
void expect_same_as_scan(audit::Store& st, int sessions_hint) {
  const int64_t t0 = 1700000000000000000;
  const int64_t times[] = {std::numeric_limits<int64_t>::min(), t0 + 50'000, t0 + 200'000,
                           std::numeric_limits<int64_t>::max()};
  // The scan-based answer: audit::Store's default, i.e. SessionIndex over every record (built once
  // here rather than once per filter).
  audit::SessionIndex scanned;
  ASSERT_TRUE(st.scan(0, [&](const Event& e) {
                  scanned.add(e);
                  return true;
                }).ok());
  for (const char* identity : {"", "alice", "hannah", "carol \"c\"", "nobody"}) {
    for (const char* resource : {"", "clinic", "api"}) {
      for (const char* task : {"", "t1"}) {
        for (int64_t since : times) {
          for (int64_t until : times) {
            audit::SessionFilter f;
            f.identity = identity;
            f.resource = resource;
            f.task_id = task;
            f.since_ns = since;
            f.until_ns = until;
            auto a = st.sessions(f);
            ASSERT_TRUE(a.ok()) << a.error().message;
            ASSERT_EQ(dump(*a), dump(scanned.list(f)))
                << identity << " " << resource << " " << since;
          }
        }
      }
    }
  }
  auto b = st.audit::Store::sessions({});  // the default itself, once
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(dump(*b), dump(scanned.list({})));
  EXPECT_GE(static_cast<int>(b->size()), sessions_hint);
  std::vector<std::string> ids = {"nope", "x1", "x5", "p3", "h0"};
  for (const auto& s : *b) ids.push_back(s.session_id);
  std::vector<audit::Timeline> scanned_tl;  // replay over every record, all ids in one pass
  for (const auto& id : ids) scanned_tl.emplace_back(id);
  ASSERT_TRUE(st.scan(0, [&](const Event& e) {
                  for (auto& tl : scanned_tl) tl.add(e);
                  return true;
                }).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(indexed_timeline(st, ids[i]), describe(scanned_tl[i])) << ids[i];
  }
}

// The same through a read-only opener of the file (another process: journal tail included).
void expect_readonly_same_as_scan(const std::string& path, int sessions_hint) {
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  expect_same_as_scan(**ro, sessions_hint);
}

SqliteOptions small_ingest() {
  SqliteOptions o;
  o.ingest_records = 7;  // many small transactions: sessions span them
  o.ingest_interval = std::chrono::milliseconds(1);
  return o;
}

TEST(SqliteSessions, IndexAnswersEqualScanForEveryFilter) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(1);
  auto st = open_sqlite_audit_store(path, small_ingest());
  ASSERT_TRUE(st.ok()) << st.error().message;
  std::mt19937 rng(2);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE((*st)->append(w.next(1 + rng() % 40)).ok());
    if (i % 20 == 0) expect_same_as_scan(**st, 0);
  }
  expect_same_as_scan(**st, 20);
  // The index really is there (one row per session id seen) and at the newest record.
  EXPECT_GT(sqlite_int(path, "SELECT count(*) FROM audit_sessions"), 20);
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"),
            sqlite_int(path, "SELECT max(seq) FROM audit_events"));
  // A read-only reader in another "process" (the CLI) agrees too.
  expect_readonly_same_as_scan(path, 20);
}

TEST(SqliteSessions, ReadOnlyReaderMergesTheJournalTail) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(3);
  SqliteOptions o;
  o.background_ingest = false;  // records stay in the journal until close
  {
    auto st = open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->append(w.next(400)).ok());
  }
  auto st = open_sqlite_audit_store(path, o);
  ASSERT_TRUE(st.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*st)->append(w.next(30)).ok());
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 400);
  expect_same_as_scan(**ro, 10);
}

TEST(SqliteSessions, CrashLeavesJournalAndReopenCatchesUp) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(4);
  SqliteOptions o;
  o.background_ingest = false;
  {
    auto st = open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->append(w.next(300)).ok());
  }
  // A writer that dies without closing (no destructor: nothing ingested, the journal stays).
  std::vector<Event> tail = w.next(250);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto st = open_sqlite_audit_store(path, o);
    bool ok = st.ok() && (*st)->append(tail).ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 300);
  expect_readonly_same_as_scan(path, 10);
  // Reopening ingests the journal, and the index with it, in the same transactions.
  auto st = open_sqlite_audit_store(path, o);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 550);
  expect_same_as_scan(**st, 10);
}

// A store at `path` holding the workload's next `n` records, closed again.
void seed(const std::string& path, Workload& w, int n) {
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->append(w.next(n)).ok());
}

// What an older phigate (no index) does: rows go in, the index lags.
void insert_behind_the_index(const std::string& path, const std::vector<Event>& events) {
  std::string sql = "BEGIN;";
  for (const Event& e : events) {
    std::string line = audit::to_json_line(e), q;
    for (char c : line) q += c == '\'' ? std::string("''") : std::string(1, c);
    sql += "INSERT INTO audit_events VALUES (" + std::to_string(e.seq) + "," +
           std::to_string(e.time_ns) + ",'" + e.session_id + "','" + e.type + "','" + e.sub +
           "','" + e.resource + "','" + q + "','" + e.hash + "');";
  }
  exec_sql(path, sql + "COMMIT;");
}

TEST(SqliteSessions, RecordsWrittenWithoutTheIndexAreCaughtUp) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(5);
  seed(path, w, 200);
  insert_behind_the_index(path, w.next(200));  // an older phigate appends more
  expect_readonly_same_as_scan(path, 10);      // index up to 200, the rest read as records
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 400);
  expect_same_as_scan(**st, 10);
}

TEST(SqliteSessions, DamagedIndexCannotHideSessions) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(6);
  seed(path, w, 500);
  const int rows = sqlite_int(path, "SELECT count(*) FROM audit_sessions");
  auto all_ids = [&] {
    auto ro = open_sqlite_audit_store_readonly(path);
    EXPECT_TRUE(ro.ok());
    auto s = (*ro)->sessions({});
    EXPECT_TRUE(s.ok());
    return dump(*s);
  };
  const std::string want = all_ids();
  // A row deleted: readers no longer trust the index (they scan), the writer rebuilds it.
  exec_sql(path,
           "DELETE FROM audit_sessions WHERE session_id = (SELECT session_id FROM"
           " audit_sessions WHERE start_seq != 0 LIMIT 1)");
  EXPECT_EQ(all_ids(), want);
  expect_readonly_same_as_scan(path, 10);
  ASSERT_TRUE(open_sqlite_audit_store(path).ok());
  EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_sessions"), rows);
  EXPECT_EQ(all_ids(), want);
  // The table dropped (a newer binary recreates it empty under the old meta row): rebuilt.
  exec_sql(path, "DROP TABLE audit_sessions");
  EXPECT_EQ(all_ids(), want);
  ASSERT_TRUE(open_sqlite_audit_store(path).ok());
  EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_sessions"), rows);
  EXPECT_EQ(all_ids(), want);
  // Records pruned behind the index's back (low_seq moves): not trusted, rebuilt on open.
  exec_sql(path, "DELETE FROM audit_events WHERE seq <= 100");
  expect_readonly_same_as_scan(path, 5);
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(sqlite_int(path, "SELECT low_seq FROM audit_sessions_meta"), 101);
  expect_same_as_scan(**st, 5);
}

TEST(SqliteSessions, PruningRebuildsTheIndexWhileTheGatewayWrites) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(7);
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->append(w.next(600)).ok());
  ASSERT_TRUE((*st)->last().ok());  // ingested: the prune needs record 201 in SQLite
  audit::Anchor a;
  a.tree_size = 200;
  a.last_hash = std::string(64, '0');
  ASSERT_TRUE(prune_sqlite_audit_store(path, a).ok());
  EXPECT_EQ(sqlite_int(path, "SELECT low_seq FROM audit_sessions_meta"), 201);
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 600);
  // The running writer continues the rebuilt index.
  ASSERT_TRUE((*st)->append(w.next(100)).ok());
  expect_same_as_scan(**st, 5);
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 700);
  expect_readonly_same_as_scan(path, 5);
}

// Every index row, every column, in session_id order: what two indexes must agree on.
std::string index_rows(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(db, "SELECT * FROM audit_sessions ORDER BY session_id", -1, &s, nullptr),
      SQLITE_OK);
  std::string out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
      out += t ? t : "NULL";
      out += '|';
    }
    out += '\n';
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// The index a full rebuild makes from the same records: a copy of the file whose meta row is
// gone, opened by a writer (which rebuilds an untrustworthy index).
std::string rebuilt_rows(const TempDir& dir, const std::string& path) {
  const std::string copy = dir.file("rebuilt.db");
  std::filesystem::remove(copy);
  exec_sql(path, "VACUUM INTO '" + copy + "'");
  exec_sql(copy, "DELETE FROM audit_sessions_meta");
  EXPECT_TRUE(open_sqlite_audit_store(copy).ok());
  return index_rows(copy);
}

// A well-formed anchor (the next prune reads it back); its hashes are not checked here.
Status prune_at(const std::string& path, uint64_t cut) {
  audit::Anchor a;
  a.tree_size = cut;
  a.last_hash = std::string(64, '0');
  a.frontier.resize(static_cast<size_t>(std::popcount(cut)));
  a.retention = "1h";
  return prune_sqlite_audit_store(path, a);
}

// Appends the records as a phigate without the index would: rows only, the index lags.
// Sessions with rows on both sides of the cut, split by whether their start record is kept.
std::pair<int, int> straddling(const std::string& path, uint64_t cut) {
  const std::string c = std::to_string(cut);
  const std::string q = "SELECT count(*) FROM audit_sessions WHERE first_seq <= " + c +
                        " AND last_seq > " + c + " AND start_seq ";
  return {sqlite_int(path, (q + "> " + c).c_str()), sqlite_int(path, (q + "<= " + c).c_str())};
}

TEST(SqliteSessions, PruneThroughSessionsUpdatesTheIndexInPlace) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(8);
  auto st = open_sqlite_audit_store(path, small_ingest());
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->append(w.next(900)).ok());
  ASSERT_TRUE((*st)->last().ok());  // ingested: the prune needs record cut + 1 in SQLite
  // The cuts go through sessions whose start is kept and ones whose start goes (HTTP ones then
  // start again at their next request, PostgreSQL ones drop out of the list).
  int kept_start = 0, lost_start = 0;
  for (uint64_t cut : {100, 300, 301, 600}) {
    SCOPED_TRACE("cut " + std::to_string(cut));
    auto [kept, lost] = straddling(path, cut);
    kept_start += kept;
    lost_start += lost;
    Status pruned = prune_at(path, cut);
    ASSERT_TRUE(pruned.ok()) << pruned.error().message;
    EXPECT_EQ(sqlite_int(path, "SELECT low_seq FROM audit_sessions_meta"),
              static_cast<int>(cut + 1));
    EXPECT_EQ(sqlite_int(path, "SELECT sessions FROM audit_sessions_meta"),
              sqlite_int(path, "SELECT count(*) FROM audit_sessions"));
    // Row for row what a full rebuild makes (so listing and replay agree with the scan, as the
    // other tests show for rebuilt indexes); the answers themselves checked at two cuts.
    EXPECT_EQ(index_rows(path), rebuilt_rows(dir, path));
    if (cut == 100 || cut == 600) expect_readonly_same_as_scan(path, 5);
  }
  EXPECT_GT(kept_start, 0);
  EXPECT_GT(lost_start, 5);
  // The running writer continues the index the prune updated.
  ASSERT_TRUE((*st)->append(w.next(100)).ok());
  expect_same_as_scan(**st, 5);
  EXPECT_EQ(index_rows(path), rebuilt_rows(dir, path));
}

TEST(SqliteSessions, PruneDropsSessionsThatEndBeforeTheCut) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(9);
  seed(path, w, 950);
  const int gone = sqlite_int(path, "SELECT count(*) FROM audit_sessions WHERE last_seq <= 600");
  const int rows = sqlite_int(path, "SELECT count(*) FROM audit_sessions");
  EXPECT_GT(gone, 10);
  // Records an older binary appended behind the index: the in-place update leaves the high-water
  // mark where it was (a rebuild would have caught up to them), and the next writer catches up.
  insert_behind_the_index(path, w.next(50));
  Status pruned = prune_at(path, 600);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 950);
  EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_sessions WHERE last_seq <= 600"), 0);
  EXPECT_LE(sqlite_int(path, "SELECT count(*) FROM audit_sessions"), rows - gone);
  expect_readonly_same_as_scan(path, 5);
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 1000);
  expect_same_as_scan(**st, 5);
  EXPECT_EQ(index_rows(path), rebuilt_rows(dir, path));
}

TEST(SqliteSessions, PruneRebuildsAnIndexItCannotTrust) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  Workload w(10);
  seed(path, w, 800);
  // A row deleted behind the index's back: updating it in place would keep the hole.
  exec_sql(path,
           "DELETE FROM audit_sessions WHERE session_id = (SELECT session_id FROM audit_sessions"
           " WHERE start_seq > 500 LIMIT 1)");
  Status pruned = prune_at(path, 300);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(sqlite_int(path, "SELECT sessions FROM audit_sessions_meta"),
            sqlite_int(path, "SELECT count(*) FROM audit_sessions"));
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 800);
  EXPECT_EQ(index_rows(path), rebuilt_rows(dir, path));
  expect_readonly_same_as_scan(path, 5);
  // An index that stops short of the cut (records appended without it): rebuilt too.
  exec_sql(path, "UPDATE audit_sessions_meta SET high_water = 350");
  pruned = prune_at(path, 400);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(sqlite_int(path, "SELECT high_water FROM audit_sessions_meta"), 800);
  EXPECT_EQ(index_rows(path), rebuilt_rows(dir, path));
  expect_readonly_same_as_scan(path, 5);
}

}  // namespace
}  // namespace phigate::store
