#include "policy/stages/sql_regex.h"

#include <hs.h>

#include <cstdint>

namespace phigate {
namespace {

// One scratch per thread, grown by hs_alloc_scratch to fit every database it has been used with.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};
thread_local ThreadScratch tls_scratch;

int on_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  *static_cast<bool*>(ctx) = true;
  return 1;  // stop at the first match
}

}  // namespace

Result<std::shared_ptr<const SqlRegex>> SqlRegex::compile(const std::string& pattern) {
  if (pattern.empty()) return make_error("regex", "empty pattern");
  if (pattern.find('\0') != std::string::npos) return make_error("regex", "NUL in pattern");
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile(pattern.c_str(), HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, nullptr, &db,
                 &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "cannot compile";
    hs_free_compile_error(err);
    return make_error("regex", msg);
  }
  return std::shared_ptr<const SqlRegex>(std::make_shared<SqlRegex>(db));
}

SqlRegex::~SqlRegex() { hs_free_database(db_); }

SqlRegex::Match SqlRegex::match(std::string_view text) const {
  if (text.size() > UINT32_MAX) return {true, false};
  if (hs_alloc_scratch(db_, &tls_scratch.scratch) != HS_SUCCESS) return {true, false};
  bool matched = false;
  hs_error_t rc = hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0,
                          tls_scratch.scratch, on_match, &matched);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) return {true, false};
  return {matched, true};
}

}  // namespace phigate
