#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/canonical.h"
#include "store/sqlite/journal.h"
#include "store/sqlite/journal_segment.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_sessions.h"
#include "store/sqlite/sqlite_time_seek.h"

namespace phigate::store {
namespace {

using audit::Event;
using sqlite_detail::AuditTable;
using sqlite_detail::RowView;

static_assert(kSqliteSchemaVersion == sqlite_detail::kSchemaVersion);

Error tampered(uint64_t seq, const std::string& what) {
  return make_error("tampered", "seq " + std::to_string(seq) + ": " + what);
}

// Rows waiting for the background ingest, packed into fixed-size blocks that are kept across
// batches: once warm, a record costs no allocation, and a growing batch never reallocates (a single
// growing string did: copying megabytes and faulting in fresh pages on the appending io thread).
class Pending {
 public:
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  uint64_t last_seq() const { return static_cast<uint64_t>(rows_.back().seq); }
  void clear() {
    rows_.clear();
    // Keep a few blocks warm; a burst's extra blocks go back to the allocator.
    if (blocks_.size() > kKeepBlocks) blocks_.resize(kKeepBlocks);
    for (Block& b : blocks_) b.used = 0;
    cur_ = 0;
  }
  void add(const audit::Event& e, std::string_view line) {
    // Column copies hold what the record holds, i.e. the sanitized text (the line already is).
    std::string_view f[6] = {line, e.hash, e.session_id, e.type, e.sub, e.resource};
    std::string fixed[6];
    size_t total = 0;
    for (int i = 0; i < 6; ++i) {
      if (i > 0 && !audit::is_valid_utf8(f[i])) {
        fixed[i] = audit::sanitize_utf8(f[i]);
        f[i] = fixed[i];
      }
      total += f[i].size();
    }
    Row r{static_cast<int64_t>(e.seq),
          e.time_ns,
          reserve(total),
          {},
          sqlite_detail::summary_bits(e.decision, e.status)};
    char* p = r.data;
    for (int i = 0; i < 6; ++i) {
      if (!f[i].empty()) std::memcpy(p, f[i].data(), f[i].size());
      p += f[i].size();
      r.len[i] = f[i].size();
    }
    rows_.push_back(r);
  }
  // Views into the blocks: valid until the next clear().
  void views(std::vector<RowView>& out) const {
    out.clear();
    for (const Row& r : rows_) {
      std::string_view f[6];
      const char* p = r.data;
      for (int i = 0; i < 6; ++i) {
        f[i] = std::string_view(p, r.len[i]);
        p += r.len[i];
      }
      out.push_back(RowView{r.seq, r.time_ns, f[2], f[3], f[4], f[5], f[0], f[1], r.summary});
    }
  }

 private:
  static constexpr size_t kBlockSize = size_t(256) << 10;
  static constexpr size_t kKeepBlocks = 32;
  struct Block {
    std::unique_ptr<char[]> data;
    size_t cap = 0, used = 0;
  };
  struct Row {
    int64_t seq, time_ns;
    char* data;
    size_t len[6];  // record, hash, session_id, type, sub, resource
    uint8_t summary;
  };
  char* reserve(size_t n) {
    while (cur_ < blocks_.size() && blocks_[cur_].cap - blocks_[cur_].used < n) ++cur_;
    if (cur_ == blocks_.size()) {
      const size_t cap = std::max(n, kBlockSize);
      blocks_.push_back(Block{std::make_unique_for_overwrite<char[]>(cap), cap, 0});
    }
    Block& b = blocks_[cur_];
    char* p = b.data.get() + b.used;
    b.used += n;
    return p;
  }
  std::vector<Block> blocks_;
  size_t cur_ = 0;  // the block being filled; those before it are full enough
  std::vector<Row> rows_;
};

class SqliteAuditStore final : public audit::Store {
 public:
  SqliteAuditStore(std::unique_ptr<AuditTable> table, std::string path, SqliteOptions opts,
                   bool readonly)
      : table_(std::move(table)),
        path_(std::move(path)),
        opts_(std::move(opts)),
        readonly_(readonly),
        in_memory_(path_ == ":memory:") {}

  ~SqliteAuditStore() override {
    if (ingest_thread_.joinable()) {
      {
        std::lock_guard lk(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      ingest_thread_.join();
    }
    if (readonly_ || in_memory_) return;
    if (seg_.fd >= 0) {
      Sealed last;
      (void)seal_segment(last);  // cut to its content: closed files keep no padding
      std::lock_guard lk(mu_);
      sealed_.push_back(std::move(last));
    }
    journal::drop_segment(spare_);
    // Everything acknowledged goes into SQLite before the journal may go; if that fails the
    // journal stays and the next open ingests it.
    Status st = drain();
    if (!st.ok()) {
      spdlog::error("audit: final ingest failed ({}); the journal is kept for the next start",
                    st.error().message);
    }
    std::lock_guard lk(mu_);
    for (auto& f : sealed_) release_sealed(f, /*remove=*/st.ok());
  }

  // Writer only: ingests what a previous process left in the journal, then starts the ingest
  // thread.
  Status start() {
    if (readonly_ || in_memory_) return ok_status();
    if (auto st = recover(); !st.ok()) return st;
    journal::remove_spares(path_);
    if (opts_.background_ingest) {
      // The first segment is prepared here, the next ones by the ingest thread.
      spare_ =
          journal::make_segment(journal::spare_path(path_, ++spare_no_), segment_bytes(0), true);
      ingest_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "audit-ingest");
        ingest_loop();
      });
    }
    return ok_status();
  }

  Status append(const std::vector<Event>& batch) override {
    encoded_.clear();
    ends_.clear();
    refs_.clear();
    for (const Event& e : batch) {
      audit::append_json_line(e, encoded_);
      encoded_ += '\n';
      ends_.push_back(encoded_.size());
      refs_.push_back(&e);
    }
    return append_encoded_refs(refs_, encoded_, ends_);
  }

  Status append_encoded_refs(const std::vector<const Event*>& batch, std::string_view lines,
                             const std::vector<size_t>& line_ends) override {
    if (line_ends.size() != batch.size() ||
        (!line_ends.empty() && line_ends.back() != lines.size())) {
      return make_error("store", "encoded batch does not hold one line per record");
    }
    line_views_.clear();
    size_t begin = 0;
    for (size_t end : line_ends) {
      if (end <= begin || end > lines.size() || lines[end - 1] != '\n') {
        return make_error("store", "encoded batch does not hold one line per record");
      }
      line_views_.push_back(lines.substr(begin, end - 1 - begin));
      begin = end;
    }
    // The journal's unused tail is zeros, so a NUL would end the journal's content (JSON lines
    // never hold one: the encoder escapes it).
    if (std::memchr(lines.data(), 0, lines.size()) != nullptr) {
      return make_error("store", "encoded batch holds a NUL byte");
    }
    return append_lines(batch, lines);
  }

  Result<std::optional<Event>> last() override {
    if (!readonly_) {
      if (auto st = drain(); !st.ok()) return st.error();
      std::lock_guard db(db_mu_);
      return table_->last();
    }
    // Journal first, then SQLite: see scan().
    auto snap = journal::load(path_);
    if (!snap.ok()) return snap.error();
    auto stored = table_->last();
    if (!stored.ok()) return stored.error();
    if (!snap->entries.empty() &&
        (!stored->has_value() || snap->entries.back().event.seq > (*stored)->seq)) {
      return std::optional<Event>(std::move(snap->entries.back().event));
    }
    return stored;
  }

  Status scan(uint64_t from, const std::function<bool(const Event&)>& fn) override {
    if (!readonly_) {
      if (auto st = drain(); !st.ok()) return st;
      std::lock_guard db(db_mu_);
      return table_->scan(from, [&](const Event& e, std::string_view) { return fn(e); });
    }
    // The journal is read before SQLite's read transaction starts. A journal file only goes after
    // its records were committed to SQLite, so every record acknowledged before this call is in
    // the journal as read here or in the (later) SQLite snapshot; and because files go oldest
    // first, the two together still form a contiguous chain.
    auto snap = journal::load(path_);
    if (!snap.ok()) return snap.error();
    const auto& entries = snap->entries;
    uint64_t next = from;
    bool stopped = false;
    std::optional<Error> bad;
    Status st = table_->scan(from, [&](const Event& e, std::string_view record) {
      auto it =
          std::lower_bound(entries.begin(), entries.end(), e.seq,
                           [](const journal::Entry& j, uint64_t s) { return j.event.seq < s; });
      if (it != entries.end() && it->event.seq == e.seq && it->line != record) {
        bad = tampered(e.seq, "journal record differs from the stored one");
        return false;
      }
      next = std::max(next, e.seq + 1);
      stopped = !fn(e);
      return !stopped;
    });
    if (bad) return *bad;
    if (!st.ok() || stopped) return st;
    for (const auto& j : entries) {
      if (j.event.seq >= next && !fn(j.event)) break;
    }
    return ok_status();
  }

  Status scan_lines(uint64_t from,
                    const std::function<bool(uint64_t, std::string_view)>& fn) override {
    if (!readonly_) {
      if (auto st = drain(); !st.ok()) return st;
      std::lock_guard db(db_mu_);
      return table_->scan_lines(from, fn);
    }
    // Same protocol as scan(): the journal first, then SQLite's snapshot, then the journal records
    // beyond SQLite's last row.
    auto entries = journal::load_lines(path_, from);
    if (!entries.ok()) return entries.error();
    uint64_t next = from;
    bool stopped = false;
    std::optional<Error> bad;
    Status st = table_->scan_lines(from, [&](uint64_t key, std::string_view record) {
      auto it = std::lower_bound(entries->begin(), entries->end(), key,
                                 [](const journal::LineEntry& j, uint64_t s) { return j.seq < s; });
      if (it != entries->end() && it->seq == key && it->line != record) {
        bad = tampered(key, "journal record differs from the stored one");
        return false;
      }
      next = std::max(next, key + 1);
      stopped = !fn(key, record);
      return !stopped;
    });
    if (bad) return *bad;
    if (!st.ok() || stopped) return st;
    for (const auto& j : *entries) {
      if (j.seq >= next && !fn(j.seq, j.line)) break;
    }
    return ok_status();
  }

  // SQLite's rows only: journal records all come after them, so the result stays at or before
  // them (sqlite_time_seek.h).
  Result<uint64_t> seq_near_time(int64_t time_ns) override {
    if (!readonly_) {
      if (auto st = drain(); !st.ok()) return st.error();
    }
    std::lock_guard db(db_mu_);
    return sqlite_detail::seq_near_time(table_->handle(), time_ns);
  }

  // From the session index when it can be trusted (sqlite_sessions.h), else the scan.
  Result<std::vector<audit::SessionSummary>> sessions(const audit::SessionFilter& f) override {
    if (auto st = drain(); !st.ok()) return st.error();
    auto r = sqlite_detail::indexed_sessions(index_reads(), f);
    if (!r.ok()) return r.error();
    return r->has_value() ? std::move(**r) : audit::Store::sessions(f);
  }

  Status scan_session(const std::string& id, const std::function<bool(const Event&)>& fn) override {
    if (auto st = drain(); !st.ok()) return st;
    auto r = sqlite_detail::indexed_scan_session(index_reads(), id, fn);
    if (!r.ok()) return r.error();
    return *r ? ok_status() : audit::Store::scan_session(id, fn);
  }

  Status append_checkpoint(const audit::Checkpoint& c) override {
    if (readonly_) return make_error("store", "audit store opened read-only");
    // Written straight to SQLite, synchronously: checkpoints are rare, so the journal's batching
    // buys nothing. The records it covers may still be in the journal only; readers combine both,
    // and a restart ingests the journal before anything else.
    std::lock_guard db(db_mu_);
    return table_->insert_checkpoint(c);
  }

  Status append_checkpoint_with_frontier(const audit::Checkpoint& c,
                                         const std::vector<Sha256>& frontier) override {
    if (readonly_) return make_error("store", "audit store opened read-only");
    std::lock_guard db(db_mu_);
    return table_->insert_checkpoint(c, &frontier);
  }

  Result<std::optional<audit::CheckpointFrontier>> newest_checkpoint_frontier() override {
    std::lock_guard db(db_mu_);
    return table_->newest_checkpoint_frontier();
  }

  Result<uint64_t> newest_checkpoint_size() override {
    std::lock_guard db(db_mu_);
    return table_->newest_checkpoint_size();
  }

  Result<std::vector<audit::Checkpoint>> checkpoints() override {
    std::lock_guard db(db_mu_);
    return table_->checkpoints();
  }

  Result<std::optional<audit::Anchor>> anchor() override {
    std::lock_guard db(db_mu_);
    return table_->anchor();
  }

 private:
  // A journal file the writer closed, kept (with its mapping: unmapping costs ~0.3 ms, which is
  // the ingest thread's to pay) until all its records are in SQLite.
  struct Sealed {
    std::string path;
    uint64_t last_seq = 0;
    char* map = nullptr;
    size_t cap = 0;
  };

  static void release_sealed(Sealed& f, bool remove) {
    if (f.map) ::munmap(f.map, f.cap);
    f.map = nullptr;
    if (remove) unlink_journal(f.path);
  }

  size_t max_pending() const { return std::max<size_t>(opts_.ingest_records, 1) * 20; }

  sqlite_detail::IndexReads index_reads() {
    return {[this](const std::function<Status(AuditTable&)>& fn) {
              std::lock_guard db(db_mu_);
              return fn(*table_);
            },
            [this](uint64_t from, const std::function<bool(const Event&)>& fn) {
              return scan(from, fn);
            }};
  }

  // append_encoded_refs with line_views_ already split: one view per record of `lines`.
  Status append_lines(const std::vector<const Event*>& batch, std::string_view lines) {
    if (readonly_) return make_error("store", "audit store opened read-only");
    if (batch.empty()) return ok_status();
    if (auto st = check_seqs(batch); !st.ok()) return st;
    if (broken_.load(std::memory_order_acquire)) return broken_error();
    if (in_memory_) return insert_now(batch);
    std::optional<Sealed> sealed;
    if (seg_.fd >= 0 && lines.size() > seg_.cap - cur_bytes_) {
      // The batch does not fit: close this file (cut to its content) and start the next.
      if (auto st = seal_segment(sealed.emplace()); !st.ok()) return fail(st.error());
    }
    const bool opened = seg_.fd < 0;
    if (opened) {
      if (auto st = open_segment(batch.front()->seq, lines.size()); !st.ok()) {
        return fail(st.error());
      }
    }
    if (seg_.map) {
      // The pages were allocated and faulted in when the segment was prepared (off this thread):
      // the copy is the whole cost, and once it returned the kernel owns the bytes.
      std::memcpy(seg_.map + cur_bytes_, lines.data(), lines.size());
    } else if (auto st = journal::pwrite_all(seg_.fd, lines, cur_bytes_); !st.ok()) {
      // Zero the partial batch again so the file stays a sequence of whole lines; the log fails
      // closed from here on anyway.
      std::string zeros(lines.size(), '\0');
      (void)journal::pwrite_all(seg_.fd, zeros, cur_bytes_);
      return fail(st.error());
    }
    if (opts_.sync == "full" && ::fdatasync(seg_.fd) != 0) {
      return fail(
          make_error("store", std::string("fdatasync audit journal: ") + std::strerror(errno)));
    }
    // Durable from here on. The rest only schedules the SQLite copy.
    last_seq_ = batch.back()->seq;
    cur_bytes_ += lines.size();
    bool wake;
    {
      std::unique_lock lk(mu_);
      const size_t before = pending_.size();
      for (size_t i = 0; i < batch.size(); ++i) pending_.add(*batch[i], line_views_[i]);
      // Wake the ingest thread only on the edges it waits for, not on every batch.
      wake =
          before == 0 || (before < opts_.ingest_records && pending_.size() >= opts_.ingest_records);
      if (sealed) sealed_.push_back(std::move(*sealed));
      if (opened && ingest_thread_.joinable()) wake = true;  // to prepare the next spare segment
      // Backpressure: if SQLite cannot keep up, memory must not grow without bound. Waiting here
      // stalls the Log's writer, whose bounded queue then pushes back on appenders.
      if (ingest_thread_.joinable() && pending_.size() >= max_pending()) {
        cv_.notify_one();
        idle_.wait(lk, [&] { return pending_.size() < max_pending() || broken_msg_; });
      }
    }
    if (wake) cv_.notify_one();
    return ok_status();
  }

  // Seqs must rise strictly from the last appended record (a duplicate would only fail later, in
  // the background ingest, after the record was acknowledged).
  Status check_seqs(const std::vector<const Event*>& batch) {
    uint64_t min = last_seq_ + 1;
    for (const Event* e : batch) {
      if (e->seq < min || e->seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return make_error("store", "audit seq " + std::to_string(e->seq) + " out of order (last " +
                                       std::to_string(last_seq_) + ")");
      }
      min = e->seq + 1;
    }
    return ok_status();
  }

  size_t segment_bytes(size_t batch) const {
    return std::max({opts_.journal_rotate_bytes, batch, size_t(4096)});
  }

  // Writer: the segment for a batch of `bytes` starting at first_seq, from the prepared spare when
  // there is one (renamed into place), else made here.
  Status open_segment(uint64_t first_seq, size_t bytes) {
    std::string p = journal::path_for(path_, first_seq);
    journal::Segment s;
    {
      std::lock_guard lk(mu_);
      if (spare_.fd >= 0 && spare_.cap >= bytes) s = std::exchange(spare_, journal::Segment{});
      if (ingest_thread_.joinable()) spare_wanted_ = true;  // the ingest thread prepares the next
    }
    if (s.fd >= 0) {
      if (::rename(s.path.c_str(), p.c_str()) != 0) {
        Error e = make_error("store", "rename " + s.path + ": " + std::strerror(errno));
        journal::drop_segment(s);
        return e;
      }
      s.path = p;
    } else {
      s = journal::make_segment(p, segment_bytes(bytes), false);
      if (s.fd < 0) return make_error("store", "cannot create audit journal " + p);
    }
    // With sync "full" the new name must survive power loss before records in it are acknowledged.
    if (opts_.sync == "full") {
      if (auto st = journal::sync_dir(path_); !st.ok()) {
        seg_ = std::move(s);
        return st;
      }
    }
    seg_ = std::move(s);
    cur_bytes_ = 0;
    return ok_status();
  }

  // Writer: closes the current segment, cut to its content, into `closed` (its mapping stays
  // until the file goes). A closed file never keeps zero padding (readers report that as
  // tampering), so a failure here fails the store.
  Status seal_segment(Sealed& closed) {
    Status st = ok_status();
    if (::ftruncate(seg_.fd, static_cast<off_t>(cur_bytes_)) != 0) {
      st = make_error("store", "cut audit journal " + seg_.path + ": " + std::strerror(errno));
    } else if (opts_.sync == "full" && ::fdatasync(seg_.fd) != 0) {
      st = make_error("store", "fdatasync audit journal: " + std::string(std::strerror(errno)));
    }
    ::close(seg_.fd);
    closed = Sealed{std::move(seg_.path), last_seq_, seg_.map, seg_.cap};
    seg_ = journal::Segment{};
    cur_bytes_ = 0;
    return st;
  }

  Error fail(Error e) {
    std::lock_guard lk(mu_);
    if (!broken_msg_) broken_msg_ = e;
    broken_.store(true, std::memory_order_release);
    return e;
  }

  Error broken_error() {
    std::lock_guard lk(mu_);
    return make_error("store", "audit store failed earlier: " +
                                   (broken_msg_ ? broken_msg_->message : std::string("?")));
  }

  Status insert_now(const std::vector<const Event*>& batch) {
    for (size_t i = 0; i < batch.size(); ++i) pending_.add(*batch[i], line_views_[i]);
    pending_.views(views_);
    Status st = table_->insert(views_);
    pending_.clear();
    if (st.ok()) last_seq_ = batch.back()->seq;
    return st;
  }

  void ingest_loop() {
    std::unique_lock lk(mu_);
    // When the pending rows go in (time_point::max(): nothing is waiting yet).
    auto due = std::chrono::steady_clock::time_point::max();
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !pending_.empty() || spare_wanted_; });
      if (stop_) return;
      if (spare_wanted_) {
        // The writer took the spare segment: prepare the next one (allocating and faulting in
        // its pages is what the appending thread would otherwise pay, page by page).
        spare_wanted_ = false;
        const std::string p = journal::spare_path(path_, ++spare_no_);
        lk.unlock();
        journal::Segment s = journal::make_segment(p, segment_bytes(0), true);
        lk.lock();
        if (stop_ || spare_.fd >= 0) {
          journal::drop_segment(s);
        } else {
          spare_ = std::move(s);
        }
        continue;
      }
      // Let records accumulate: one large transaction is what makes SQLite cheap per record.
      if (due == std::chrono::steady_clock::time_point::max()) {
        due = std::chrono::steady_clock::now() + opts_.ingest_interval;
      }
      cv_.wait_until(lk, due, [&] {
        return stop_ || spare_wanted_ || pending_.size() >= opts_.ingest_records;
      });
      if (stop_) return;
      if (spare_wanted_ && pending_.size() < opts_.ingest_records &&
          std::chrono::steady_clock::now() < due) {
        continue;
      }
      due = std::chrono::steady_clock::time_point::max();
      (void)ingest(lk);  // a failure is recorded in broken_ and fails the next append
    }
  }

  // Ingests everything pending now, on the calling thread.
  Status drain() {
    if (readonly_ || in_memory_) return ok_status();
    std::unique_lock lk(mu_);
    return ingest(lk);
  }

  // Moves the pending rows into SQLite. Called with mu_ held; releases it during the transaction.
  Status ingest(std::unique_lock<std::mutex>& lk) {
    idle_.wait(lk, [&] { return !ingesting_; });  // one ingest at a time keeps seq order
    if (broken_msg_) return broken_error_locked();
    if (pending_.empty()) return ok_status();
    ingesting_ = true;
    std::swap(pending_, work_);
    idle_.notify_all();  // a writer waiting for pending_ to shrink may go on
    lk.unlock();
    work_.views(views_);
    Status st = ok_status();
    {
      std::lock_guard db(db_mu_);
      st = table_->insert(views_);
    }
    const uint64_t upto = work_.last_seq();
    work_.clear();
    std::vector<Sealed> done;
    lk.lock();
    ingesting_ = false;
    if (!st.ok()) {
      // The records stay in the journal (the next open ingests them), but this process can no
      // longer keep SQLite in step: fail closed.
      spdlog::error("audit: ingest into SQLite failed: {}", st.error().message);
      if (!broken_msg_) broken_msg_ = st.error();
      broken_.store(true, std::memory_order_release);
    } else {
      while (!sealed_.empty() && sealed_.front().last_seq <= upto) {
        done.push_back(std::move(sealed_.front()));
        sealed_.erase(sealed_.begin());
      }
    }
    idle_.notify_all();
    lk.unlock();
    for (auto& f : done) release_sealed(f, /*remove=*/true);
    lk.lock();
    return st;
  }

  Error broken_error_locked() {
    return make_error("store", "audit store failed earlier: " + broken_msg_->message);
  }

  static void unlink_journal(const std::string& f) {
    // A file left behind holds only ingested records: the next open skips and deletes it.
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("audit: cannot remove ingested journal {}: {}", f, std::strerror(errno));
    }
  }

  // Ingests the records a previous process acknowledged but did not get into SQLite.
  Status recover() {
    auto snap = journal::load(path_);
    if (!snap.ok()) return snap.error();
    if (snap->files.empty()) {
      // Nothing to recover; the chain's tail is checked when the Log opens (via last()).
      std::lock_guard db(db_mu_);
      auto stored = table_->last();
      if (stored.ok() && stored->has_value()) last_seq_ = (*stored)->seq;
      return ok_status();
    }
    auto stored = table_->last();
    if (!stored.ok()) return stored.error();
    uint64_t expect = stored->has_value() ? (*stored)->seq + 1 : 1;
    std::string prev = stored->has_value() ? (*stored)->hash : audit::kGenesisHash;
    if (!snap->torn_path.empty()) {
      // The newest file's zero padding goes too; only a partial record is worth a warning.
      if (snap->torn_partial) {
        spdlog::warn("audit: {} ends in an incomplete record (never acknowledged); cutting it off",
                     snap->torn_path);
      }
      if (::truncate(snap->torn_path.c_str(), static_cast<off_t>(snap->torn_at)) != 0) {
        return make_error("store", "truncate " + snap->torn_path + ": " + std::strerror(errno));
      }
    }
    // Recovered records must continue the chain exactly: anything else means the journal (or the
    // database) was edited, and continuing would bury that.
    std::vector<RowView> rows;
    for (const auto& j : snap->entries) {
      const Event& e = j.event;
      if (e.seq < expect) continue;  // already in SQLite (crash between commit and unlink)
      if (e.seq != expect) {
        return tampered(e.seq, "journal gap (expected " + std::to_string(expect) + ")");
      }
      if (audit::chain_hash(e.prev_hash, audit::canonical_json(e)) != e.hash) {
        return tampered(e.seq, "journal hash mismatch \xE2\x80\x94 record edited");
      }
      if (e.prev_hash != prev) return tampered(e.seq, "journal prev_hash does not match");
      // Parsed from JSON, so the fields are valid UTF-8 and equal to what the record holds.
      rows.push_back(RowView{static_cast<int64_t>(e.seq), e.time_ns, e.session_id, e.type, e.sub,
                             e.resource, j.line, e.hash,
                             sqlite_detail::summary_bits(e.decision, e.status)});
      prev = e.hash;
      ++expect;
    }
    if (!rows.empty()) {
      spdlog::info("audit: ingesting {} journal records left by the previous run", rows.size());
      if (auto st = table_->insert(rows); !st.ok()) return st;
    }
    last_seq_ = expect - 1;
    for (const auto& f : snap->files) unlink_journal(f.path);
    return ok_status();
  }

  std::unique_ptr<AuditTable> table_;
  const std::string path_;
  const SqliteOptions opts_;
  const bool readonly_, in_memory_;

  // Writer side: only the thread calling append (or the destructor) touches these.
  journal::Segment seg_;  // the newest journal file, being appended to (fd -1: none yet)
  size_t cur_bytes_ = 0;
  uint64_t last_seq_ = 0;
  std::string encoded_;
  std::vector<std::string_view> line_views_;
  std::vector<const Event*> refs_;  // append(): the batch as append_encoded_refs takes it
  std::vector<size_t> ends_;

  std::mutex db_mu_;  // the SQLite connection: ingest vs. last()/scan() on the writing store

  std::mutex mu_;
  std::condition_variable cv_;    // ingest thread: records pending / stop
  std::condition_variable idle_;  // an ingest finished
  Pending pending_, work_;        // work_ and views_ belong to whoever has ingesting_ set
  std::vector<RowView> views_;
  std::vector<Sealed> sealed_;  // rotated journal files not yet ingested, oldest first
  journal::Segment spare_;      // prepared for the writer's next file (fd -1: none ready)
  bool spare_wanted_ = false;   // the writer took the spare: the ingest thread makes another
  uint64_t spare_no_ = 0;
  bool ingesting_ = false;
  bool stop_ = false;
  std::optional<Error> broken_msg_;
  std::atomic<bool> broken_{false};
  std::thread ingest_thread_;
};

Result<std::unique_ptr<audit::Store>> open_impl(const std::string& path, const SqliteOptions& opts,
                                                bool readonly) {
  if (!readonly && opts.sync != "normal" && opts.sync != "full") {
    return make_error("config",
                      "audit sync must be \"normal\" or \"full\", got \"" + opts.sync + "\"");
  }
  std::error_code ec;
  if (readonly && !std::filesystem::exists(path, ec)) {
    return make_error("not_found", "no audit store at " + path);
  }
  auto table = AuditTable::open(path, opts.sync, readonly);
  if (!table.ok()) return table.error();
  auto store = std::make_unique<SqliteAuditStore>(std::move(*table), path, opts, readonly);
  if (auto st = store->start(); !st.ok()) return st.error();
  return std::unique_ptr<audit::Store>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const std::string& sync) {
  SqliteOptions opts;
  opts.sync = sync;
  return open_impl(path, opts, /*readonly=*/false);
}

Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const SqliteOptions& options) {
  return open_impl(path, options, /*readonly=*/false);
}

Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store_readonly(const std::string& path) {
  return open_impl(path, SqliteOptions{}, /*readonly=*/true);
}

}  // namespace phigate::store
