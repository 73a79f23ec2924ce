// Audit log throughput (issue 6 targets): durable events/s with strict durability and group
// commit, and verification speed, on the real SQLite store in a temp dir.
//
//   audit_bench [--events N] [--threads T] [--sync normal|full] [--rate R] [--verify 0|1]
//               [--ingest-ms MS] [--ingest-records N] [--store-only 1]
//
// --store-only 1: the SQLite store alone, without the Log: one thread appends pre-encoded batches
// of two records (statement + result, ~760 bytes each) with append_encoded_refs, paced to --rate
// batches per second (default 20000), and the report gives the store's own CPU per record on the
// appending thread (the io thread's share with strict durability) and on audit-ingest.
//
// --rate R paces each writer thread to R statement/result pairs per second (0: as fast as
// possible). The report then splits CPU per committed record by thread: the appending threads
// (the proxy's io threads), audit-writer and audit-ingest, read from /proc/self/task/*/schedstat
// (ns of CPU) so that the background threads' share is visible. Record building (make_event) is
// timed separately and subtracted from the appenders' share, which is then audit's own cost.
//
// Writers: T threads each append statement/result pairs the way the PostgreSQL proxy does: the
// statement with Log::append_now (durable in the journal before the call returns: strict), the
// result fire-and-forget (Log::append), so concurrent committers share journal writes (group
// commit). Records look like real ones (~650 bytes). Then the store is closed (everything
// ingested into SQLite) and `audit verify`'s verify_log runs over it read-only.
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/verifier.h"
#include "store/sqlite/sqlite_store.h"

using namespace phigate;
using Clock = std::chrono::steady_clock;

namespace {

audit::Event make_event(int thread, uint64_t i, bool result) {
  audit::Event e;
  e.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.session_id = "3f2a9c0e5b7d41e8a6c4" + std::to_string(thread);
  e.type = result ? "result" : "statement";
  e.sub = "etl-worker-7";
  e.issuer = "local";
  e.jti = "c0ffee00deadbeef0123456789abcdef";
  e.task_id = "task-42";
  e.workflow_id = "wf-nightly";
  e.act_sub = "alice";
  e.groups = {"etl", "analysts"};
  e.roles = {"etl-ingest"};
  e.client_user = "etl";
  e.client_addr = "127.0.0.1:54321";
  e.resource = "clinic";
  e.protocol = "postgres";
  if (!result) {
    e.action = "SELECT mrn, first_name, last_name, dob FROM patients WHERE id = $1 AND clinic = " +
               std::to_string(i % 97);
    e.statement_kind = "select";
    e.parameters = {std::to_string(i)};
    e.decision = "allow";
    e.rule = "etl-ingest#0";
  } else {
    e.ref_seq = i;
    e.status = "ok";
    e.rows = 1;
    e.bytes = 180;
    e.duration_ns = 250000;
    e.masked = {{"US_SSN", 1}};
  }
  return e;
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Process CPU time (user + system, all threads): on a shared machine wall time depends on what
// else runs, so both are reported.
double cpu_secs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// CPU ns of every live thread of this process, summed by thread name.
std::map<std::string, double> thread_cpu_ns() {
  std::map<std::string, double> out;
  for (const auto& d : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(d.path() / "comm"), sched(d.path() / "schedstat");
    std::string name;
    double ns = 0;
    if (!std::getline(comm, name) || !(sched >> ns)) continue;
    out[name] += ns;
  }
  return out;
}

double thread_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// --store-only: see the header comment.
int store_only(const store::SqliteOptions& sopts, const std::string& path, uint64_t events,
               double rate) {
  auto st = store::open_sqlite_audit_store(path, sopts);
  if (!st) {
    std::fprintf(stderr, "open: %s\n", st.error().message.c_str());
    return 1;
  }
  auto& store = **st;
  if (rate <= 0) rate = 20000;
  audit::ChainHasher hasher;
  std::string prev(audit::kGenesisHash), lines;
  std::vector<audit::Event> evs(2);
  std::vector<const audit::Event*> refs = {&evs[0], &evs[1]};
  std::vector<size_t> ends;
  double clock_ns = 0;
  {
    double k0 = thread_cpu_now();
    for (int k = 0; k < 2000; ++k) (void)thread_cpu_now();
    clock_ns = (thread_cpu_now() - k0) / 2000;
  }
  auto before = thread_cpu_ns();
  double append_ns = 0;
  const uint64_t batches = events / 2;
  const auto start = Clock::now();
  for (uint64_t b = 0; b < batches; ++b) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(b / rate)));
    lines.clear();
    ends.clear();
    for (int k = 0; k < 2; ++k) {
      evs[k] = make_event(0, b, k == 1);
      evs[k].seq = b * 2 + k + 1;
      evs[k].node_id = "gw-bench";
      evs[k].prev_hash = prev;
      audit::append_chained_line(evs[k], hasher, lines);
      lines += '\n';
      ends.push_back(lines.size());
      prev = evs[k].hash;
    }
    double a0 = thread_cpu_now();
    if (auto r = store.append_encoded_refs(refs, lines, ends); !r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.error().message.c_str());
      return 1;
    }
    append_ns += thread_cpu_now() - a0 - clock_ns;
  }
  const double wall = secs(Clock::now() - start);
  std::this_thread::sleep_for(sopts.ingest_interval + std::chrono::milliseconds(250));
  auto after = thread_cpu_ns();
  const double n = static_cast<double>(batches * 2);
  std::printf(
      "store-only: %.0f records at %.0f/s (sync %s, ingest %lld ms / %zu records): append %.2f us "
      "+ audit-ingest %.2f us CPU per record\n",
      n, n / wall, sopts.sync.c_str(), static_cast<long long>(sopts.ingest_interval.count()),
      sopts.ingest_records, append_ns / 1e3 / n,
      (after["audit-ingest"] - before["audit-ingest"]) / 1e3 / n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = 400000;
  int threads = 8;
  std::string sync = "normal";
  double rate = 0;
  bool verify = true;
  store::SqliteOptions sopts;  // --ingest-ms / --ingest-records: the store's ingest batching
  bool only_store = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--events") events = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    if (a == "--sync") sync = argv[i + 1];
    if (a == "--rate") rate = std::strtod(argv[i + 1], nullptr);
    if (a == "--verify") verify = std::string(argv[i + 1]) != "0";
    if (a == "--ingest-ms")
      sopts.ingest_interval = std::chrono::milliseconds(std::atoi(argv[i + 1]));
    if (a == "--store-only") only_store = std::string(argv[i + 1]) != "0";
    if (a == "--ingest-records") sopts.ingest_records = std::strtoull(argv[i + 1], nullptr, 10);
  }
  auto dir = std::filesystem::temp_directory_path() /
             ("phigate-audit-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "phigate.db").string();
  if (only_store) {
    sopts.sync = sync;
    int rc = store_only(sopts, path, events, rate);
    std::filesystem::remove_all(dir);
    return rc;
  }
  auto key = audit::CheckpointKey::generate();
  if (!key) return 1;

  double write_s = 0;
  uint64_t written = 0;
  {
    sopts.sync = sync;
    auto store = store::open_sqlite_audit_store(path, sopts);
    if (!store) {
      std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
      return 1;
    }
    audit::Log log(std::move(*store), "gw-bench");
    log.set_checkpointing(*key, 1000, std::chrono::seconds(10));  // the default config
    if (!log.open()) return 1;
    const uint64_t pairs_per_thread = events / 2 / static_cast<uint64_t>(threads);
    std::atomic<bool> failed{false};
    std::atomic<double> appender_ns{0}, make_ns{0};
    auto before = thread_cpu_ns();
    auto t0 = Clock::now();
    double c0 = cpu_secs();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        pthread_setname_np(pthread_self(), "bench-io");
        // What building (and destroying) the two records costs, to subtract from this thread's
        // CPU below: the proxy builds them too, but that is not the audit log's cost.
        double m0 = thread_cpu_now();
        for (uint64_t i = 0; i < 2000; ++i) {
          audit::Event a = make_event(t, i, false), b = make_event(t, i, true);
        }
        // Paced runs time only one make_event (the result's) per pair.
        make_ns.fetch_add((thread_cpu_now() - m0) / 2000 * pairs_per_thread / (rate > 0 ? 2 : 1));
        // Paced, the thread's CPU would include sleeping and waking up, so only the audit calls
        // are timed (minus what reading the clock costs).
        double clock_ns = 0;
        if (rate > 0) {
          double k0 = thread_cpu_now();
          for (int k = 0; k < 2000; ++k) (void)thread_cpu_now();
          clock_ns = (thread_cpu_now() - k0) / 2000;
        }
        double c0 = thread_cpu_now(), paced_ns = 0;
        std::vector<audit::Event> batch(1);
        const auto start = Clock::now();
        for (uint64_t i = 0; i < pairs_per_thread; ++i) {
          if (rate > 0) {
            std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(i / rate)));
          }
          batch[0] = make_event(t, i, false);
          double p0 = rate > 0 ? thread_cpu_now() : 0;
          auto seq = log.append_now(batch);  // strict: durable before it returns
          if (!seq) {
            failed = true;
            return;
          }
          log.append(make_event(t, *seq, true));
          if (rate > 0) paced_ns += thread_cpu_now() - p0 - clock_ns;
        }
        appender_ns.fetch_add(rate > 0 ? paced_ns : thread_cpu_now() - c0);
      });
    }
    for (auto& th : ts) th.join();
    log.flush();
    write_s = secs(Clock::now() - t0);
    double write_cpu = cpu_secs() - c0;
    written = log.last_seq();
    // Let the background ingest take the last records (one ingest_interval) before reading the
    // threads' CPU.
    std::this_thread::sleep_for(sopts.ingest_interval + std::chrono::milliseconds(250));
    auto after = thread_cpu_ns();
    auto delta = [&](const char* name) { return (after[name] - before[name]) / 1e3 / written; };
    const double io_us = (appender_ns.load() - make_ns.load()) / 1e3 / written;
    const double writer_us = delta("audit-writer"), ingest_us = delta("audit-ingest");
    if (failed) {
      std::fprintf(stderr, "append failed\n");
      return 1;
    }
    auto st = log.stats();
    std::printf(
        "write: %llu events (%d threads, sync %s) in %.2f s = %.0f events/s durable; "
        "%.1f records per group commit; %.1f us CPU per event\n",
        static_cast<unsigned long long>(written), threads, sync.c_str(), write_s, written / write_s,
        st.batches ? double(st.records) / st.batches : 0.0, write_cpu * 1e6 / written);
    std::printf(
        "cpu per record (rate %s): appenders %.2f us (excl. %.2f us building events) + "
        "audit-writer %.2f us + audit-ingest %.2f us = %.2f us\n",
        rate > 0 ? (std::to_string(static_cast<int>(rate)) + "/s/thread").c_str() : "max", io_us,
        make_ns.load() / 1e3 / written, writer_us, ingest_us, io_us + writer_us + ingest_us);
  }  // close: final checkpoint, everything ingested into SQLite

  if (!verify) {
    std::filesystem::remove_all(dir);
    return 0;
  }
  auto ro = store::open_sqlite_audit_store_readonly(path);
  if (!ro) return 1;
  for (bool parallel : {false, true}) {
    audit::VerifyOptions opts;
    opts.parallel = parallel;
    auto t0 = Clock::now();
    double c0 = cpu_secs();
    auto r = audit::verify_log(**ro, key->get()->public_key(), opts);
    double s = secs(Clock::now() - t0), cpu = cpu_secs() - c0;
    if (!r) {
      std::fprintf(stderr, "verify failed: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf(
        "verify (%s): %llu records, %llu checkpoints in %.2f s = %.0f records/s "
        "(%.2f s CPU = %.0f records per CPU-second)\n",
        parallel ? "2 threads" : "1 thread", static_cast<unsigned long long>(r->records),
        static_cast<unsigned long long>(r->checkpoints), s, r->records / s, cpu, r->records / cpu);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
