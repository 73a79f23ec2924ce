#include "store/sqlite/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "audit/canonical.h"
#include "audit/record_view.h"

namespace phigate::store::journal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kInfix = "-audit-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr size_t kSeqDigits = 20;
constexpr std::string_view kSpareInfix = "-audit-next-";
constexpr std::string_view kSpareSuffix = ".tmp";

// The content of a journal file: the bytes before the first NUL (the rest is the unused, zeroed
// part of the newest segment, or a torn copy into it).
size_t content_end(std::string_view data) {
  size_t nul = data.find('\0');
  return nul == std::string_view::npos ? data.size() : nul;
}

Error io_error(const std::string& what) {
  return make_error("store", what + ": " + std::strerror(errno));
}

Error tampered(const std::string& what) { return make_error("tampered", what); }

// Reads the whole file; `vanished` when it was deleted between listing and opening (its records
// were ingested, see sqlite_store.cc).
Status read_file(const std::string& path, std::string& out, bool& vanished) {
  vanished = false;
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      vanished = true;
      return ok_status();
    }
    return io_error("open " + path);
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = io_error("read " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok_status();
}

}  // namespace

std::string path_for(const std::string& db_path, uint64_t first_seq) {
  std::string digits = std::to_string(first_seq);
  return db_path + std::string(kInfix) + std::string(kSeqDigits - digits.size(), '0') + digits +
         std::string(kSuffix);
}

Result<std::vector<File>> list(const std::string& db_path) {
  fs::path db(db_path);
  fs::path dir = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  std::string prefix = db.filename().string() + std::string(kInfix);
  std::vector<File> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return make_error("store", "list " + dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return make_error("store", "list " + dir.string() + ": " + ec.message());
    std::string name = it->path().filename().string();
    if (name.size() != prefix.size() + kSeqDigits + kSuffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(kSuffix)) {
      continue;
    }
    std::string_view digits = std::string_view(name).substr(prefix.size(), kSeqDigits);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    // Zero-padded to a fixed width, so name order is seq order; parse for the caller's benefit.
    uint64_t seq = 0;
    for (char c : digits) seq = seq * 10 + static_cast<uint64_t>(c - '0');
    out.push_back(File{(dir / name).string(), seq});
  }
  std::sort(out.begin(), out.end(),
            [](const File& a, const File& b) { return a.first_seq < b.first_seq; });
  return out;
}

Result<Snapshot> load(const std::string& db_path) {
  auto files = list(db_path);
  if (!files.ok()) return files.error();
  Snapshot snap;
  std::string data;
  uint64_t prev_seq = 0;
  for (size_t f = 0; f < files->size(); ++f) {
    const File& file = (*files)[f];
    bool vanished = false;
    if (auto st = read_file(file.path, data, vanished); !st.ok()) return st.error();
    if (vanished) continue;
    snap.files.push_back(file);
    std::string name = fs::path(file.path).filename().string();
    const size_t end = content_end(data);
    size_t pos = 0, line_no = 0;
    for (;;) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string::npos || nl >= end) break;
      ++line_no;
      std::string line = data.substr(pos, nl - pos);
      pos = nl + 1;
      auto e = audit::from_json_line(line);
      if (!e) {
        return tampered("journal " + name + " line " + std::to_string(line_no) +
                        ": not a well-formed audit record");
      }
      std::string where = "seq " + std::to_string(e->seq) + ": journal " + name + " line " +
                          std::to_string(line_no);
      // Only the canonical encoding is accepted, exactly as for rows in SQLite.
      if (audit::to_json_line(*e) != line) return tampered(where + " is not in canonical form");
      if (e->seq <= prev_seq) return tampered(where + " is out of order");
      prev_seq = e->seq;
      snap.entries.push_back(Entry{std::move(*e), std::move(line)});
    }
    if (pos < data.size()) {
      // Only the newest file is ever appended to; an older one was complete (and cut to its
      // content) when it was closed.
      if (f + 1 != files->size()) {
        return tampered("journal " + name + ": incomplete line in a closed journal file");
      }
      snap.torn_path = file.path;
      snap.torn_at = pos;
      snap.torn_partial = std::any_of(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end(),
                                      [](char c) { return c != 0; });
    }
  }
  return snap;
}

Result<std::vector<LineEntry>> load_lines(const std::string& db_path, uint64_t from) {
  auto files = list(db_path);
  if (!files.ok()) return files.error();
  std::vector<LineEntry> out;
  std::string data;
  uint64_t prev_seq = 0;
  audit::RecordView v;
  for (size_t f = 0; f < files->size(); ++f) {
    const File& file = (*files)[f];
    bool vanished = false;
    if (auto st = read_file(file.path, data, vanished); !st.ok()) return st.error();
    if (vanished) continue;
    std::string name = fs::path(file.path).filename().string();
    size_t pos = 0, line_no = 0;
    std::string_view all = std::string_view(data).substr(0, content_end(data));
    for (;;) {
      size_t nl = all.find('\n', pos);
      if (nl == std::string_view::npos) break;
      ++line_no;
      std::string_view line = all.substr(pos, nl - pos);
      pos = nl + 1;
      if (!audit::parse_record_view(line, v)) {
        return tampered("journal " + name + " line " + std::to_string(line_no) +
                        ": not a well-formed audit record");
      }
      if (v.seq <= prev_seq) {
        return tampered("seq " + std::to_string(v.seq) + ": journal " + name + " line " +
                        std::to_string(line_no) + " is out of order");
      }
      prev_seq = v.seq;
      if (v.seq >= from) out.push_back(LineEntry{v.seq, std::string(line)});
    }
    if (pos < data.size() && f + 1 != files->size()) {
      return tampered("journal " + name + ": incomplete line in a closed journal file");
    }
  }
  return out;
}

Status pwrite_all(int fd, std::string_view bytes, uint64_t offset) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("write audit journal");
    if (n == 0) return make_error("store", "write audit journal: no progress");
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

std::string spare_path(const std::string& db_path, uint64_t n) {
  return db_path + std::string(kSpareInfix) + std::to_string(n) + std::string(kSpareSuffix);
}

void remove_spares(const std::string& db_path) {
  fs::path db(db_path);
  fs::path dir = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  std::string prefix = db.filename().string() + std::string(kSpareInfix);
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(kSpareSuffix)) stale.push_back(it->path());
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

Status sync_dir(const std::string& db_path) {
  fs::path dir = fs::path(db_path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open " + dir.string());
  int rc = ::fsync(fd);
  Status st = rc == 0 ? ok_status() : Status(io_error("fsync " + dir.string()));
  ::close(fd);
  return st;
}

}  // namespace phigate::store::journal
