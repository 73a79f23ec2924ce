// The Merkle frontier stored next to each checkpoint in SQLite (audit_checkpoints.frontier): what
// a restart resumes from, the column added to files written before it, a frontier edited in the
// database failing the writer's open(), and retention anchors alongside.
#include "../temp_dir.h"
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <bit>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/retention.h"
#include "common/crypto.h"
#include "checkpoint_log.h"
#include "sqlite_probe.h"
#include "store/sqlite/sqlite_retention.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

using audit::Event;
using namespace phigate::store::testing;
using phigate::testing::TempDir;

constexpr int64_t kTimeBase = 1000;

Status run_log(const std::string& path, int from, int n, uint64_t every_events) {
  return run_checkpointed_log(path, from, n, every_events, kTimeBase);
}

std::optional<audit::CheckpointFrontier> newest_frontier(const std::string& path) {
  auto ro = open_sqlite_audit_store_readonly(path);
  EXPECT_TRUE(ro.ok());
  auto cf = (*ro)->newest_checkpoint_frontier();
  EXPECT_TRUE(cf.ok()) << cf.error().message;
  return cf.ok() ? *cf : std::nullopt;
}

void expect_verifies(const std::string& path, uint64_t records) {
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto r = audit::verify_log(**ro, checkpoint_key()->public_key());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->records, records);
}

TEST(SqliteFrontier, StoredWithEachCheckpointAndResumedFrom) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 23, 10).ok());  // 10, 20, 23
  auto cf = newest_frontier(path);
  ASSERT_TRUE(cf.has_value());
  EXPECT_EQ(cf->checkpoint.tree_size, 23u);
  ASSERT_EQ(cf->frontier.size(), static_cast<size_t>(std::popcount(23u)));
  auto t = audit::MerkleAccumulator::from_frontier(23, cf->frontier);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(to_hex(t->root()), cf->checkpoint.root_hex);
  EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_checkpoints WHERE frontier IS NULL"), 0);

  ASSERT_TRUE(run_log(path, 24, 9, 10).ok());  // resumes at 23; 32 at close
  EXPECT_EQ(newest_frontier(path)->checkpoint.tree_size, 32u);
  expect_verifies(path, 32);  // every root recomputed from the records
}

TEST(SqliteFrontier, OlderFileGetsTheColumnAndLaterCheckpointsCarryOne) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 12, 10).ok());
  // The table as phigate wrote it before frontiers (rebuilt: DROP COLUMN is not everywhere).
  exec_sql(path,
           "CREATE TABLE old_ck (tree_size INTEGER PRIMARY KEY, record TEXT NOT NULL);"
           "INSERT INTO old_ck SELECT tree_size, record FROM audit_checkpoints;"
           "DROP TABLE audit_checkpoints; ALTER TABLE old_ck RENAME TO audit_checkpoints;");
  EXPECT_FALSE(newest_frontier(path).has_value());  // a reader copes without the column
  expect_verifies(path, 12);

  ASSERT_TRUE(run_log(path, 13, 3, 10).ok());  // full rebuild, then 15 at close with a frontier
  EXPECT_EQ(sqlite_int(path, "PRAGMA user_version"), 1);
  EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_checkpoints WHERE frontier IS NULL"), 2);
  auto cf = newest_frontier(path);
  ASSERT_TRUE(cf.has_value());
  EXPECT_EQ(cf->checkpoint.tree_size, 15u);
  ASSERT_TRUE(run_log(path, 16, 2, 10).ok());
  expect_verifies(path, 17);
}

TEST(SqliteFrontier, EditedFrontierFailsTheWriterClosed) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 12, 10).ok());  // 10, 12: popcount(12) = 2 hashes
  auto expect_tampered = [&](const std::string& set, std::string_view msg) {
    exec_sql(path, "UPDATE audit_checkpoints SET frontier = " + set + " WHERE tree_size = 12");
    Status st = run_log(path, 13, 1, 10);
    ASSERT_FALSE(st.ok()) << set;
    EXPECT_EQ(st.error().code, "tampered") << set;
    EXPECT_NE(st.error().message.find("checkpoint tree_size 12"), std::string::npos)
        << st.error().message;
    EXPECT_NE(st.error().message.find(msg), std::string::npos) << st.error().message;
    // Nothing was appended or signed on top of it.
    EXPECT_EQ(sqlite_int(path, "SELECT max(seq) FROM audit_events"), 12);
    EXPECT_EQ(sqlite_int(path, "SELECT count(*) FROM audit_checkpoints"), 2);
  };
  expect_tampered("zeroblob(64)", "does not match the signed root");
  expect_tampered("zeroblob(32)", "frontier holds 32 bytes");
  expect_tampered("'not a blob'", "frontier is not a blob");
  // The frontier of checkpoint 10 (also two hashes) under checkpoint 12.
  exec_sql(path,
           "UPDATE audit_checkpoints SET frontier = (SELECT frontier FROM audit_checkpoints"
           " WHERE tree_size = 10) WHERE tree_size = 12");
  expect_tampered("frontier", "does not match the signed root");
  // Without it the writer falls back to the previous frontier and the records after it.
  exec_sql(path, "UPDATE audit_checkpoints SET frontier = NULL WHERE tree_size = 12");
  ASSERT_TRUE(run_log(path, 13, 1, 10).ok());
  expect_verifies(path, 13);
}

TEST(SqliteFrontier, RetentionAnchorAndFrontierTogether) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 25, 10).ok());  // 10, 20, 25
  {
    auto ro = open_sqlite_audit_store_readonly(path);
    ASSERT_TRUE(ro.ok());
    auto plan =
        audit::plan_prune(**ro, ByteSpan(checkpoint_key()->public_key()), kTimeBase + 22, "1d", 1);
    ASSERT_TRUE(plan.ok() && plan->anchor);
    ASSERT_EQ(plan->anchor->tree_size, 20u);
    ASSERT_TRUE(prune_sqlite_audit_store(path, *plan->anchor).ok());
  }
  ASSERT_TRUE(run_log(path, 26, 2, 10).ok());  // from the checkpoint at 25 (after the anchor)
  expect_verifies(path, 7);
  // Only the anchor's own checkpoint and older ones keep a frontier: the anchor is the start.
  exec_sql(path, "UPDATE audit_checkpoints SET frontier = NULL WHERE tree_size > 20");
  ASSERT_TRUE(run_log(path, 28, 2, 10).ok());
  expect_verifies(path, 9);
}

}  // namespace
}  // namespace phigate::store
