#pragma once
// A journal segment (journal.h): a preallocated file the writer maps and copies batches into.
// Made ahead of need, off the appending thread, so that the copy into it costs no allocation and
// no page fault.
#include <cstddef>
#include <string>

namespace phigate::store::journal {

struct Segment {
  int fd = -1;
  char* map = nullptr;  // nullptr: mmap failed, write with pwrite
  size_t cap = 0;
  std::string path;
};

// Creates a zero-filled file of `cap` bytes at `path` and maps it; `populate` also faults every
// page in for writing. An empty Segment (fd -1) on failure, logged.
Segment make_segment(const std::string& path, size_t cap, bool populate);
// Unmaps, closes and deletes `s` (a segment never handed to the writer); empty afterwards.
void drop_segment(Segment& s);

}  // namespace phigate::store::journal
