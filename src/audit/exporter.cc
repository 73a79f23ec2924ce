#include "audit/exporter.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

namespace phigate::audit {
namespace {

constexpr auto kLagLogEvery = std::chrono::seconds(30);

}  // namespace

Result<ExportCursor> load_export_cursor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ExportCursor{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned() ||
      !j.contains("checkpoint") || !j["checkpoint"].is_number_unsigned()) {
    return make_error("invalid", "export cursor " + path +
                                     " is malformed; fix or remove it "
                                     "(removing re-exports everything)");
  }
  return ExportCursor{j["seq"].get<uint64_t>(), j["checkpoint"].get<uint64_t>()};
}

Status save_export_cursor(const std::string& path, const ExportCursor& c) {
  // Temp file + fsync + rename: after a crash the cursor is the old or the new one, never torn.
  std::string tmp = path + ".tmp";
  std::string text = nlohmann::json{{"seq", c.seq}, {"checkpoint", c.checkpoint}}.dump() + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("io", "create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error("io", "write " + path + ": " + std::strerror(errno));
  }
  return ok_status();
}

Exporter::Exporter(ExporterOptions opts, std::unique_ptr<Sink> sink, OpenReader open_reader,
                   std::function<uint64_t()> head)
    : opts_(std::move(opts)),
      sink_(std::move(sink)),
      open_reader_(std::move(open_reader)),
      head_(std::move(head)) {
  if (opts_.batch == 0) opts_.batch = 1;
}

Exporter::~Exporter() { stop(); }

Status Exporter::start() {
  auto c = load_export_cursor(opts_.cursor_path);
  if (!c.ok()) return c.error();
  cursor_ = *c;
  cursor_seq_ = cursor_.seq;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-export");
    run();
  });
  return ok_status();
}

void Exporter::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Exporter::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

uint64_t Exporter::lag() const {
  uint64_t head = head_ ? head_() : 0, done = cursor_seq_.load();
  return head > done ? head - done : 0;
}

bool Exporter::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stop_ || poked_; });
  poked_ = false;
  return !stop_;
}

Status Exporter::next_batch(std::vector<ExportItem>& items, ExportCursor& upto) {
  items.clear();
  upto = cursor_;
  if (!reader_) {
    auto r = open_reader_();
    if (!r.ok()) return r.error();
    reader_ = std::move(*r);
  }
  // Checkpoints first: every record a checkpoint read now covers is already committed, so the
  // scan below sees it.
  std::vector<Checkpoint> cps;
  if (auto r = reader_->checkpoints(); r.ok()) {
    cps = std::move(*r);
  } else if (r.error().code != "unsupported") {
    return r.error();
  }
  size_t next_cp = 0;
  auto add_checkpoints_upto = [&](uint64_t size) {
    for (; next_cp < cps.size() && cps[next_cp].tree_size <= size; ++next_cp) {
      const Checkpoint& c = cps[next_cp];
      if (c.tree_size <= upto.checkpoint) continue;
      ExportItem it;
      it.checkpoint = true;
      it.meta = ExportMeta{c.tree_size, c.time_ns, "checkpoint"};
      it.body = export_checkpoint(c, opts_.format);
      items.push_back(std::move(it));
      upto.checkpoint = c.tree_size;
    }
  };
  // A checkpoint over records already delivered (e.g. the one signed at shutdown) goes first.
  add_checkpoints_upto(upto.seq);
  const uint64_t head = head_ ? head_() : UINT64_MAX;
  if (head <= upto.seq) return ok_status();
  size_t records = 0;
  Status st = reader_->scan_lines(upto.seq + 1, [&](uint64_t key, std::string_view line) {
    ExportItem it;
    it.meta = record_meta(line);
    it.meta.seq = key;
    it.body = export_record(line, opts_.format);
    items.push_back(std::move(it));
    upto.seq = key;
    add_checkpoints_upto(key);
    return ++records < opts_.batch;
  });
  if (!st.ok()) {
    reader_.reset();  // reopen next time: the file may have been replaced
    items.clear();
    upto = cursor_;
    return st;
  }
  return ok_status();
}

void Exporter::run() {
  auto backoff = opts_.backoff_min;
  auto last_log = std::chrono::steady_clock::now();
  std::vector<ExportItem> items;
  std::string last_error;
  for (;;) {
    ExportCursor upto;
    Status st = next_batch(items, upto);
    if (st.ok() && items.empty()) {
      backoff = opts_.backoff_min;
      if (!wait_for(opts_.poll)) return;
      continue;
    }
    if (st.ok()) st = sink_->send(items);
    if (st.ok()) {
      cursor_ = upto;
      cursor_seq_ = upto.seq;
      if (auto s = save_export_cursor(opts_.cursor_path, cursor_); !s.ok()) {
        // Delivered, but the cursor did not stick: a restart re-sends (at-least-once holds).
        spdlog::error("audit export {}: {}", opts_.name, s.error().message);
      }
      if (!last_error.empty()) {
        spdlog::info("audit export {}: {} reachable again, delivered up to seq {}", opts_.name,
                     sink_->describe(), cursor_.seq);
        last_error.clear();
      }
      backoff = opts_.backoff_min;
      if (const auto now = std::chrono::steady_clock::now();
          lag() > opts_.batch && now - last_log >= kLagLogEvery) {
        spdlog::info("audit export {}: {} records behind (delivered up to seq {})", opts_.name,
                     lag(), cursor_.seq);
        last_log = now;
      }
      std::lock_guard lk(mu_);
      if (stop_) return;
      continue;
    }
    ++failures_;
    const auto now = std::chrono::steady_clock::now();
    if (st.error().message != last_error || now - last_log >= kLagLogEvery) {
      spdlog::warn("audit export {} to {} failed ({}); {} records behind, retrying in {} ms",
                   opts_.name, sink_->describe(), st.error().message, lag(), backoff.count());
      last_error = st.error().message;
      last_log = now;
    }
    if (!wait_for(backoff)) return;
    backoff = std::min(backoff * 2, opts_.backoff_max);
  }
}

}  // namespace phigate::audit
