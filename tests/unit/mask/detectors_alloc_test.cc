// Masking runs synchronously per row (DESIGN.md §1): once warm, scanning and masking a value must
// not allocate. A counting global operator new checks that for scan, scan_fields and
// apply_findings. (Replacing operator new affects this whole test binary; it only counts.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"

namespace {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// Every form, so that whatever a library allocates with (hyperscan uses the nothrow new) is freed
// by the matching allocator: a partial set mixes ASan's operator new with this free().
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace phigate::mask {
namespace {

TEST(NoAllocation, WarmScansAndMasksDoNotAllocate) {
  Profile p;
  for (std::string_view n : builtin_detector_names()) p.detectors.emplace_back(n);
  p.custom = {{"MRN", "MRN-[0-9]{8}"}};
  p.deny_lists = {{"VIP", {"Jane Roe"}}};
  auto e = Engine::compile(p).value();
  const std::string text =
      "DOB: 04/02/1980, SSN 536-22-1234, jane@clinic.org, (555) 234-5678, MRN-12345678, Jane Roe, "
      "GB82 WEST 1234 5698 7654 32, routing 021000021, 10.0.0.1, 2001:db8::1, BP 128/84.";
  std::vector<std::string_view> row = {"42", text, "Jane Roe", "", "MRN-87654321 and 536221234"};
  std::vector<Finding> f;
  f.reserve(64);
  RowFindings rf;
  std::string out;
  out.reserve(1024);
  ActionOptions o;
  o.action = Action::kPartial;
  for (int warm = 0; warm < 2; ++warm) {  // first round grows the thread-local buffers
    counting = warm == 1;
    allocations = 0;
    for (int i = 0; i < 50; ++i) {
      f.clear();
      ASSERT_TRUE(e->scan(text, f));
      apply_findings(text, f, o, out);
      ASSERT_TRUE(e->scan_fields(row, rf));
      for (size_t k = 0; k < row.size(); ++k) apply_findings(row[k], rf.field(k), o, out);
    }
    counting = false;
  }
  EXPECT_GE(f.size(), 10u);
  EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace phigate::mask
