// Prints (does not assert) audit append throughput through Log into the SQLite store, and the CPU
// the audit machinery spends per record: 8 appending threads, group commit, sync "normal".
//
// CPU accounting: the process's CPU (RUSAGE_SELF, which also counts threads that already exited)
// minus what the producer threads used themselves (RUSAGE_THREAD at their end) is what the Log's
// writer thread and the store's background ingest spent, including the final ingest at close.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "audit/log.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

int64_t cpu_us(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return (int64_t(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

// CPU of the live threads named `comm` (the Log names its writer "audit-writer"), from
// /proc/self/task/<tid>/stat fields 14 and 15 (utime, stime in clock ticks).
int64_t named_thread_cpu_us(const std::string& comm) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream c(t.path() / "comm");
    std::string name;
    std::getline(c, name);
    if (name != comm) continue;
    std::ifstream st(t.path() / "stat");
    std::string line;
    std::getline(st, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    int64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoll(field);
      if (i == 15) stime = std::stoll(field);
    }
    total += (utime + stime) * 1000000 / sysconf(_SC_CLK_TCK);
  }
  return total;
}

struct TputRun {
  int records = 0;
  int refused = 0;
  double secs = 0;
  audit::Log::Stats stats;
  int64_t audit_cpu_us = 0;     // writer + ingest (process minus producers)
  int64_t writer_cpu_us = 0;    // the Log's writer thread alone (10 ms resolution)
  int64_t producer_cpu_us = 0;  // the appending threads themselves (append() cost included)
};

void report(const char* name, const TputRun& r) {
  double per = r.records ? double(r.audit_cpu_us) / r.records : 0;
  std::printf(
      "%s: %d records in %.3f s = %.0f/s, %llu batches (avg %.1f), %d refused; audit CPU %.2f "
      "us/record (writer %.2f), producer CPU %.2f us/record\n",
      name, r.records, r.secs, r.records / r.secs, static_cast<unsigned long long>(r.stats.batches),
      r.stats.batches ? double(r.stats.records) / double(r.stats.batches) : 0.0, r.refused, per,
      r.records ? double(r.writer_cpu_us) / r.records : 0.0,
      r.records ? double(r.producer_cpu_us) / r.records : 0.0);
}

// Runs `body(thread_index, log)` on 8 threads against a fresh store and accounts CPU.
template <class Body>
TputRun run_threads(Body body) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "phigate-tput-XXXXXX").string();
  std::filesystem::path dir = mkdtemp(tmpl.data());
  constexpr int kThreads = 8;
  TputRun out;
  std::atomic<int64_t> producer_us{0};
  int64_t cpu0 = 0;
  {
    auto st = open_sqlite_audit_store((dir / "audit.db").string());
    EXPECT_TRUE(st.ok()) << st.error().message;
    if (!st.ok()) return out;
    audit::Log log(std::move(*st), "gw-1");
    EXPECT_TRUE(log.open().ok());
    cpu0 = cpu_us(RUSAGE_SELF);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        body(t, log);
        producer_us += cpu_us(RUSAGE_THREAD);
      });
    }
    for (auto& t : ts) t.join();
    log.flush();
    out.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.stats = log.stats();
    out.writer_cpu_us = named_thread_cpu_us("audit-writer");
  }  // closing drains the background ingest, so its CPU is counted too
  out.audit_cpu_us = cpu_us(RUSAGE_SELF) - cpu0 - producer_us.load();
  out.producer_cpu_us = producer_us.load();
  out.records = int(out.stats.records);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

audit::Event pipeline_event(int t, int i) {
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
  return e;
}

TEST(AuditThroughput, HundredThousandEventsEightThreads) {
  constexpr int kPer = 12500;
  std::atomic<int> ok{0}, refused{0};
  TputRun r = run_threads([&](int t, audit::Log& log) {
    for (int i = 0; i < kPer; ++i) {
      log.append(pipeline_event(t, i), [&](Result<uint64_t> r) { r.ok() ? ++ok : ++refused; });
    }
  });
  r.refused = refused.load();
  // Every record is either committed or refused loudly (a slow sanitizer build can fill the
  // queue for longer than append's 1 s wait); none vanish.
  EXPECT_EQ(ok.load() + refused.load(), 8 * kPer);
  report("audit fire-and-forget", r);
}

// Strict durability as the proxy uses it: each client waits for its record to be durable before
// going on, so batches are as large as the number of clients waiting at once.
TEST(AuditThroughput, StrictWaitForEachRecordEightThreads) {
  constexpr int kPer = 2000;
  std::atomic<int> ok{0};
  TputRun r = run_threads([&](int t, audit::Log& log) {
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
  EXPECT_EQ(ok.load(), 8 * kPer);
  report("audit strict", r);
}

// What the PostgreSQL proxy does per statement: a `statement` record that must be durable before
// the statement is forwarded, then a fire-and-forget `result` record.
TEST(AuditThroughput, StatementStrictResultAsyncEightThreads) {
  constexpr int kPer = 2000;
  std::atomic<int> ok{0};
  TputRun r = run_threads([&](int t, audit::Log& log) {
    for (int i = 0; i < kPer; ++i) {
      std::promise<uint64_t> p;
      log.append(pipeline_event(t, i), [&](Result<uint64_t> r) { p.set_value(r.ok() ? *r : 0); });
      uint64_t seq = p.get_future().get();
      ok += seq != 0;
      audit::Event res;
      res.session_id = "session-" + std::to_string(t);
      res.type = "result";
      res.ref_seq = seq;
      res.status = "ok";
      res.rows = 1;
      res.bytes = 64;
      res.duration_ns = 50000;
      log.append(std::move(res));
    }
  });
  EXPECT_EQ(ok.load(), 8 * kPer);
  report("audit statement+result", r);
}

}  // namespace
}  // namespace phigate::store
