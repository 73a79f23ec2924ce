// Prints (does not assert) audit append throughput through Log into SQLite: 8 appending threads,
// group commit, WAL with synchronous=NORMAL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "audit/log.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

TEST(AuditThroughput, HundredThousandEventsEightThreads) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "phigate-tput-XXXXXX").string();
  std::filesystem::path dir = mkdtemp(tmpl.data());
  constexpr int kThreads = 8, kPer = 12500;
  double secs = 0;
  audit::Log::Stats stats;
  std::atomic<int> ok{0}, refused{0};
  {
    auto st = open_sqlite_audit_store((dir / "audit.db").string());
    ASSERT_TRUE(st.ok()) << st.error().message;
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < kPer; ++i) {
          audit::Event e;
          e.time_ns = i;
          e.session_id = "session-" + std::to_string(t);
          e.type = "statement";
          e.sub = "pipeline-worker";
          e.groups = {"etl"};
          e.resource = "clinic";
          e.protocol = "postgres";
          e.action = "SELECT id, name, dob FROM patients WHERE mrn = $1";
          e.parameters = {"MRN-" + std::to_string(i)};
          e.decision = "allow";
          e.masked = {{"DATE_OF_BIRTH", 1}};
          log.append(std::move(e), [&](Result<uint64_t> r) { r.ok() ? ++ok : ++refused; });
        }
      });
    }
    for (auto& t : ts) t.join();
    log.flush();
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats = log.stats();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  // Every record is either committed or refused loudly (a slow sanitizer build can fill the
  // queue for longer than append's 1 s wait); none vanish.
  EXPECT_EQ(ok.load() + refused.load(), kThreads * kPer);
  std::printf(
      "audit append: %d events in %.3f s = %.0f events/s, %llu batches (avg %.1f/batch), %d "
      "refused\n",
      ok.load(), secs, ok.load() / secs, static_cast<unsigned long long>(stats.batches),
      stats.batches ? double(stats.records) / double(stats.batches) : 0.0, refused.load());
}

// Strict durability as the proxy uses it: each client waits for its record to be durable before
// going on, so batches are as large as the number of clients waiting at once.
TEST(AuditThroughput, StrictWaitForEachRecordEightThreads) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "phigate-tput-XXXXXX").string();
  std::filesystem::path dir = mkdtemp(tmpl.data());
  constexpr int kThreads = 8, kPer = 2000;
  double secs = 0;
  audit::Log::Stats stats;
  std::atomic<int> ok{0};
  {
    auto st = open_sqlite_audit_store((dir / "audit.db").string());
    ASSERT_TRUE(st.ok()) << st.error().message;
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < kPer; ++i) {
          audit::Event e;
          e.session_id = "session-" + std::to_string(t);
          e.type = "statement";
          e.action = "SELECT 1";
          std::promise<bool> p;
          log.append(std::move(e), [&](Result<uint64_t> r) { p.set_value(r.ok()); });
          ok += p.get_future().get();
        }
      });
    }
    for (auto& t : ts) t.join();
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats = log.stats();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  EXPECT_EQ(ok.load(), kThreads * kPer);
  std::printf("audit strict append: %d events in %.3f s = %.0f events/s, %llu batches (avg %.1f)\n",
              ok.load(), secs, ok.load() / secs, static_cast<unsigned long long>(stats.batches),
              stats.batches ? double(stats.records) / double(stats.batches) : 0.0);
}

}  // namespace
}  // namespace phigate::store
