#include "floor_features.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "bundle_mask.h"

namespace phigate::bench {
namespace {

std::string_view header_value(std::string_view head, std::string_view name) {
  for (size_t at = head.find("\r\n"); at != std::string_view::npos;
       at = head.find("\r\n", at + 2)) {
    std::string_view line = head.substr(at + 2, head.find("\r\n", at + 2) - at - 2);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
  }
  return {};
}

std::string hex(const unsigned char* d, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = k[d[i] >> 4];
    s[2 * i + 1] = k[d[i] & 15];
  }
  return s;
}

struct Row {
  uint64_t seq;
  int64_t time_ns;
  std::string type, record, hash;
};

class Impl final : public FloorFeatures {
 public:
  ~Impl() override {
    stop_ = true;
    cv_.notify_one();
    if (ingest_.joinable()) ingest_.join();
    if (db_) sqlite3_close(db_);
    EVP_MD_free(sha256_);
  }

  bool init(const std::string& path) {
    sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!sha256_ || sqlite3_open(path.c_str(), &db_) != SQLITE_OK) return false;
    const char* schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS audit_events (seq INTEGER PRIMARY KEY, time_ns INTEGER,"
        " session_id TEXT, type TEXT, sub TEXT, resource TEXT, record TEXT NOT NULL,"
        " hash TEXT NOT NULL);";
    if (sqlite3_exec(db_, schema, nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db_));
      return false;
    }
    ingest_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "floor-ingest");
      ingest();
    });
    return true;
  }

  bool exchange(std::string_view request, std::string_view response, std::string& out) override {
    auto t0 = std::chrono::system_clock::now().time_since_epoch().count();
    std::string_view line = request.substr(0, request.find(" HTTP/"));
    record("http_request", line, t0, 0, "{}");

    size_t head_end = response.find("\r\n\r\n") + 4;
    std::string_view head = response.substr(0, head_end), body = response.substr(head_end);
    std::string masked;
    masked.reserve(body.size() + 64);
    mask::JsonStreamMasker m(config_);
    if (!m.feed(body, masked) || !m.finish(masked)) return false;
    std::string_view cl = header_value(head, "Content-Length");
    size_t cl_at = static_cast<size_t>(cl.data() - head.data());
    out.append(head.substr(0, cl_at));
    out += std::to_string(masked.size());
    out.append(head.substr(cl_at + cl.size()));
    out += masked;

    std::string counts = "{";
    for (const auto& [name, n] : m.counts()) {
      if (counts.size() > 1) counts += ',';
      counts += "\"" + name + "\":" + std::to_string(n);
    }
    counts += '}';
    record("http_result", line, std::chrono::system_clock::now().time_since_epoch().count(),
           masked.size(), counts);
    return true;
  }

 private:
  // A record with phigate's fields and sizes (formatting is not what is measured here). Its digest,
  // which is also its Merkle leaf (RFC 6962: SHA-256 of 0x00 || entry), is taken outside the lock
  // so that io threads hash in parallel; only the chain link, SHA-256(prev hash || leaf), 64
  // bytes, is serialised, and the record is queued for the ingest thread with it.
  void record(const char* type, std::string_view action, int64_t time_ns, size_t bytes,
              const std::string& masked) {
    thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    char buf[1024];
    int n = std::snprintf(
        buf, sizeof buf,
        "{\"act_sub\":\"\",\"action\":\"%.*s\",\"approver\":\"\",\"bytes\":%zu,"
        "\"client_addr\":\"127.0.0.1:60908\",\"client_user\":\"\",\"decision\":\"allow\","
        "\"duration_ns\":0,\"error_code\":\"200\",\"groups\":[\"bench\"],\"issuer\":\"local\","
        "\"jti\":\"e1c0bbd0c5dcdfdf0c5c1400f3835922\",\"masked\":%s,\"message\":\"\","
        "\"node_id\":\"gw-http\",\"parameters\":[],\"protocol\":\"http\","
        "\"ref_seq\":0,\"resource\":\"api\",\"roles\":[\"client\"],\"rows\":0,"
        "\"rule\":\"client#0\",\"session_id\":\"57524dd1ce749842402db1c70693ce4f\","
        "\"statement_kind\":\"GET\",\"status\":\"ok\",\"sub\":\"bench\",\"task_id\":\"\","
        "\"time_ns\":%lld,\"type\":\"%s\",\"workflow_id\":\"\"}",
        static_cast<int>(std::min<size_t>(action.size(), 200)), action.data(), bytes,
        masked.c_str(), static_cast<long long>(time_ns), type);
    std::string rec(buf, static_cast<size_t>(std::max(n, 0)));
    unsigned char leaf[32], link[32];
    EVP_DigestInit_ex(ctx, sha256_, nullptr);
    EVP_DigestUpdate(ctx, "\0", 1);
    EVP_DigestUpdate(ctx, rec.data(), rec.size());
    EVP_DigestFinal_ex(ctx, leaf, nullptr);
    std::lock_guard lk(mu_);
    EVP_DigestInit_ex(ctx, sha256_, nullptr);
    EVP_DigestUpdate(ctx, prev_, sizeof prev_);
    EVP_DigestUpdate(ctx, leaf, sizeof leaf);
    EVP_DigestFinal_ex(ctx, prev_, nullptr);
    std::memcpy(link, prev_, sizeof link);
    pending_.push_back(Row{++seq_, time_ns, type, std::move(rec), hex(link, sizeof link)});
  }

  void ingest() {
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db_,
                       "INSERT INTO audit_events (seq, time_ns, session_id, type, sub, resource,"
                       " record, hash) VALUES (?,?,?,?,?,?,?,?)",
                       -1, &ins, nullptr);
    std::vector<Row> batch;
    while (!stop_) {
      {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(20), [&] { return stop_.load(); });
        batch.swap(pending_);
      }
      if (batch.empty()) continue;
      sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
      for (const Row& r : batch) {
        sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(r.seq));
        sqlite3_bind_int64(ins, 2, r.time_ns);
        sqlite3_bind_text(ins, 3, "57524dd1ce749842402db1c70693ce4f", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, r.type.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, "bench", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, "api", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, r.record.data(), static_cast<int>(r.record.size()),
                          SQLITE_STATIC);
        sqlite3_bind_text(ins, 8, r.hash.data(), static_cast<int>(r.hash.size()), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
          std::fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db_));
        sqlite3_reset(ins);
      }
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
      batch.clear();
    }
    sqlite3_finalize(ins);
  }

  const mask::JsonMaskConfig& config_ = bundle_mask_config();
  EVP_MD* sha256_ = nullptr;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  uint64_t seq_ = 0;
  unsigned char prev_[32] = {};
  std::vector<Row> pending_;
  std::thread ingest_;
};

}  // namespace

std::unique_ptr<FloorFeatures> FloorFeatures::open(const std::string& db_path) {
  auto f = std::make_unique<Impl>();
  if (!f->init(db_path)) return nullptr;
  return f;
}

}  // namespace phigate::bench
