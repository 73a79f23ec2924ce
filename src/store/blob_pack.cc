#include "store/blob_pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "common/clock.h"

namespace phigate::store {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "phigate-blob ";
constexpr std::string_view kSuffix = ".pack";
constexpr uint64_t kMaxBlob = uint64_t(64) << 20;  // far above any capture limit
constexpr size_t kMaxHeader = 128;

Error io_error(const std::string& what) {
  return make_error("store", what + ": " + std::strerror(errno));
}

bool is_hash(std::string_view h) {
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

struct Entry {
  std::string hash;
  uint64_t offset = 0, length = 0;
};

// Walks a pack's entries (headers only; contents are skipped). Stops quietly at a torn or
// malformed tail: nothing after it was ever acknowledged.
Status read_entries(const std::string& path, std::vector<Entry>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno == ENOENT ? ok_status() : io_error("open " + path);
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  uint64_t at = 0;
  std::string header;
  while (at < size) {
    in.seekg(static_cast<std::streamoff>(at));
    header.assign(std::min<uint64_t>(kMaxHeader, size - at), '\0');
    in.read(header.data(), static_cast<std::streamsize>(header.size()));
    size_t nl = header.find('\n');
    if (nl == std::string::npos || header.compare(0, kMagic.size(), kMagic) != 0) break;
    std::string_view rest = std::string_view(header).substr(kMagic.size(), nl - kMagic.size());
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || !is_hash(rest.substr(0, sp))) break;
    uint64_t len = 0;
    std::string_view num = rest.substr(sp + 1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), len);
    if (ec != std::errc() || p != num.data() + num.size() || len > kMaxBlob) break;
    const uint64_t content = at + nl + 1;
    if (size - content < len + 1) break;  // torn
    out.push_back(Entry{std::string(rest.substr(0, sp)), content, len});
    at = content + len + 1;
  }
  return ok_status();
}

Result<std::vector<std::string>> list_packs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) out.push_back(it->path().string());
  }
  if (ec) return make_error("store", "list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end());  // creation time order (fixed-width names)
  return out;
}

}  // namespace

Result<std::unique_ptr<PackBlobStore>> PackBlobStore::open(const std::string& dir, Options opts,
                                                           bool read_only) {
  if (opts.sync != "normal" && opts.sync != "full") {
    return make_error("config", "blob sync must be \"normal\" or \"full\"");
  }
  if (!read_only) {
    std::error_code ec;
    if (fs::create_directories(dir, ec)) {
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }
    if (ec) return make_error("store", "cannot create " + dir + ": " + ec.message());
  }
  return std::unique_ptr<PackBlobStore>(new PackBlobStore(dir, std::move(opts), read_only));
}

PackBlobStore::~PackBlobStore() {
  if (fd_ >= 0) ::close(fd_);
}

Status PackBlobStore::open_pack() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  cur_hashes_.clear();
  // Named by creation time so that names sort by age; O_EXCL and a retry on the (unlikely)
  // clash keep two packs from ever sharing a file.
  for (int attempt = 0; attempt < 8; ++attempt) {
    char name[40];
    std::snprintf(name, sizeof name, "%020lld.pack", static_cast<long long>(now_ns() + attempt));
    std::string path = (fs::path(dir_) / name).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return io_error("create " + path);
    fd_ = fd;
    cur_path_ = std::move(path);
    cur_bytes_ = 0;
    cur_opened_ = std::chrono::steady_clock::now();
    return ok_status();
  }
  return make_error("store", "cannot create a new blob pack in " + dir_);
}

Result<std::string> PackBlobStore::put(std::string_view content) {
  if (read_only_) return make_error("store", "blob store opened read-only");
  if (content.size() > kMaxBlob) return make_error("store", "blob too large");
  std::string hash = audit::blob_hash(content);
  std::lock_guard lk(mu_);
  const bool rotate = fd_ < 0 || cur_bytes_ >= opts_.rotate_bytes ||
                      std::chrono::steady_clock::now() - cur_opened_ >= opts_.rotate_age;
  if (rotate) {
    if (auto st = open_pack(); !st.ok()) return st.error();
  }
  if (cur_hashes_.count(hash)) return hash;  // same result again: already durable in this pack
  buf_.clear();
  buf_.append(kMagic);
  buf_.append(hash);
  buf_ += ' ';
  buf_.append(std::to_string(content.size()));
  buf_ += '\n';
  buf_.append(content);
  buf_ += '\n';
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = io_error("write " + cur_path_);
      // Cut the partial entry off; if even that fails, a fresh pack keeps later blobs readable.
      if (::ftruncate(fd_, static_cast<off_t>(cur_bytes_)) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (opts_.sync == "full" && ::fdatasync(fd_) != 0) return io_error("fdatasync " + cur_path_);
  cur_bytes_ += buf_.size();
  if (buf_.capacity() > (size_t(1) << 20)) std::string().swap(buf_);
  cur_hashes_.insert(hash);
  return hash;
}

Status PackBlobStore::load_index() {
  index_.clear();
  auto packs = list_packs(dir_);
  if (!packs.ok()) return packs.error();
  std::vector<Entry> entries;
  for (const auto& p : *packs) {
    entries.clear();
    if (auto st = read_entries(p, entries); !st.ok()) return st;
    for (auto& e : entries) index_.emplace(std::move(e.hash), Loc{p, e.offset, e.length});
  }
  indexed_ = true;
  return ok_status();
}

Result<std::optional<std::string>> PackBlobStore::get(const std::string& hash) {
  if (!is_hash(hash)) return std::optional<std::string>();
  std::lock_guard lk(mu_);
  auto it = index_.find(hash);
  if (!indexed_ || it == index_.end()) {
    if (auto st = load_index(); !st.ok()) return st.error();
    it = index_.find(hash);
    if (it == index_.end()) return std::optional<std::string>();
  }
  const Loc& loc = it->second;
  std::ifstream in(loc.path, std::ios::binary);
  if (!in) return io_error("open " + loc.path);
  std::string content(loc.length, '\0');
  in.seekg(static_cast<std::streamoff>(loc.offset));
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (static_cast<uint64_t>(in.gcount()) != loc.length) {
    return make_error("store", "short read of blob " + hash + " in " + loc.path);
  }
  if (audit::blob_hash(content) != hash) {
    return make_error("tampered", "blob " + hash + " in " + loc.path + " does not match its hash");
  }
  return std::optional<std::string>(std::move(content));
}

Result<BlobPruneStats> PackBlobStore::prune(
    const std::function<bool(const std::string&)>& referenced, int64_t older_than_ns) {
  auto packs = list_packs(dir_);
  if (!packs.ok()) return packs.error();
  std::string current;
  {
    std::lock_guard lk(mu_);
    current = cur_path_;
  }
  BlobPruneStats stats;
  std::vector<Entry> entries;
  for (const auto& p : *packs) {
    if (p == current) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    const int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (mtime >= older_than_ns) continue;
    entries.clear();
    if (auto s = read_entries(p, entries); !s.ok()) return s.error();
    bool keep = false;
    for (const auto& e : entries) keep = keep || referenced(e.hash);
    if (keep) continue;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return io_error("remove " + p);
    ++stats.packs;
    stats.blobs += entries.size();
    stats.bytes += static_cast<uint64_t>(st.st_size);
  }
  std::lock_guard lk(mu_);
  indexed_ = false;
  return stats;
}

}  // namespace phigate::store
