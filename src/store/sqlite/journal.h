#pragma once
// The audit journal: append-only JSONL files beside the SQLite database, one audit::to_json_line
// per record. SQLite is filled from it in the background; see sqlite_store.cc for the protocol
// between writer, ingest and readers.
//
// Files are "<db path>-audit-<seq of the first record, 20 digits>.jsonl". Each is a preallocated,
// zero-filled segment that the writer maps (MAP_SHARED) and copies batches into: a batch is durable
// once its memcpy returned (sync "normal": the bytes are in the page cache, so they survive kill
// -9) or after fdatasync (sync "full"). The newest file therefore ends in zero padding: its content
// is the bytes before the first NUL (a record line never holds one: JSON escapes it). When the next
// batch does not fit, the writer truncates the file to its content (closed files have no padding)
// and starts a new one; files whose records are all in SQLite are deleted, oldest first. Seqs
// therefore increase strictly across the files in name order. New segments are prepared ahead
// (allocated and faulted in off the appending thread) under a temporary name (spare_path) that
// readers ignore, and renamed when the writer takes them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"
#include "common/result.h"

namespace phigate::store::journal {

struct File {
  std::string path;
  uint64_t first_seq = 0;
};

std::string path_for(const std::string& db_path, uint64_t first_seq);
// Journal files of db_path, oldest first (an absent directory is an empty list).
Result<std::vector<File>> list(const std::string& db_path);

struct Entry {
  audit::Event event;
  std::string line;  // exactly as stored, without the '\n'
};

// Everything the journal holds, read once. Only complete lines count: the bytes after the last
// '\n' before the first NUL of the newest file are its unused padding plus possibly a batch still
// being written, or one torn by a crash (never acknowledged either way; a torn copy may leave
// bytes after a zero gap). torn_path/torn_at name that file and the length of its complete part;
// torn_partial says whether that tail holds anything but zeros.
struct Snapshot {
  std::vector<Entry> entries;  // strictly increasing seq
  std::vector<File> files;     // the files that were read (files deleted meanwhile are skipped)
  std::string torn_path;
  uint64_t torn_at = 0;
  bool torn_partial = false;
};

// A line that is not a canonical audit record, a seq that does not increase, or an incomplete line
// or a NUL byte in a file that is not the newest is Error{"tampered"}.
Result<Snapshot> load(const std::string& db_path);

// The journal's complete lines with seq >= from, in order, parsed only as far as audit::RecordView
// (no Event is built): the fast path of read-only scan_lines. A structurally invalid line, a seq
// that does not increase or an incomplete line or NUL byte in a closed file is Error{"tampered"}.
struct LineEntry {
  uint64_t seq = 0;
  std::string line;
};
Result<std::vector<LineEntry>> load_lines(const std::string& db_path, uint64_t from);

// Writes all of bytes at offset (retrying short writes and EINTR).
Status pwrite_all(int fd, std::string_view bytes, uint64_t offset);
// The n-th prepared segment's temporary name ("<db path>-audit-next-<n>.tmp": list() skips it).
std::string spare_path(const std::string& db_path, uint64_t n);
// Deletes the prepared segments a previous process left (writer only, before it starts).
void remove_spares(const std::string& db_path);
// Makes a file creation or deletion in the journal's directory durable (sync "full").
Status sync_dir(const std::string& db_path);

}  // namespace phigate::store::journal
