// The journal in front of the SQLite audit store: records acknowledged but not yet in SQLite are
// visible to read-only readers, survive a crash, and tampering with them is detected.
#include "../temp_dir.h"
#include "sqlite_probe.h"
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "audit/canonical.h"
#include "audit/log.h"
#include "store/sqlite/journal.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store {
namespace {

using audit::Event;
namespace fs = std::filesystem;

using phigate::testing::TempDir;

Event ev(int i) {
  Event e;
  e.time_ns = 1700000000000000000 + i;
  e.session_id = "s" + std::to_string(i % 3);
  e.type = "statement";
  e.sub = i % 2 ? "alice" : "bob";
  e.resource = "clinic";
  e.action = "SELECT 1";
  e.rows = 5;
  return e;
}

uint64_t append_sync(audit::Log& log, Event e) {
  std::promise<uint64_t> p;
  log.append(std::move(e), [&](Result<uint64_t> r) { p.set_value(r.ok() ? *r : 0); });
  return p.get_future().get();
}

std::string verify(const std::string& path) {
  auto st = open_sqlite_audit_store_readonly(path);
  if (!st.ok()) return "open: " + st.error().message;
  auto v = audit::verify_chain(**st);
  if (v.ok()) return "ok " + std::to_string(*v);
  EXPECT_EQ(v.error().code, "tampered") << v.error().message;
  return v.error().message;
}

int sqlite_rows(const std::string& path) {
  return testing::sqlite_int(path, "SELECT count(*) FROM audit_events");
}

size_t journal_files(const std::string& path) {
  auto l = journal::list(path);
  EXPECT_TRUE(l.ok());
  return l.ok() ? l->size() : 0;
}

// Opens the store as a restarted gateway does (recovering the journal into SQLite), checks it
// holds `rows` records and no journal file, and appends record `rows + 1` to continue the chain.
void recover_and_continue(const std::string& path, int rows) {
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(journal_files(path), 0u);  // recovered into SQLite
  EXPECT_EQ(sqlite_rows(path), rows);
  audit::Log log(std::move(*st), "gw-2");
  ASSERT_TRUE(log.open().ok());
  EXPECT_EQ(log.last_seq(), uint64_t(rows));
  EXPECT_EQ(append_sync(log, ev(rows + 1)), uint64_t(rows + 1));
}

std::string read_all(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const std::string& file, const std::string& data) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << data;
}

// Replaces `from` by `to` in the journal line of record `seq` (or appends raw bytes to the content
// of the newest file, i.e. before its zero padding, when seq is 0), the way someone with file
// access would.
void edit_journal(const std::string& path, uint64_t seq, const std::string& from,
                  const std::string& to) {
  auto files = journal::list(path);
  ASSERT_TRUE(files.ok() && !files->empty());
  if (seq == 0) {
    std::string data = read_all(files->back().path);
    size_t end = std::min(data.find('\0'), data.size());
    data.replace(end, std::min(to.size(), data.size() - end), to);
    write_all(files->back().path, data);
    return;
  }
  std::string key = "\"seq\":" + std::to_string(seq) + ",";
  for (const auto& f : *files) {
    std::ifstream in(f.path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    size_t at = data.find(key);
    if (at == std::string::npos) continue;
    size_t line = data.rfind('\n', at);
    line = line == std::string::npos ? 0 : line + 1;
    size_t hit = data.find(from, line);
    ASSERT_NE(hit, std::string::npos);
    ASSERT_LT(hit, data.find('\n', line));
    data.replace(hit, from.size(), to);
    std::ofstream(f.path, std::ios::trunc) << data;
    return;
  }
  FAIL() << "seq " << seq << " is not in the journal";
}

// A process that appends n strictly durable records and then dies without closing anything, so
// the journal is all that holds them (SQLite stays empty: background ingest is off).
void write_and_die(const std::string& path, int n) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    SqliteOptions o;
    o.background_ingest = false;
    auto st = open_sqlite_audit_store(path, o);
    if (!st.ok()) _exit(2);
    auto* log = new audit::Log(std::move(*st), "gw-1");  // never closed, on purpose
    if (!log->open().ok()) _exit(3);
    for (int i = 1; i <= n; ++i) {
      if (append_sync(*log, ev(i)) != uint64_t(i)) _exit(4);
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Journal, AcknowledgedRecordsAreVisibleToReadersBeforeIngest) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  SqliteOptions o;
  o.background_ingest = false;
  auto st = open_sqlite_audit_store(path, o);
  ASSERT_TRUE(st.ok()) << st.error().message;
  audit::Store* store = st->get();
  audit::Log log(std::move(*st), "gw-1");
  ASSERT_TRUE(log.open().ok());
  for (int i = 1; i <= 20; ++i) ASSERT_EQ(append_sync(log, ev(i)), uint64_t(i));
  EXPECT_EQ(sqlite_rows(path), 0);  // only the journal has them
  EXPECT_EQ(verify(path), "ok 20");
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto last = (*ro)->last();
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->seq, 20u);
  std::vector<uint64_t> seen;
  ASSERT_TRUE((*ro)
                  ->scan(15,
                         [&](const Event& e) {
                           seen.push_back(e.seq);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{15, 16, 17, 18, 19, 20}));

  // Part in SQLite, all in the journal: the reader joins them without duplicates. (The writer is
  // idle after flush, so the test may use the store from this thread.)
  log.flush();
  ASSERT_TRUE(store->last().ok());  // the writing store ingests before answering
  EXPECT_EQ(sqlite_rows(path), 20);
  for (int i = 21; i <= 25; ++i) ASSERT_EQ(append_sync(log, ev(i)), uint64_t(i));
  EXPECT_EQ(verify(path), "ok 25");
  EXPECT_GE(journal_files(path), 1u);

  // Tampering with the journal is caught, whether the record is also in SQLite or not yet.
  edit_journal(path, 23, "\"rows\":5", "\"rows\":6");
  EXPECT_EQ(verify(path), "seq 23: hash mismatch \xE2\x80\x94 record edited");
  edit_journal(path, 23, "\"rows\":6", "\"rows\":5");
  EXPECT_EQ(verify(path), "ok 25");
  edit_journal(path, 7, "\"rows\":5", "\"rows\":6");
  EXPECT_EQ(verify(path), "seq 7: journal record differs from the stored one");
  edit_journal(path, 7, "\"rows\":6", "\"rows\": 5");
  EXPECT_EQ(verify(path).substr(0, 6), "seq 7:");
}

TEST(Journal, CloseIngestsEverythingAndRemovesTheJournal) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  {
    SqliteOptions o;
    o.journal_rotate_bytes = 2000;  // several files
    auto st = open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok());
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    for (int i = 1; i <= 50; ++i) log.append(ev(i));
  }
  EXPECT_EQ(journal_files(path), 0u);
  EXPECT_EQ(sqlite_rows(path), 50);
  EXPECT_EQ(verify(path), "ok 50");
}

TEST(Journal, TornFinalLineIsCutOffOnRecovery) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_and_die(path, 5);
  edit_journal(path, 0, "", "{\"act_sub\":\"\",\"action\":\"SEL");  // a write cut short
  EXPECT_EQ(verify(path), "ok 5");  // readers ignore an incomplete last line
  recover_and_continue(path, 5);
  EXPECT_EQ(verify(path), "ok 6");
}

TEST(Journal, TamperedJournalIsDetectedAndBlocksRecovery) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_and_die(path, 5);
  edit_journal(path, 3, "\"rows\":5", "\"rows\":0");
  EXPECT_EQ(verify(path), "seq 3: hash mismatch \xE2\x80\x94 record edited");
  auto st = open_sqlite_audit_store(path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "tampered");
  EXPECT_EQ(sqlite_rows(path), 0);
}

TEST(Journal, MalformedOrReorderedJournalLinesAreTampering) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_and_die(path, 4);
  edit_journal(path, 2, "\"seq\":2,", "\"seq\":9,");
  EXPECT_EQ(verify(path).substr(0, 6), "seq 3:");  // 9 then 3: out of order
  edit_journal(path, 9, "\"seq\":9,", "\"seq\":2,");
  EXPECT_EQ(verify(path), "ok 4");
  edit_journal(path, 0, "", "garbage\n");
  auto v = verify(path);
  EXPECT_NE(v.find("not a well-formed audit record"), std::string::npos) << v;
}

// Crash consistency: a child process appends from several threads with strict durability and
// reports each acknowledged seq through a pipe; it is SIGKILLed mid-stream. Every acknowledged
// record must be there, first for a reader (before any recovery), then after reopening.
TEST(Journal, EveryAcknowledgedRecordSurvivesKillNine) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    SqliteOptions o;
    o.ingest_interval = std::chrono::milliseconds(2);  // ingest and rotate while appending
    o.ingest_records = 64;
    o.journal_rotate_bytes = 16 << 10;
    auto st = open_sqlite_audit_store(path, o);
    if (!st.ok()) _exit(2);
    auto* log = new audit::Log(std::move(*st), "gw-1");
    if (!log->open().ok()) _exit(3);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          uint64_t seq = append_sync(*log, ev(t * 1000000 + i));
          if (seq == 0 || write(fds[1], &seq, sizeof seq) != sizeof seq) _exit(5);
        }
      });
    }
    for (auto& t : ts) t.join();
    _exit(0);
  }
  close(fds[1]);
  uint64_t max_acked = 0, acks = 0, seq = 0;
  std::string mid_verify;
  while (acks < 3000 && read(fds[0], &seq, sizeof seq) == sizeof seq) {
    ++acks;
    max_acked = std::max(max_acked, seq);
    if (acks == 1500) {
      // A reader in another process while the writer runs sees at least what was acknowledged.
      uint64_t before = max_acked;
      auto ro = open_sqlite_audit_store_readonly(path);
      ASSERT_TRUE(ro.ok()) << ro.error().message;
      auto v = audit::verify_chain(**ro);
      ASSERT_TRUE(v.ok()) << v.error().message;
      EXPECT_GE(*v, before);
    }
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Acks the child wrote before it died are still in the pipe.
  while (read(fds[0], &seq, sizeof seq) == sizeof seq) max_acked = std::max(max_acked, seq);
  close(fds[0]);
  ASSERT_GE(acks, 3000u);

  // A contiguous, verified chain at least as long as the highest ack holds every acked seq.
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  auto v = audit::verify_chain(**ro);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_GE(*v, max_acked);
  uint64_t count = *v;
  {
    auto st = open_sqlite_audit_store(path);
    ASSERT_TRUE(st.ok()) << st.error().message;
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    EXPECT_GE(log.last_seq(), count);
    uint64_t recovered = log.last_seq();
    EXPECT_EQ(append_sync(log, ev(0)), recovered + 1);
    count = recovered;
  }
  EXPECT_EQ(journal_files(path), 0u);
  EXPECT_EQ(verify(path), "ok " + std::to_string(count + 1));
}

// The Log's inline commit hands the store pointers and line offsets (append_encoded_refs) instead
// of a vector and lines to split: same journal and rows, and offsets that do not describe one line
// per record are refused before anything is written.
TEST(Journal, AppendEncodedRefsStoresTheSameRecords) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  {
    auto st = open_sqlite_audit_store(path);
    ASSERT_TRUE(st.ok());
    audit::Log log(std::move(*st), "node-1");
    ASSERT_TRUE(log.open().ok());
    std::vector<Event> batch = {ev(1), ev(2)};
    auto first = log.append_now(batch);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ(batch[1].seq, 2u);  // handed back with seq and hash filled in
    EXPECT_EQ(batch[1].prev_hash, batch[0].hash);
    log.append(ev(3));
    std::vector<Event> one = {ev(4)};
    ASSERT_TRUE(log.append_now(one).ok());
    EXPECT_EQ(one[0].seq, 4u);  // the lazily queued record went first
    log.close();
  }
  EXPECT_EQ(verify(path), "ok 4");
  EXPECT_EQ(sqlite_rows(path), 4);

  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  Event e = ev(5);
  e.seq = 5;
  e.hash = std::string(64, 'a');
  std::string line = audit::to_json_line(e) + "\n";
  std::vector<const Event*> refs = {&e};
  EXPECT_FALSE((*st)->append_encoded_refs(refs, line, {line.size() - 1}).ok());
  EXPECT_FALSE((*st)->append_encoded_refs(refs, line, {}).ok());
  EXPECT_FALSE((*st)->append_encoded_refs(refs, line + line, {line.size()}).ok());
}

// The background ingest derives the indexed columns from the journal lines: fields that the line
// holds escaped (quotes, control characters, NUL) or sanitized (invalid UTF-8) must land in their
// columns as the record's own text, or readers report the rows as tampered.
TEST(Journal, IngestDerivesColumnsFromEscapedAndSanitizedLines) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  SqliteOptions o;
  o.ingest_interval = std::chrono::milliseconds(1);
  o.ingest_records = 1;
  {
    auto st = open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok());
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    for (int i = 1; i <= 40; ++i) {
      Event e = ev(i);
      if (i % 4 == 1) e.session_id = std::string("s\"q\\\0\x01", 6) + std::to_string(i);
      if (i % 4 == 2) e.sub = "al\xffice";
      if (i % 4 == 3) e.resource = "r\u2028\t\xc0";
      if (i % 5 == 0) e.type = "t\x7f\n";
      ASSERT_EQ(append_sync(log, std::move(e)), uint64_t(i));
    }
    // Wait (bounded) until the ingest thread has put everything into SQLite while the log runs.
    for (int k = 0; k < 500 && sqlite_rows(path) < 40; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(sqlite_rows(path), 40);
    EXPECT_EQ(verify(path), "ok 40");  // read-only: SQLite rows plus the journal, columns checked
    EXPECT_FALSE(log.failed());
    log.close();
  }
  EXPECT_EQ(verify(path), "ok 40");
  auto ro = open_sqlite_audit_store_readonly(path);
  ASSERT_TRUE(ro.ok());
  int n = 0;
  ASSERT_TRUE((*ro)->scan_lines(1, [&](uint64_t, std::string_view) { return ++n > 0; }).ok());
  EXPECT_EQ(n, 40);
  ASSERT_TRUE((*ro)
                  ->scan(1,
                         [&](const Event& e) {
                           if (e.seq == 2) {
                             EXPECT_EQ(e.sub, "al\xef\xbf\xbdice");
                           }
                           if (e.seq == 1) {
                             EXPECT_EQ(e.session_id, std::string("s\"q\\\0\x01", 6) + "1");
                           }
                           return true;
                         })
                  .ok());
}

// The newest journal file is a preallocated segment: its content ends at the first NUL, the rest is
// zero padding. Readers and recovery see exactly the records; recovery cuts the padding.
TEST(Journal, NewestSegmentIsZeroPaddedAndReadersStopAtThePadding) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_and_die(path, 5);
  auto files = journal::list(path);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  std::string data = read_all(files->back().path);
  size_t end = data.find('\0');
  ASSERT_NE(end, std::string::npos);  // padded
  EXPECT_EQ(data[end - 1], '\n');
  EXPECT_EQ(std::count(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(end), '\n'), 5);
  EXPECT_TRUE(std::all_of(data.begin() + static_cast<std::ptrdiff_t>(end), data.end(),
                          [](char c) { return c == 0; }));
  EXPECT_EQ(verify(path), "ok 5");
  auto snap = journal::load(path);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries.size(), 5u);
  EXPECT_EQ(snap->torn_at, end);
  EXPECT_FALSE(snap->torn_partial);
  auto lines = journal::load_lines(path, 3);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ(lines->front().seq, 3u);
  recover_and_continue(path, 5);
  EXPECT_EQ(verify(path), "ok 6");
}

// A copy torn by kill -9 may have stored later bytes of the batch (its last line's '\n' even)
// before earlier ones: what follows the first zero byte is never content, however it looks.
TEST(Journal, TornCopyWithAZeroGapIsCutOff) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_and_die(path, 4);
  auto files = journal::list(path);
  ASSERT_TRUE(files.ok() && files->size() == 1u);
  std::string data = read_all(files->back().path);
  size_t end = data.find('\0');
  ASSERT_NE(end, std::string::npos);
  // A whole valid-looking line (record 2's) after a gap of zeros, as if the batch's head was lost.
  size_t l1 = data.find('\n') + 1, l2 = data.find('\n', l1) + 1;
  std::string torn = std::string(40, '\0') + data.substr(l1, l2 - l1);
  ASSERT_LE(end + 3 + torn.size(), data.size());
  data.replace(end, 3 + torn.size(), "{\"a" + torn);
  write_all(files->back().path, data);
  EXPECT_EQ(verify(path), "ok 4");
  auto snap = journal::load(path);
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->torn_partial);
  EXPECT_EQ(snap->torn_at, end);
  recover_and_continue(path, 4);
  EXPECT_EQ(verify(path), "ok 5");
}

// Rotation cuts a file to its content before the next one starts, so a NUL byte in a file that is
// not the newest is tampering, not padding.
TEST(Journal, ClosedSegmentsKeepNoPaddingAndANulInThemIsTampering) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      SqliteOptions o;
      o.background_ingest = false;
      o.journal_rotate_bytes = 1500;  // a few records per file
      auto st = open_sqlite_audit_store(path, o);
      if (!st.ok()) _exit(2);
      auto* log = new audit::Log(std::move(*st), "gw-1");
      if (!log->open().ok()) _exit(3);
      for (int i = 1; i <= 20; ++i) {
        if (append_sync(*log, ev(i)) != uint64_t(i)) _exit(4);
      }
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto files = journal::list(path);
  ASSERT_TRUE(files.ok());
  ASSERT_GE(files->size(), 3u);
  for (size_t i = 0; i + 1 < files->size(); ++i) {
    std::string data = read_all((*files)[i].path);
    EXPECT_EQ(data.find('\0'), std::string::npos) << (*files)[i].path;
    EXPECT_EQ(data.back(), '\n');
  }
  EXPECT_EQ(read_all(files->back().path).find('\0') != std::string::npos, true);
  EXPECT_EQ(verify(path), "ok 20");
  std::string first = (*files)[0].path;
  write_all(first, read_all(first) + std::string(8, '\0'));
  EXPECT_NE(verify(path).find("incomplete line in a closed journal file"), std::string::npos);
  auto st = open_sqlite_audit_store(path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "tampered");
}

// Segments are prepared ahead under a temporary name while the writer runs: readers never list
// them, one left by a crashed process is removed on open, and close leaves nothing behind.
TEST(Journal, PreparedSegmentsAreInvisibleAndCleanedUp) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  write_all(journal::spare_path(path, 7), std::string(4096, '\0'));  // from a previous process
  SqliteOptions o;
  o.journal_rotate_bytes = 4096;
  o.ingest_interval = std::chrono::milliseconds(5);
  {
    auto st = open_sqlite_audit_store(path, o);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_FALSE(fs::exists(journal::spare_path(path, 7)));
    audit::Log log(std::move(*st), "gw-1");
    ASSERT_TRUE(log.open().ok());
    for (int i = 1; i <= 200; ++i) {
      ASSERT_EQ(append_sync(log, ev(i)), uint64_t(i));
      if (i % 50 == 0) {
        EXPECT_EQ(verify(path), "ok " + std::to_string(i));
      }
    }
    size_t spares = 0;
    for (const auto& d : fs::directory_iterator(dir.path())) {
      spares += d.path().filename().string().find("-audit-next-") != std::string::npos;
    }
    EXPECT_LE(spares, 1u);
  }
  EXPECT_EQ(verify(path), "ok 200");
  for (const auto& d : fs::directory_iterator(dir.path())) {
    std::string name = d.path().filename().string();
    EXPECT_TRUE(name == "audit.db" || name.starts_with("audit.db-wal") ||
                name.starts_with("audit.db-shm"))
        << name;
  }
}

TEST(Journal, BatchWithANulByteIsRefused) {
  TempDir dir;
  std::string path = dir.file("audit.db");
  auto st = open_sqlite_audit_store(path);
  ASSERT_TRUE(st.ok());
  Event e = ev(1);
  e.seq = 1;
  e.hash = std::string(64, 'a');
  std::string line = audit::to_json_line(e);
  line.replace(line.find("SELECT"), 1, std::string(1, '\0'));
  line += "\n";
  std::vector<const Event*> refs = {&e};
  auto r = (*st)->append_encoded_refs(refs, line, {line.size()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("NUL"), std::string::npos);
  EXPECT_EQ(journal_files(path), 0u);
}

}  // namespace
}  // namespace phigate::store
