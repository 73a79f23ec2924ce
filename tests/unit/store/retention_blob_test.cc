// Retention in the SQLite store (sqlite_retention.h) and the capture blob packs (blob_pack.h).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../temp_dir.h"
#include "audit/log.h"
#include "audit/retention.h"
#include "store/blob_pack.h"
#include "store/sqlite/sqlite_retention.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

using phigate::testing::TempDir;

std::shared_ptr<const audit::CheckpointKey> key() {
  static auto k = *audit::CheckpointKey::generate();
  return k;
}

void run_log(const std::string& path, int from, int n) {
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok()) << st.error().message;
  audit::Log log(std::move(*st), "gw-1");
  log.set_checkpointing(key(), 10, std::chrono::milliseconds(0));
  ASSERT_TRUE(log.open().ok());
  for (int i = from; i < from + n; ++i) {
    audit::Event e;
    e.time_ns = 1000 + i;
    e.type = "statement";
    e.session_id = "s";
    std::vector<audit::Event> one{e};
    ASSERT_TRUE(log.append_now(one).ok());
  }
  log.close();
}

TEST(SqliteRetention, PruneStoresAnchorAndTheRestVerifies) {
  TempDir dir;
  const std::string path = dir.path() + "/a.db";
  run_log(path, 1, 25);  // checkpoints 10, 20, 25
  {
    auto ro = open_sqlite_audit_store_readonly(path);
    ASSERT_TRUE(ro.ok());
    auto plan = audit::plan_prune(**ro, ByteSpan(key()->public_key()), 1000 + 22, "1d", 1);
    ASSERT_TRUE(plan.ok() && plan->anchor) << (plan.ok() ? plan->reason : plan.error().message);
    EXPECT_EQ(plan->anchor->tree_size, 20u);
    ASSERT_TRUE(prune_sqlite_audit_store(path, *plan->anchor).ok());
    // Pruning the same prefix again is refused, and so is an anchor past what SQLite holds.
    EXPECT_FALSE(prune_sqlite_audit_store(path, *plan->anchor).ok());
    audit::Anchor far = *plan->anchor;
    far.tree_size = 30;
    EXPECT_FALSE(prune_sqlite_audit_store(path, far).ok());
    auto a = (*ro)->anchor();
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ(**a, *plan->anchor);
    auto v = audit::verify_log(**ro, ByteSpan(key()->public_key()));
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->records, 5u);
    EXPECT_EQ(v->pruned, 20u);
  }
  run_log(path, 26, 3);  // the writer reopens from the anchor and keeps checkpointing
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto v = audit::verify_log(**ro, ByteSpan(key()->public_key()));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->records, 8u);

  // A garbled anchor row is reported as tampering, not ignored.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE audit_anchors SET record = '{}'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto ro2 = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro2.ok());
  auto bad = audit::verify_log(**ro2, ByteSpan(key()->public_key()));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "tampered");
}

Result<std::unique_ptr<PackBlobStore>> open_packs(const std::string& d, bool ro = false) {
  return PackBlobStore::open(d, PackBlobStore::Options{}, ro);
}

TEST(PackBlobStore, PutGetDedupAndHash) {
  TempDir dir;
  auto s = open_packs(dir.path() + "/blobs");
  ASSERT_TRUE(s.ok());
  auto h = (*s)->put("hello");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, audit::blob_hash("hello"));
  EXPECT_EQ(*(*s)->put("hello"), *h);
  std::string big(100000, '\n');  // content may hold the separator
  auto h2 = (*s)->put(big);
  ASSERT_TRUE(h2.ok());
  auto reader = open_packs(dir.path() + "/blobs", true);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*(*reader)->get(*h), std::optional<std::string>("hello"));
  EXPECT_EQ(*(*reader)->get(*h2), std::optional<std::string>(big));
  EXPECT_FALSE((*reader)->get(std::string(64, '0'))->has_value());
  EXPECT_FALSE((*reader)->get("../etc/passwd")->has_value());
  EXPECT_FALSE((*reader)->put("x").ok()) << "read-only";
  size_t packs = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path() + "/blobs")) {
    (void)e;
    ++packs;
  }
  EXPECT_EQ(packs, 1u);
}

TEST(PackBlobStore, EditedContentIsTamperingAndTornTailIsIgnored) {
  TempDir dir;
  const std::string d = dir.path() + "/blobs";
  std::string pack;
  {
    auto s = open_packs(d);
    ASSERT_TRUE((*s)->put("first").ok());
    ASSERT_TRUE((*s)->put("second").ok());
  }
  for (auto& e : std::filesystem::directory_iterator(d)) pack = e.path().string();
  std::string text;
  {
    std::ifstream in(pack, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string edited = text;
  edited.replace(edited.find("second"), 6, "SECOND");
  edited += "phigate-blob " + std::string(64, 'a') + " 100\nshort";  // torn final entry
  std::ofstream(pack, std::ios::binary | std::ios::trunc) << edited;
  auto r = open_packs(d, true);
  auto first = (*r)->get(audit::blob_hash("first"));
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = (*r)->get(audit::blob_hash("second"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "tampered");
  EXPECT_FALSE((*r)->get(std::string(64, 'a'))->has_value());
}

TEST(PackBlobStore, PruneKeepsReferencedAndCurrentPacks) {
  TempDir dir;
  const std::string d = dir.path() + "/blobs";
  PackBlobStore::Options o;
  o.rotate_bytes = 1;  // every blob in its own pack
  auto s = PackBlobStore::open(d, o, false);
  for (const char* v : {"old-unreferenced", "old-referenced", "current"}) {
    ASSERT_TRUE((*s)->put(v).ok());
  }
  const std::string keep = audit::blob_hash("old-referenced");
  auto st = (*s)->prune([&](const std::string& h) { return h == keep; }, INT64_MAX);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->packs, 1u);
  EXPECT_EQ(st->blobs, 1u);
  EXPECT_FALSE((*s)->get(audit::blob_hash("old-unreferenced"))->has_value());
  EXPECT_TRUE((*s)->get(keep)->has_value());
  EXPECT_TRUE((*s)->get(audit::blob_hash("current"))->has_value()) << "the open pack stays";
  auto none = (*s)->prune([](const std::string&) { return false; }, 0);  // nothing that old
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->packs, 0u);
}

}  // namespace
}  // namespace phigate::store
