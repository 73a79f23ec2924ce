#include "../temp_dir.h"
#include "sqlite_probe.h"
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <future>

#include "audit/canonical.h"
#include "audit/log.h"

namespace phigate::store {
namespace {

using audit::Event;

using phigate::testing::TempDir;
using testing::exec_sql;

Event ev(int i) {
  Event e;
  e.time_ns = 1700000000000000000 + i;
  e.session_id = "s" + std::to_string(i % 3);
  e.type = "statement";
  e.sub = i % 2 ? "alice" : "bob";
  e.groups = {"analysts"};
  e.resource = "clinic";
  e.protocol = "postgres";
  e.action = "SELECT name, ssn FROM patients WHERE id = $1";
  e.parameters = {std::to_string(i)};
  e.decision = "allow";
  e.status = "ok";
  e.rows = 5;
  e.masked = {{"US_SSN", 5}};
  return e;
}

// Writes n records through a real Log, then closes it (the file is left for tampering).
void write_chain(const std::string& path, int n) {
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok()) << st.error().message;
  audit::Log log(std::move(*st), "gw-1");
  ASSERT_TRUE(log.open().ok());
  for (int i = 1; i <= n; ++i) log.append(ev(i));
  log.flush();
  ASSERT_EQ(log.last_seq(), uint64_t(n));
  ASSERT_FALSE(log.failed());
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// "ok N" or the verify error message.
std::string verify(const std::string& path) {
  auto st = open_sqlite_audit_store_readonly(path);
  if (!st.ok()) return "open: " + st.error().message;
  auto v = audit::verify_chain(**st);
  if (v.ok()) return "ok " + std::to_string(*v);
  EXPECT_EQ(v.error().code, "tampered") << v.error().message;
  return v.error().message;
}

Event read(const std::string& path, uint64_t seq) {
  auto st = open_sqlite_audit_store_readonly(path);
  Event out;
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE((*st)
                  ->scan(seq,
                         [&](const Event& e) {
                           out = e;
                           return false;
                         })
                  .ok());
  return out;
}

TEST(SqliteStore, AppendScanLastAndReopen) {
  TempDir dir;
  std::string path = dir.file("nested/deeper/audit.db");
  {
    auto st = open_sqlite_audit_store(path, "full");
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto& s = **st;
    auto last = s.last();
    ASSERT_TRUE(last.ok());
    EXPECT_FALSE(last->has_value());
    std::vector<Event> batch;
    std::string prev = audit::kGenesisHash;
    for (int i = 1; i <= 10; ++i) {
      Event e = ev(i);
      e.seq = i;
      e.node_id = "gw-1";
      e.prev_hash = prev;
      e.hash = audit::chain_hash(prev, audit::canonical_json(e));
      prev = e.hash;
      batch.push_back(e);
    }
    ASSERT_TRUE(s.append(batch).ok());
    last = s.last();
    ASSERT_TRUE(last.ok() && last->has_value());
    EXPECT_EQ((*last)->seq, 10u);
    EXPECT_EQ((*last)->hash, prev);
    std::vector<uint64_t> seen;
    ASSERT_TRUE(s.scan(4, [&](const Event& e) {
                   seen.push_back(e.seq);
                   return e.seq < 7;
                 }).ok());
    EXPECT_EQ(seen, (std::vector<uint64_t>{4, 5, 6, 7}));
    // A duplicate seq fails the whole batch and leaves nothing behind.
    Event dup = batch[0];
    Event fresh = batch[9];
    fresh.seq = 11;
    EXPECT_FALSE(s.append({fresh, dup}).ok());
    last = s.last();
    EXPECT_EQ((*last)->seq, 10u);
    // And the store is still usable afterwards.
    ASSERT_TRUE(s.append({fresh}).ok());
  }
  // `fresh` is record 10 with only its seq changed, so its hash no longer matches.
  EXPECT_EQ(verify(path), "seq 11: hash mismatch \xE2\x80\x94 record edited");
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok()) << ro.error().message;
  EXPECT_FALSE((*ro)->append({ev(1)}).ok());
}

TEST(SqliteStore, OpenErrors) {
  TempDir dir;
  auto missing = open_sqlite_audit_store_readonly(dir.file("nope.db"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
  EXPECT_FALSE(open_sqlite_audit_store(dir.file("a.db"), "sometimes").ok());
  exec_sql(dir.file("future.db"), "PRAGMA user_version = 99");
  EXPECT_FALSE(open_sqlite_audit_store(dir.file("future.db")).ok());
  EXPECT_FALSE(open_sqlite_audit_store_readonly(dir.file("future.db")).ok());
}

TEST(SqliteStore, LogEndToEndWithRestartAndWalMode) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_chain(path, 100);
  {
    auto st = open_sqlite_audit_store(path);
    ASSERT_TRUE(st.ok());
    audit::Log log(std::move(*st), "gw-2");
    ASSERT_TRUE(log.open().ok());
    EXPECT_EQ(log.last_seq(), 100u);
    std::promise<Result<uint64_t>> p;
    log.append(ev(101), [&](Result<uint64_t> r) { p.set_value(r); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 101u);
    // A reader in the same process, on its own connection, sees committed records while the log
    // is still open (WAL).
    EXPECT_EQ(verify(path), "ok 101");
  }
  EXPECT_EQ(read(path, 101).node_id, "gw-2");
  EXPECT_EQ(read(path, 50).node_id, "gw-1");
  EXPECT_EQ(read(path, 50).masked.at("US_SSN"), 5u);
}

TEST(SqliteStore, InvalidUtf8SurvivesStorage) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  {
    auto st = open_sqlite_audit_store(path);
    ASSERT_TRUE(st.ok());
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    Event e = ev(1);
    e.sub = "al\xffice";
    e.session_id = std::string("s\0\x80", 3);
    e.action = "SELECT '\xc0\xaf' -- \"quoted\" \\ \n\t";
    e.parameters = {"\xed\xa0\x80", std::string(1, '\0')};
    log.append(e);
    log.flush();
    EXPECT_FALSE(log.failed());
  }
  EXPECT_EQ(verify(path), "ok 1");
  EXPECT_EQ(read(path, 1).sub, "al\xef\xbf\xbdice");
}

int audit_index_count(const std::string& path) {
  return testing::sqlite_int(
      path,
      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events'");
}

// Secondary indexes cost the ingest and no reader uses them: new stores have none, and the
// indexes of stores written by earlier versions go when a writer opens them; the rows stay.
TEST(SqliteStore, NoSecondaryIndexesAndOldOnesAreDropped) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_chain(path, 20);
  EXPECT_EQ(audit_index_count(path), 0);
  // As the first versions created them.
  exec_sql(path,
           "CREATE INDEX audit_events_session ON audit_events(session_id);"
           "CREATE INDEX audit_events_time ON audit_events(time_ns);"
           "CREATE INDEX audit_events_sub ON audit_events(sub);");
  ASSERT_EQ(audit_index_count(path), 3);
  // Readers never change the file.
  EXPECT_EQ(verify(path), "ok 20");
  EXPECT_EQ(audit_index_count(path), 3);
  {
    auto st = open_sqlite_audit_store(path);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(audit_index_count(path), 0);
    audit::Log log(std::move(*st), "gw-2");
    ASSERT_TRUE(log.open().ok());
    log.append(ev(21));
    log.flush();
    EXPECT_FALSE(log.failed());
  }
  EXPECT_EQ(verify(path), "ok 21");
  EXPECT_EQ(read(path, 7).session_id, "s1");
  EXPECT_EQ(read(path, 21).node_id, "gw-2");
  EXPECT_EQ(testing::sqlite_int(path, "PRAGMA user_version"),
            kSqliteSchemaVersion);  // no bump: older binaries still read the file
}

int page_size(const std::string& path) { return testing::sqlite_int(path, "PRAGMA page_size"); }

// New stores get 64 KiB pages (cheaper ingest per record); a file that already has another page
// size keeps it and works as before.
TEST(SqliteStore, NewStoresUseLargePagesOldOnesKeepTheirs) {
  TempDir dir;
  std::string fresh = dir.file("fresh.db");
  write_chain(fresh, 300);
  EXPECT_EQ(page_size(fresh), 65536);
  EXPECT_EQ(verify(fresh), "ok 300");
  std::string old = dir.file("old.db");
  exec_sql(old, "PRAGMA page_size = 16384; CREATE TABLE unrelated (x INTEGER);");
  ASSERT_EQ(page_size(old), 16384);
  write_chain(old, 300);
  EXPECT_EQ(page_size(old), 16384);
  EXPECT_EQ(verify(old), "ok 300");
}

// Tampering with the file behind phigate's back, the way an attacker with file access would.
class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("audit.db");
    write_chain(path_, 10);
    ASSERT_EQ(verify(path_), "ok 10");
  }
  void sql(const std::string& s) { exec_sql(path_, s); }
  TempDir dir_;
  std::string path_;
};

TEST_F(Tamper, EditRecordJson) {
  sql("UPDATE audit_events SET record = replace(record, '\"rows\":5', '\"rows\":0') WHERE seq = 4");
  EXPECT_EQ(verify(path_), "seq 4: hash mismatch \xE2\x80\x94 record edited");
}

TEST_F(Tamper, EditRecordAndRecomputeItsHash) {
  Event e = read(path_, 4);
  e.rows = 0;
  e.hash = audit::chain_hash(e.prev_hash, audit::canonical_json(e));
  sql("UPDATE audit_events SET record = " + sql_quote(audit::to_json_line(e)) +
      ", hash = " + sql_quote(e.hash) + " WHERE seq = 4");
  EXPECT_EQ(verify(path_), "seq 5: prev_hash does not match seq 4");
}

TEST_F(Tamper, EditIndexedColumn) {
  sql("UPDATE audit_events SET sub = 'mallory' WHERE seq = 3");
  EXPECT_EQ(verify(path_), "seq 3: indexed column sub differs from record");
}

TEST_F(Tamper, EditIndexedTimeAndHashColumns) {
  sql("UPDATE audit_events SET time_ns = 0 WHERE seq = 6");
  EXPECT_EQ(verify(path_), "seq 6: indexed column time_ns differs from record");
  sql("UPDATE audit_events SET time_ns = 1700000000000000006, hash = 'x' WHERE seq = 6");
  EXPECT_EQ(verify(path_), "seq 6: indexed column hash differs from record");
}

TEST_F(Tamper, NullColumnIsDetected) {
  sql("UPDATE audit_events SET session_id = NULL WHERE seq = 2");
  EXPECT_EQ(verify(path_), "seq 2: indexed column session_id differs from record");
}

TEST_F(Tamper, DeleteMiddleRecord) {
  sql("DELETE FROM audit_events WHERE seq = 5");
  EXPECT_EQ(verify(path_), "seq 6: gap (expected 5)");
}

TEST_F(Tamper, SwapTwoRecordsSeq) {
  sql("UPDATE audit_events SET seq = -1 WHERE seq = 3;"
      "UPDATE audit_events SET seq = 3 WHERE seq = 7;"
      "UPDATE audit_events SET seq = 7 WHERE seq = -1;");
  EXPECT_EQ(verify(path_), "seq 3: indexed column seq differs from record");
}

TEST_F(Tamper, SwapTwoRecordsIncludingTheirJsonSeq) {
  Event a = read(path_, 3), b = read(path_, 7);
  std::swap(a.seq, b.seq);
  sql("DELETE FROM audit_events WHERE seq IN (3, 7)");
  for (const Event& e : {a, b}) {
    sql("INSERT INTO audit_events VALUES (" + std::to_string(e.seq) + ", " +
        std::to_string(e.time_ns) + ", " + sql_quote(e.session_id) + ", " + sql_quote(e.type) +
        ", " + sql_quote(e.sub) + ", " + sql_quote(e.resource) + ", " +
        sql_quote(audit::to_json_line(e)) + ", " + sql_quote(e.hash) + ")");
  }
  EXPECT_EQ(verify(path_), "seq 3: hash mismatch \xE2\x80\x94 record edited");
}

TEST_F(Tamper, TruncateTailStillVerifiesWithSmallerCount) {
  // Undetectable from the chain alone; signed checkpoints (Merkle roots) exist for this.
  sql("DELETE FROM audit_events WHERE seq > 7");
  EXPECT_EQ(verify(path_), "ok 7");
}

TEST_F(Tamper, ForgedRecordWithLinkedPrevHashButWrongHash) {
  Event last = read(path_, 10);
  Event f = ev(11);
  f.seq = 11;
  f.node_id = "gw-1";
  f.prev_hash = last.hash;
  f.hash = std::string(64, 'a');
  sql("INSERT INTO audit_events VALUES (11, " + std::to_string(f.time_ns) + ", " +
      sql_quote(f.session_id) + ", 'statement', " + sql_quote(f.sub) + ", 'clinic', " +
      sql_quote(audit::to_json_line(f)) + ", " + sql_quote(f.hash) + ")");
  EXPECT_EQ(verify(path_), "seq 11: hash mismatch \xE2\x80\x94 record edited");
}

TEST_F(Tamper, ForgedRecordBeforeGenesis) {
  Event f = read(path_, 1);
  f.seq = 0;
  sql("INSERT INTO audit_events VALUES (0, " + std::to_string(f.time_ns) + ", " +
      sql_quote(f.session_id) + ", 'statement', " + sql_quote(f.sub) + ", 'clinic', " +
      sql_quote(audit::to_json_line(f)) + ", " + sql_quote(f.hash) + ")");
  EXPECT_EQ(verify(path_), "seq 0: out of order (expected 1)");
}

TEST_F(Tamper, NonCanonicalOrMalformedRecord) {
  sql("UPDATE audit_events SET record = replace(record, '\"rows\":5', '\"rows\": 5') WHERE seq = "
      "2");
  EXPECT_EQ(verify(path_), "seq 2: record is not in canonical form");
  sql("UPDATE audit_events SET record = '{\"oops\"' WHERE seq = 2");
  EXPECT_EQ(verify(path_), "seq 2: record is not a well-formed audit record");
}

TEST_F(Tamper, LogRefusesToContinueFromATamperedTail) {
  sql("UPDATE audit_events SET record = 'garbage' WHERE seq = 10");
  auto st = open_sqlite_audit_store(path_);
  ASSERT_TRUE(st.ok());
  audit::Log log(std::move(*st), "gw-1");
  auto r = log.open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tampered");
}

}  // namespace
}  // namespace phigate::store
