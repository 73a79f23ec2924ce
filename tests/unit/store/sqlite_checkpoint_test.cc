// Checkpoints in the SQLite store: the audit_checkpoints table, the Log writing through it across
// restarts, and verify_log catching edits made directly in the database.
#include "../temp_dir.h"
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "audit/canonical.h"
#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "common/crypto.h"
#include "checkpoint_log.h"
#include "sqlite_probe.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

using audit::Event;

using namespace phigate::store::testing;
using phigate::testing::TempDir;

Status run_log(const std::string& path, int from, int n, uint64_t every_events) {
  return run_checkpointed_log(path, from, n, every_events, 1700000000000000000);
}

std::vector<audit::Checkpoint> read_checkpoints(const std::string& path) {
  auto ro = open_sqlite_audit_store_readonly(path);
  EXPECT_TRUE(ro.ok());
  auto cps = (*ro)->checkpoints();
  EXPECT_TRUE(cps.ok()) << cps.error().message;
  return cps.ok() ? *cps : std::vector<audit::Checkpoint>{};
}

TEST(SqliteCheckpoint, StoredOnceAndReadableReadOnly) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  auto c = audit::sign_checkpoint(*checkpoint_key(), "gw-1", 0, audit::merkle_empty_root(), 5);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*st)->append_checkpoint(*c).ok());
  // Never replaced: a second checkpoint for the same tree_size is refused.
  EXPECT_FALSE((*st)->append_checkpoint(*c).ok());
  auto mine = (*st)->checkpoints();
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front(), *c);
  auto theirs = read_checkpoints(path);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs.front(), *c);
}

TEST(SqliteCheckpoint, OldStoreWithoutTableHasNoCheckpoints) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  { ASSERT_TRUE(open_sqlite_audit_store(path).ok()); }
  exec_sql(path, "DROP TABLE audit_checkpoints");
  EXPECT_TRUE(read_checkpoints(path).empty());
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto newest = (*ro)->newest_checkpoint_size();
  ASSERT_TRUE(newest.ok()) << newest.error().message;
  EXPECT_EQ(*newest, 0u);
}

TEST(SqliteCheckpoint, LogAcrossRestartsVerifies) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 23, 10).ok());  // 10, 20, close at 23
  ASSERT_TRUE(run_log(path, 24, 0, 10).ok());  // restart, nothing new: no duplicate
  // 32 at close (the every-10 counts from the last checkpoint, 23).
  ASSERT_TRUE(run_log(path, 24, 9, 10).ok());
  auto cps = read_checkpoints(path);
  std::vector<uint64_t> sizes;
  for (const auto& c : cps) sizes.push_back(c.tree_size);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{10, 20, 23, 32}));

  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto newest = (*ro)->newest_checkpoint_size();
  ASSERT_TRUE(newest.ok()) << newest.error().message;
  EXPECT_EQ(*newest, 32u);
  // Root after restart + more records equals a fresh recomputation over every stored line.
  audit::MerkleAccumulator fresh;
  ASSERT_TRUE((*ro)
                  ->scan(1,
                         [&](const Event& e) {
                           fresh.append_leaf(audit::to_json_line(e));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(fresh.size(), 32u);
  EXPECT_EQ(cps.back().root_hex, to_hex(fresh.root()));
  auto r = audit::verify_log(**ro, checkpoint_key()->public_key());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->records, 32u);
  EXPECT_EQ(r->checkpoints, 4u);
}

TEST(SqliteCheckpoint, EditedCheckpointRowIsNamed) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 25, 10).ok());
  auto cps = read_checkpoints(path);
  ASSERT_EQ(cps.size(), 3u);
  // Replace the root of checkpoint 20 with that of checkpoint 10 (a well-formed but wrong root).
  auto edited = cps[1];
  edited.root_hex = cps[0].root_hex;
  std::string json = audit::checkpoint_to_json(edited);
  exec_sql(path, "UPDATE audit_checkpoints SET record = '" + json + "' WHERE tree_size = 20");
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto r = audit::verify_log(**ro, checkpoint_key()->public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tampered");
  EXPECT_NE(r.error().message.find("checkpoint tree_size 20"), std::string::npos)
      << r.error().message;

  // The key column moved away from its record.
  exec_sql(path, "UPDATE audit_checkpoints SET record = '" + audit::checkpoint_to_json(cps[1]) +
                     "', tree_size = 21 WHERE tree_size = 20");
  auto moved = audit::verify_log(**ro, checkpoint_key()->public_key());
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.error().message.find("checkpoint tree_size 21"), std::string::npos)
      << moved.error().message;
}

TEST(SqliteCheckpoint, DeletedTailRecordsAreCaught) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  ASSERT_TRUE(run_log(path, 1, 12, 10).ok());  // 10, 12
  exec_sql(path, "DELETE FROM audit_events WHERE seq > 11");
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  // The chain alone cannot tell; the checkpoint at 12 can.
  EXPECT_TRUE(audit::verify_chain(**ro).ok());
  auto r = audit::verify_log(**ro, checkpoint_key()->public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("checkpoint tree_size 12"), std::string::npos);
}

}  // namespace
}  // namespace phigate::store
