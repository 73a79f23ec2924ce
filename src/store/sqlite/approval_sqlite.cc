#include "store/sqlite/approval_sqlite.h"

#include <sqlite3.h>

#include <filesystem>
#include <mutex>

namespace phigate::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kColumns =
    "id, kind, state, sub, issuer, act_sub, session_id, resource, protocol, rule, role, summary, "
    "fingerprint, reason, created_ns, deadline_ns, decided_ns, reviewer_sub, reviewer_issuer, "
    "decision_reason, duration_ns, grant_expires_ns";
constexpr int kColumnCount = 22;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Error db_error(sqlite3* db, std::string_view what) {
  return make_error("store", std::string(what) + ": " + sqlite3_errmsg(db));
}

std::string col_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

ApprovalRecord read_row(sqlite3_stmt* s) {
  ApprovalRecord r;
  int i = 0;
  for (std::string* f :
       {&r.id, &r.kind, &r.state, &r.sub, &r.issuer, &r.act_sub, &r.session_id, &r.resource,
        &r.protocol, &r.rule, &r.role, &r.summary, &r.fingerprint, &r.reason})
    *f = col_text(s, i++);
  r.created_ns = sqlite3_column_int64(s, i++);
  r.deadline_ns = sqlite3_column_int64(s, i++);
  r.decided_ns = sqlite3_column_int64(s, i++);
  for (std::string* f : {&r.reviewer_sub, &r.reviewer_issuer, &r.decision_reason})
    *f = col_text(s, i++);
  r.duration_ns = sqlite3_column_int64(s, i++);
  r.grant_expires_ns = sqlite3_column_int64(s, i++);
  return r;
}

class SqliteApprovalStore : public ApprovalStore {
 public:
  explicit SqliteApprovalStore(sqlite3* db) : db_(db) {}
  ~SqliteApprovalStore() override { sqlite3_close_v2(db_); }

  Status init() {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    const char* schema =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS approvals(id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "state TEXT NOT NULL, sub TEXT, issuer TEXT, act_sub TEXT, session_id TEXT, resource TEXT, "
        "protocol TEXT, rule TEXT, role TEXT, summary TEXT, fingerprint TEXT, reason TEXT, "
        "created_ns INTEGER, deadline_ns INTEGER, decided_ns INTEGER, reviewer_sub TEXT, "
        "reviewer_issuer TEXT, decision_reason TEXT, duration_ns INTEGER, "
        "grant_expires_ns INTEGER);"
        "CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state, created_ns);"
        "PRAGMA user_version = 1;";
    if (sqlite3_exec(db_, schema, nullptr, nullptr, nullptr) != SQLITE_OK)
      return db_error(db_, "approvals schema");
    return ok_status();
  }

  Status put(const ApprovalRecord& r) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("INSERT OR REPLACE INTO approvals(") + kColumns +
                      ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    auto st = prepare(sql);
    if (!st) return st.error();
    sqlite3_stmt* s = st->get();
    int i = 1;
    for (const std::string* f :
         {&r.id, &r.kind, &r.state, &r.sub, &r.issuer, &r.act_sub, &r.session_id, &r.resource,
          &r.protocol, &r.rule, &r.role, &r.summary, &r.fingerprint, &r.reason})
      sqlite3_bind_text(s, i++, f->data(), static_cast<int>(f->size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, i++, r.created_ns);
    sqlite3_bind_int64(s, i++, r.deadline_ns);
    sqlite3_bind_int64(s, i++, r.decided_ns);
    for (const std::string* f : {&r.reviewer_sub, &r.reviewer_issuer, &r.decision_reason})
      sqlite3_bind_text(s, i++, f->data(), static_cast<int>(f->size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, i++, r.duration_ns);
    sqlite3_bind_int64(s, i++, r.grant_expires_ns);
    if (sqlite3_step(s) != SQLITE_DONE) return db_error(db_, "approvals insert");
    return ok_status();
  }

  Result<std::optional<ApprovalRecord>> get(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto st = prepare(std::string("SELECT ") + kColumns + " FROM approvals WHERE id = ?");
    if (!st) return st.error();
    sqlite3_bind_text(st->get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(st->get());
    if (rc == SQLITE_ROW) return std::optional<ApprovalRecord>(read_row(st->get()));
    if (rc == SQLITE_DONE) return std::optional<ApprovalRecord>();
    return db_error(db_, "approvals get");
  }

  Result<std::vector<ApprovalRecord>> list(const std::string& state, const std::string& kind,
                                           size_t limit) override {
    std::lock_guard lock(mu_);
    auto st = prepare(std::string("SELECT ") + kColumns +
                      " FROM approvals WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR kind = ?2) "
                      "ORDER BY created_ns DESC, id LIMIT ?3");
    if (!st) return st.error();
    sqlite3_bind_text(st->get(), 1, state.data(), static_cast<int>(state.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st->get(), 2, kind.data(), static_cast<int>(kind.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st->get(), 3, static_cast<int64_t>(limit));
    return collect(st->get());
  }

  Result<std::vector<ApprovalRecord>> active_grants(int64_t now_ns) override {
    std::lock_guard lock(mu_);
    auto st = prepare(std::string("SELECT ") + kColumns +
                      " FROM approvals WHERE kind = 'access' AND state = 'approved' AND "
                      "grant_expires_ns > ? ORDER BY created_ns");
    if (!st) return st.error();
    sqlite3_bind_int64(st->get(), 1, now_ns);
    return collect(st->get());
  }

 private:
  Result<Stmt> prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return db_error(db_, "prepare");
    return Stmt(s);
  }
  Result<std::vector<ApprovalRecord>> collect(sqlite3_stmt* s) {
    std::vector<ApprovalRecord> out;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return db_error(db_, "approvals query");
      if (sqlite3_column_count(s) != kColumnCount) return make_error("store", "bad row");
      out.push_back(read_row(s));
    }
  }

  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<ApprovalStore>> open_sqlite_approval_store(const std::string& path) {
  if (path != ":memory:") {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return make_error("store", "cannot create " + parent.string() + ": " + ec.message());
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = make_error("store", "open " + path + ": " + (db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close_v2(db);
    return e;
  }
  auto store = std::make_unique<SqliteApprovalStore>(db);
  if (auto st = store->init(); !st) return st.error();
  return std::unique_ptr<ApprovalStore>(std::move(store));
}

}  // namespace phigate::store
