// `phigate audit prune` and the gateway's retention timer (issue 6). What may be pruned and the
// anchor that keeps the rest verifiable are decided in audit/retention.cc; this file wires stores.
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "audit/record_view.h"
#include "cli/data_dir_lock.h"
#include "cli/retention.h"
#include "cli/time_arg.h"
#include "common/clock.h"
#include "common/duration.h"
#include "identity/ed25519_key.h"

namespace phigate::cli {

Result<Bytes> load_audit_public_key(const std::string& data_dir) {
  const std::string path = audit_key_path(data_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bytes{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = Ed25519Key::from_pem(ss.str());
  if (!key.ok()) return make_error("invalid_key", path + ": " + key.error().message);
  return (*key)->public_key();
}

Result<PruneOutcome> prune_once(const Config& config, const Wiring& wiring, audit::Store& reader,
                                audit::BlobStore* blobs, ByteSpan public_key, int64_t now_ns,
                                bool apply, std::optional<int64_t> before_ns) {
  PruneOutcome out;
  std::string horizon_text;
  if (before_ns) {
    out.cutoff_ns = *before_ns;
    horizon_text = format_time(*before_ns);
  } else {
    if (config.audit.retention.empty()) {
      return make_error("config", "audit.retention is not set: every record is kept");
    }
    auto horizon = parse_duration(config.audit.retention);
    if (!horizon) return make_error("config", "audit.retention: " + horizon.error().message);
    out.cutoff_ns = now_ns - static_cast<int64_t>(horizon->count()) * 1'000'000;
    horizon_text = config.audit.retention;
  }
  auto plan = audit::plan_prune(reader, public_key, out.cutoff_ns, horizon_text, now_ns);
  if (!plan) return plan.error();
  out.plan = std::move(*plan);
  if (!apply) return out;
  if (out.plan.anchor) {
    if (!wiring.prune_store) return make_error("unsupported", "this store cannot prune");
    if (auto st = wiring.prune_store(config, *out.plan.anchor); !st.ok()) return st.error();
    out.applied = true;
  }
  if (blobs) {
    // Blobs still named by a retained record stay, whatever their age.
    // Read as lines (RecordView), not parsed Events: this pass touches every kept record, and a
    // full parse of each was most of a large prune's time.
    std::unordered_set<std::string> referenced;
    audit::RecordView v;
    bool unreadable = false;
    Status st = reader.scan_lines(0, [&](uint64_t, std::string_view line) {
      if (!audit::parse_record_view(line, v)) {
        unreadable = true;  // cannot tell which blobs it names: keep them all
        return false;
      }
      if (!v.capture.empty()) referenced.emplace(v.capture);
      return true;
    });
    if (!st.ok()) return st.error();
    if (unreadable) {
      return make_error("tampered",
                        "a retained audit record is not canonical; no capture blob "
                        "was removed (run phigate audit verify)");
    }
    auto stats =
        blobs->prune([&](const std::string& h) { return referenced.count(h) > 0; }, out.cutoff_ns);
    if (!stats) return stats.error();
    out.blobs = *stats;
  }
  return out;
}

namespace {

std::string os_user() {
  const char* u = std::getenv("USER");
  return u && *u ? u : "uid " + std::to_string(::getuid());
}

void print_outcome(const PruneOutcome& o, bool dry_run, bool json) {
  const auto& p = o.plan;
  if (json) {
    nlohmann::json j{{"dry_run", dry_run},
                     {"cutoff", format_time(o.cutoff_ns)},
                     {"pruned", p.anchor.has_value()},
                     {"records", p.records}};
    if (p.anchor) {
      j["first_seq"] = p.first_seq;
      j["last_seq"] = p.anchor->tree_size;
      j["checkpoint_tree_size"] = p.checkpoint.tree_size;
      j["checkpoint_root"] = p.checkpoint.root_hex;
      j["anchor_hash"] = p.anchor->last_hash;
    } else {
      j["reason"] = p.reason;
    }
    j["blob_packs"] = o.blobs.packs;
    j["blob_bytes"] = o.blobs.bytes;
    std::cout << j.dump() << "\n";
    return;
  }
  if (!p.anchor) {
    std::cout << "nothing to prune (records before " << format_time(o.cutoff_ns)
              << "): " << p.reason << "\n";
  } else {
    std::cout << (dry_run ? "would prune" : "pruned") << " records " << p.first_seq << ".."
              << p.anchor->tree_size << " (" << p.records << " records before "
              << format_time(o.cutoff_ns) << ") at signed checkpoint tree_size "
              << p.checkpoint.tree_size << "\n";
  }
  if (!dry_run && o.blobs.packs > 0) {
    std::cout << "removed " << o.blobs.packs << " capture packs (" << o.blobs.blobs << " blobs, "
              << o.blobs.bytes << " bytes)\n";
  }
}

}  // namespace

int cmd_audit_prune(const std::string& config_path, const Wiring& wiring, bool dry_run,
                    const std::string& before, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  const int64_t now = now_ns();
  std::optional<int64_t> before_ns;
  if (!before.empty()) {
    auto t = parse_time_arg(before, now);
    if (!t) {
      std::cerr << "--before: " << t.error().message << "\n";
      return 2;
    }
    before_ns = *t;
  } else if (config->audit.retention.empty()) {
    std::cerr << "audit.retention is not set in " << config_path
              << ": every record is kept (or name a cutoff with --before)\n";
    return 2;
  }
  auto pub = load_audit_public_key(config->gateway.data_dir);
  if (!pub) {
    std::cerr << "cannot read the audit key: " << pub.error().message << "\n";
    return 2;
  }
  if (dry_run) {
    auto store = wiring.open_store(*config, true);
    if (!store) {
      std::cerr << "cannot open the audit store: " << store.error().message << "\n";
      return 2;
    }
    auto o = prune_once(*config, wiring, **store, nullptr, *pub, now, false, before_ns);
    if (!o) {
      std::cerr << "cannot prune (" << o.error().code << "): " << o.error().message << "\n";
      return 1;
    }
    print_outcome(*o, true, json);
    return 0;
  }
  // Writing offline: the gateway must not be running (it prunes on its own timer).
  auto lock = DataDirLock::acquire(config->gateway.data_dir);
  if (!lock) {
    std::cerr << "cannot prune by hand: " << lock.error().message
              << "; a running gateway prunes by itself (hourly, audit.retention). "
                 "Use --dry-run to preview.\n";
    return 1;
  }
  // The writer store first: opening it ingests what a stopped gateway left in the journal.
  auto writer = wiring.open_store(*config, false);
  if (!writer) {
    std::cerr << "cannot open the audit store: " << writer.error().message << "\n";
    return 2;
  }
  auto reader = wiring.open_store(*config, true);
  if (!reader) {
    std::cerr << "cannot open the audit store: " << reader.error().message << "\n";
    return 2;
  }
  std::unique_ptr<audit::BlobStore> blobs;
  if (wiring.open_blobs) {
    auto b = wiring.open_blobs(*config, false);
    if (!b) {
      std::cerr << "cannot open the blob store: " << b.error().message << "\n";
      return 2;
    }
    blobs = std::move(*b);
  }
  auto o = prune_once(*config, wiring, **reader, blobs.get(), *pub, now, true, before_ns);
  if (!o) {
    std::cerr << "cannot prune (" << o.error().code << "): " << o.error().message << "\n";
    return 1;
  }
  if (o->applied) {
    // The prune goes on the record, in the chain it shortened, followed by a fresh checkpoint.
    auto key = Ed25519Key::load_or_create(audit_key_path(config->gateway.data_dir));
    auto ckey = key ? audit::CheckpointKey::from_pem((*key)->to_pem())
                    : Result<std::shared_ptr<const audit::CheckpointKey>>(key.error());
    if (!ckey) {
      std::cerr << "cannot load the audit key: " << ckey.error().message << "\n";
      return 1;
    }
    audit::Log log(std::move(*writer), config->gateway.node_id);
    log.set_checkpointing(*ckey, 0, std::chrono::milliseconds(0));
    if (auto st = log.open(); !st) {
      std::cerr << "pruned, but cannot open the audit log to record it: " << st.error().message
                << "\n";
      return 1;
    }
    std::vector<audit::Event> ev{audit::prune_event(o->plan, o->blobs.packs, o->blobs.bytes,
                                                    "phigate audit prune (" + os_user() + ")")};
    ev[0].time_ns = now_ns();
    auto seq = log.append_now(ev);
    log.close();
    if (!seq) {
      std::cerr << "pruned, but the prune record failed: " << seq.error().message << "\n";
      return 1;
    }
  }
  print_outcome(*o, false, json);
  return 0;
}

RetentionRunner::RetentionRunner(const Config& config, const Wiring& wiring, audit::Log& log,
                                 audit::BlobStore* blobs, Bytes public_key,
                                 std::chrono::milliseconds interval)
    : config_(config),
      wiring_(wiring),
      log_(log),
      blobs_(blobs),
      public_key_(std::move(public_key)),
      interval_(interval) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-retention");
    run();
  });
}

RetentionRunner::~RetentionRunner() { stop(); }

void RetentionRunner::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionRunner::run() {
  std::unique_lock lk(mu_);
  // A short delay lets start-up finish (listeners, the first sessions) before the first pass.
  std::chrono::milliseconds wait = std::chrono::seconds(1);
  while (!cv_.wait_for(lk, wait, [&] { return stop_; })) {
    lk.unlock();
    run_once();
    lk.lock();
    wait = interval_;
  }
}

void RetentionRunner::run_once() {
  auto reader = wiring_.open_store(config_, true);
  if (!reader) {
    spdlog::error("retention: cannot open the audit store: {}", reader.error().message);
    return;
  }
  auto o = prune_once(config_, wiring_, **reader, blobs_, public_key_, now_ns(), true);
  if (!o) {
    // Fail closed: nothing is deleted when the prefix does not verify; say so loudly.
    spdlog::error("retention: nothing pruned: {} ({})", o.error().message, o.error().code);
    return;
  }
  if (!o->applied) {
    spdlog::debug("retention: nothing to prune: {}", o->plan.reason);
    return;
  }
  audit::Event e = audit::prune_event(o->plan, o->blobs.packs, o->blobs.bytes,
                                      "phigate serve (retention timer)");
  e.time_ns = now_ns();
  log_.append(std::move(e));
  spdlog::info("retention: pruned records {}..{} ({} records), {} capture packs", o->plan.first_seq,
               o->plan.anchor->tree_size, o->plan.records, o->blobs.packs);
}

}  // namespace phigate::cli
