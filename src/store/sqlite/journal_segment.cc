#include "store/sqlite/journal_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace phigate::store::journal {

Segment make_segment(const std::string& path, size_t cap, bool populate) {
  Segment s;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    spdlog::warn("audit: create journal segment {}: {}", path, std::strerror(errno));
    return s;
  }
  // Blocks allocated now: a later copy can neither fail for space (SIGBUS) nor allocate.
  if (int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(cap)); rc != 0) {
    spdlog::warn("audit: allocate journal segment {}: {}", path, std::strerror(rc));
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  s.fd = fd;
  s.cap = cap;
  s.path = path;
  void* m = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return s;  // written with pwrite instead
  s.map = static_cast<char*>(m);
  if (populate) {
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    if (::madvise(s.map, cap, MADV_POPULATE_WRITE) != 0) {
      // Older kernels: touch each page (a zero over a zero: only the fault matters).
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      for (size_t o = 0; o < cap; o += page) reinterpret_cast<volatile char*>(s.map)[o] = 0;
    }
  }
  return s;
}

void drop_segment(Segment& s) {
  if (s.map) ::munmap(s.map, s.cap);
  if (s.fd >= 0) {
    ::close(s.fd);
    ::unlink(s.path.c_str());
  }
  s = Segment{};
}

}  // namespace phigate::store::journal
