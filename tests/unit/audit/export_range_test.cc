// `audit export --since` starts its read where the store's time search says
// (Store::seq_near_time) instead of at seq 1; its output must stay exactly what reading every
// record gives: the same records, the same checkpoints between them.
#include "audit/export_range.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>

#include "../temp_dir.h"
#include "audit/canonical.h"
#include "store/sqlite/sqlite_retention.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::audit {
namespace {

using phigate::testing::TempDir;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// Record seq i's time: one second apart, pairs sharing a time (two threads in the same tick),
// and record 500 stamped 30 s ahead of its neighbours (so 501 steps back within the margin).
int64_t time_of(uint64_t seq) {
  if (seq == 500) return kT0 + 530 * kSec;
  return kT0 + static_cast<int64_t>(seq - seq % 2) * kSec;
}

std::vector<Event> records(uint64_t from, uint64_t to, std::string& prev) {
  std::vector<Event> out;
  for (uint64_t s = from; s <= to; ++s) {
    Event e;
    e.seq = s;
    e.node_id = "gw-1";
    e.time_ns = time_of(s);
    e.session_id = "s" + std::to_string(s % 7);
    e.type = "statement";
    e.sub = "alice";
    e.action = "SELECT " + std::to_string(s);
    e.prev_hash = prev;
    e.hash = chain_hash(prev, canonical_json(e));
    prev = e.hash;
    out.push_back(std::move(e));
  }
  return out;
}

// Checkpoints every 50 records (unsigned: export only orders and prints them).
std::vector<Checkpoint> checkpoints_upto(uint64_t n) {
  std::vector<Checkpoint> cps;
  for (uint64_t s = 50; s <= n; s += 50) {
    Checkpoint c;
    c.node_id = "gw-1";
    c.tree_size = s;
    c.root_hex = std::string(64, 'a');
    c.time_ns = time_of(s);
    c.key_id = "k";
    c.signature_b64 = "c2ln";
    cps.push_back(c);
  }
  return cps;
}

// The store as a reader without a time search: the inherited default, i.e. from seq 1.
class FullScan final : public Store {
 public:
  explicit FullScan(Store& s) : s_(s) {}
  Status append(const std::vector<Event>&) override { return make_error("store", "read only"); }
  Result<std::optional<Event>> last() override { return s_.last(); }
  Status scan(uint64_t from, const std::function<bool(const Event&)>& fn) override {
    return s_.scan(from, fn);
  }
  Status scan_lines(uint64_t from,
                    const std::function<bool(uint64_t, std::string_view)>& fn) override {
    return s_.scan_lines(from, fn);
  }

 private:
  Store& s_;
};

std::string run_export(Store& st, const std::vector<Checkpoint>& cps, std::optional<int64_t> since,
                       ExportFormat f = ExportFormat::kJsonl) {
  std::string out;
  uint64_t n = 0;
  Status s = export_range(
      st, cps, since, f, [&](const std::string& l) { out += l + "\n"; }, &n);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

// The first seq in [lo, hi] whose time is >= since (what the export must start at), hi + 1 if none.
uint64_t first_at_or_after(uint64_t lo, uint64_t hi, int64_t since) {
  for (uint64_t s = lo; s <= hi; ++s) {
    if (time_of(s) >= since) return s;
  }
  return hi + 1;
}

// For each --since: the export equals the full scan's, and it starts with the right record.
void expect_same_as_full_scan(Store& st, uint64_t lo, uint64_t hi,
                              const std::vector<int64_t>& sinces) {
  auto cps = checkpoints_upto(hi);
  FullScan full(st);
  for (int64_t since : sinces) {
    SCOPED_TRACE("since " + std::to_string(since));
    const std::string got = run_export(st, cps, since);
    EXPECT_EQ(got, run_export(full, cps, since));
    EXPECT_EQ(run_export(st, cps, since, ExportFormat::kOcsf),
              run_export(full, cps, since, ExportFormat::kOcsf));
    const uint64_t first = first_at_or_after(lo, hi, since);
    if (first > hi) {
      EXPECT_EQ(got, "");
    } else {
      EXPECT_EQ(got.substr(0, got.find('\n')).find("\"seq\":" + std::to_string(first) + ","),
                got.find("\"seq\":" + std::to_string(first) + ","))
          << got.substr(0, 200);
      EXPECT_NE(got.find("\"seq\":" + std::to_string(first) + ","), std::string::npos);
    }
  }
}

std::vector<int64_t> interesting_sinces() {
  return {std::numeric_limits<int64_t>::min(),
          kT0 - 3600 * kSec,            // before every record
          kT0 + 250 * kSec + kSec / 2,  // between two records
          kT0 + 300 * kSec,             // exactly on a pair's time
          kT0 + 520 * kSec,             // record 500 (ahead of its time) comes first
          kT0 + 530 * kSec,             // exactly record 500's time
          kT0 + 999 * kSec,             // the last records
          kT0 + 100000 * kSec,          // after every record
          std::numeric_limits<int64_t>::max()};
}

TEST(ExportRange, SinceGivesTheFullScanOutput) {
  TempDir dir;
  auto st = store::open_sqlite_audit_store(dir.file("a.db"));
  ASSERT_TRUE(st.ok());
  std::string prev = kGenesisHash;
  ASSERT_TRUE((*st)->append(records(1, 1000, prev)).ok());
  expect_same_as_full_scan(**st, 1, 1000, interesting_sinces());
  // Without --since: every record and every checkpoint, from seq 1.
  auto cps = checkpoints_upto(1000);
  FullScan full(**st);
  EXPECT_EQ(run_export(**st, cps, std::nullopt), run_export(full, cps, std::nullopt));
}

TEST(ExportRange, TimeSearchSkipsTheOlderRecords) {
  TempDir dir;
  auto st = store::open_sqlite_audit_store(dir.file("a.db"));
  ASSERT_TRUE(st.ok());
  std::string prev = kGenesisHash;
  ASSERT_TRUE((*st)->append(records(1, 1000, prev)).ok());
  // Exact on sorted times, at or before the first match where time steps back.
  EXPECT_EQ(*(*st)->seq_near_time(kT0 + 300 * kSec), 300u);
  EXPECT_EQ(*(*st)->seq_near_time(kT0 + 300 * kSec + 1), 302u);
  EXPECT_LE(*(*st)->seq_near_time(kT0 + 520 * kSec - kSinceSeekMarginNs), 500u);
  EXPECT_EQ(*(*st)->seq_near_time(std::numeric_limits<int64_t>::min()), 1u);
  EXPECT_EQ(*(*st)->seq_near_time(kT0 + 100000 * kSec), 1001u);  // just past the newest row
}

TEST(ExportRange, PrunedPrefixStartsAtTheOldestKeptRecord) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  auto st = store::open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  std::string prev = kGenesisHash;
  ASSERT_TRUE((*st)->append(records(1, 1000, prev)).ok());
  ASSERT_TRUE((*st)->last().ok());  // ingested: the prune needs record 301 in SQLite
  Anchor a;
  a.tree_size = 300;
  a.last_hash = std::string(64, '0');
  ASSERT_TRUE(store::prune_sqlite_audit_store(path, a).ok());
  EXPECT_EQ(*(*st)->seq_near_time(kT0), 301u);
  auto ro = store::open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(*(*ro)->seq_near_time(kT0 + 600 * kSec), 600u);
  expect_same_as_full_scan(**ro, 301, 1000, interesting_sinces());
}

TEST(ExportRange, RecordsStillInTheJournalAreExported) {
  TempDir dir;
  const std::string path = dir.file("a.db");
  store::SqliteOptions o;
  o.background_ingest = false;  // records stay in the journal until close
  std::string prev = kGenesisHash;
  {
    auto st = store::open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->append(records(1, 400, prev)).ok());
  }
  auto st = store::open_sqlite_audit_store(path, o);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->append(records(401, 1000, prev)).ok());
  auto ro = store::open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  // SQLite holds 1..400: a time past them all gives 401, never a seq inside the journal.
  EXPECT_EQ(*(*ro)->seq_near_time(kT0 + 800 * kSec), 401u);
  expect_same_as_full_scan(**ro, 1, 1000, interesting_sinces());
}

}  // namespace
}  // namespace phigate::audit
