#pragma once
// Audit exporters (DESIGN.md §4 audit.export): ship committed audit records and signed checkpoints
// to a SIEM or file, at least once, without ever slowing the data path.
//
// Each exporter runs on its own thread and reads only from the store (through its own read-only
// connection, never the Log): it takes up to `batch` records after its cursor, with the signed
// checkpoints that fall in that range right after the record completing their tree, formats them
// (jsonl or ocsf, export_format.h) and hands them to its Sink. Only when the sink reports success
// (the receiver acknowledged, or the write returned) does the cursor advance and get persisted to
// data_dir/export-<name>.cursor (write to a temp file, fsync, rename). A crash between send and
// cursor write re-sends that batch after restart: at-least-once, duplicates only of the last batch.
//
// Back-pressure: the exporter holds at most one batch in memory and never queues; when the
// receiver is slow or down, it simply falls behind (records stay in the store) and retries with
// exponential backoff (backoff_min doubling to backoff_max). lag() is the number of committed
// records not yet delivered; a line is logged every 30 s while an exporter lags or fails.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/export_format.h"
#include "audit/store.h"

namespace phigate::audit {

// One formatted item of a batch.
struct ExportItem {
  ExportMeta meta;   // seq/time/type of the record (for a checkpoint: tree_size, its time)
  std::string body;  // one JSON object (no '\n'), in the exporter's format
  bool checkpoint = false;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Delivers every item or fails; on failure the whole batch is sent again later (so a sink that
  // delivered part of it before failing causes duplicates, never loss).
  virtual Status send(const std::vector<ExportItem>& items) = 0;
  virtual std::string describe() const = 0;  // for log lines: "syslog tcp://127.0.0.1:514"
};

struct ExportCursor {
  uint64_t seq = 0;         // last record delivered
  uint64_t checkpoint = 0;  // tree_size of the last checkpoint delivered
};
// nullopt-like errors: a missing file is {0, 0}; a malformed one is Error{"invalid"}.
Result<ExportCursor> load_export_cursor(const std::string& path);
Status save_export_cursor(const std::string& path, const ExportCursor& c);

struct ExporterOptions {
  std::string name;  // for the cursor file and log lines
  ExportFormat format = ExportFormat::kJsonl;
  std::string cursor_path;
  size_t batch = 500;
  std::chrono::milliseconds poll{200};  // how often an idle exporter looks for new records
  std::chrono::milliseconds backoff_min{100}, backoff_max{30000};
};

class Exporter {
 public:
  using OpenReader = std::function<Result<std::unique_ptr<Store>>()>;
  // head(): seq of the last committed record (the Log's last_seq), for lag and to skip idle polls.
  Exporter(ExporterOptions opts, std::unique_ptr<Sink> sink, OpenReader open_reader,
           std::function<uint64_t()> head);
  ~Exporter();  // stop()
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Loads the cursor and starts the thread. Error "invalid" for an unreadable cursor file.
  Status start();
  // Asks the thread to stop after the current send and joins it.
  void stop();
  // Wakes an idle exporter now (e.g. after a checkpoint).
  void poke();

  const std::string& name() const { return opts_.name; }
  uint64_t lag() const;  // records committed but not yet delivered
  uint64_t delivered_seq() const { return cursor_seq_.load(); }
  uint64_t failures() const { return failures_.load(); }  // failed sends so far

 private:
  void run();
  // Reads and formats the next batch; empty if there is nothing new.
  Status next_batch(std::vector<ExportItem>& items, ExportCursor& upto);
  bool wait_for(std::chrono::milliseconds d);  // false when stopping

  ExporterOptions opts_;
  std::unique_ptr<Sink> sink_;
  OpenReader open_reader_;
  std::function<uint64_t()> head_;
  std::unique_ptr<Store> reader_;
  ExportCursor cursor_;
  std::atomic<uint64_t> cursor_seq_{0}, failures_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, poked_ = false;
  std::thread thread_;
};

}  // namespace phigate::audit
