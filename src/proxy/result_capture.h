#pragma once
// Result capture (issue 6): the first rows of a statement's result, exactly as sent to the client
// (after masking), kept for the audit record as a content-addressed blob.
//
// Blob format (JSON, keys sorted, one blob per statement that returned rows):
//   {"results":[{"columns":["mrn","ssn"],"rows":[["MRN-00000001","***-**-1234"],[null,"x"]]}],
//    "truncated":false}
// One entry in "results" per RowDescription'd result set (a simple Query may hold several
// statements). Values are text as sent; a value that is not printable UTF-8 (binary format,
// NUL) is "\\x" followed by lowercase hex. "columns" is empty when the client skipped Describe
// (a re-executed prepared statement): phigate then does not know the names. "truncated" is true
// when rows or bytes were left out because of the limits; a value cut by the byte limit ends the
// capture.
//
// Bounded memory, no allocation per row once warm: values are appended to one arena reserved at
// the byte limit; rows beyond the limits cost one comparison.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace phigate::proxy {

class ResultCapture {
 public:
  // max_rows == 0 or max_bytes == 0 turns capture off.
  ResultCapture(size_t max_rows, size_t max_bytes);
  bool enabled() const { return max_rows_ > 0 && max_bytes_ > 0; }

  // RowDescription body (§55.7): its column names describe the rows that follow.
  void on_row_description(ByteSpan body);
  // DataRow body (§55.7) of the statement `owner` (any stable identity, e.g. its record). Rows of
  // a new owner start a new capture; a malformed body is ignored (the codec forwards it as is).
  void on_data_row(const void* owner, ByteSpan body);
  // The blob of `owner`'s capture, or "" when it captured no rows; then forgets it.
  std::string take(const void* owner);

 private:
  struct Cell {
    uint32_t off = 0, len = 0;
    bool null = false;
  };
  struct Set {
    std::vector<std::string> columns;
    size_t first_row = 0;
  };
  void reset();
  std::string render() const;

  size_t max_rows_, max_bytes_;
  std::vector<std::string> columns_;  // of the last RowDescription not yet used by any capture
  bool columns_fresh_ = false;
  uint64_t desc_gen_ = 0, set_gen_ = 0;
  const void* owner_ = nullptr;
  std::string arena_;
  std::vector<Cell> cells_;
  std::vector<size_t> row_start_;  // index into cells_ of each captured row
  std::vector<Set> sets_;
  bool truncated_ = false;
  bool full_ = false;  // a limit was reached: further rows are only counted as left out
};

}  // namespace phigate::proxy
