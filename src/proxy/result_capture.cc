#include "proxy/result_capture.h"

#include <nlohmann/json.hpp>

#include "audit/canonical.h"
#include "common/crypto.h"
#include "proxy/capture_text.h"

namespace phigate::proxy {
namespace {

bool read_i16(ByteSpan b, size_t& at, int16_t& v) {
  if (at > b.size() || b.size() - at < 2) return false;
  v = static_cast<int16_t>((b[at] << 8) | b[at + 1]);
  at += 2;
  return true;
}

bool read_i32(ByteSpan b, size_t& at, int32_t& v) {
  if (at > b.size() || b.size() - at < 4) return false;
  v = static_cast<int32_t>((uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) |
                           (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]));
  at += 4;
  return true;
}
}  // namespace

ResultCapture::ResultCapture(size_t max_rows, size_t max_bytes)
    : max_rows_(max_rows), max_bytes_(max_bytes) {}

void ResultCapture::on_row_description(ByteSpan body) {
  if (!enabled()) return;
  // §55.7 RowDescription: Int16 count, then per field a C string name and 18 bytes of attributes.
  columns_.clear();
  columns_fresh_ = true;
  ++desc_gen_;
  size_t at = 0;
  int16_t n = 0;
  if (!read_i16(body, at, n) || n < 0) return;
  for (int16_t i = 0; i < n; ++i) {
    size_t end = at;
    while (end < body.size() && body[end] != 0) ++end;
    if (end >= body.size() || body.size() - end - 1 < 18) {
      columns_.clear();  // malformed: better no names than wrong ones
      return;
    }
    columns_.emplace_back(reinterpret_cast<const char*>(body.data() + at), end - at);
    at = end + 1 + 18;
  }
}

void ResultCapture::on_data_row(const void* owner, ByteSpan body) {
  if (!enabled()) return;
  if (owner != owner_) {
    reset();
    owner_ = owner;
  }
  if (full_) {
    truncated_ = true;
    return;
  }
  if (row_start_.size() >= max_rows_) {
    full_ = truncated_ = true;
    return;
  }
  // A RowDescription seen since the last result set starts a new one (several statements in one
  // Query); a description already used by an earlier statement is not reused (its names may not
  // fit these rows).
  if (sets_.empty() || (columns_fresh_ && set_gen_ != desc_gen_)) {
    Set s;
    if (columns_fresh_) s.columns = columns_;
    s.first_row = row_start_.size();
    sets_.push_back(std::move(s));
    set_gen_ = desc_gen_;
  }
  size_t at = 0;
  int16_t n = 0;
  if (!read_i16(body, at, n) || n < 0) return;
  const size_t cells_before = cells_.size(), arena_before = arena_.size();
  for (int16_t i = 0; i < n; ++i) {
    int32_t len = 0;
    if (!read_i32(body, at, len) || (len > 0 && static_cast<size_t>(len) > body.size() - at)) {
      cells_.resize(cells_before);  // malformed: drop the partial row
      arena_.resize(arena_before);
      return;
    }
    Cell c;
    c.off = static_cast<uint32_t>(arena_.size());
    if (len < 0) {
      c.null = true;
    } else {
      std::string_view v(reinterpret_cast<const char*>(body.data() + at), size_t(len));
      at += size_t(len);
      size_t room = max_bytes_ - std::min(max_bytes_, arena_.size());
      if (v.size() > room) {
        v = v.substr(0, utf8_prefix(v, room));
        full_ = truncated_ = true;  // the byte limit cuts this value: the capture ends here
      }
      arena_.append(v);
      c.len = static_cast<uint32_t>(v.size());
    }
    cells_.push_back(c);
  }
  row_start_.push_back(cells_before);
}

std::string ResultCapture::take(const void* owner) {
  if (owner != owner_ || owner == nullptr) return {};
  std::string out = row_start_.empty() ? std::string() : render();
  reset();
  return out;
}

void ResultCapture::reset() {
  owner_ = nullptr;
  if (!sets_.empty()) columns_fresh_ = false;  // used by this capture
  arena_.clear();
  if (arena_.capacity() < max_bytes_) arena_.reserve(max_bytes_);
  cells_.clear();
  row_start_.clear();
  sets_.clear();
  truncated_ = full_ = false;
}

std::string ResultCapture::render() const {
  using nlohmann::json;
  json results = json::array();
  for (size_t s = 0; s < sets_.size(); ++s) {
    const size_t end_row = s + 1 < sets_.size() ? sets_[s + 1].first_row : row_start_.size();
    json rows = json::array();
    for (size_t r = sets_[s].first_row; r < end_row; ++r) {
      const size_t end_cell = r + 1 < row_start_.size() ? row_start_[r + 1] : cells_.size();
      json row = json::array();
      for (size_t i = row_start_[r]; i < end_cell; ++i) {
        const Cell& c = cells_[i];
        if (c.null) {
          row.push_back(nullptr);
          continue;
        }
        std::string_view v(arena_.data() + c.off, c.len);
        if (printable_text(v)) {
          row.push_back(std::string(v));
        } else {
          ByteSpan raw(reinterpret_cast<const uint8_t*>(v.data()), v.size());
          row.push_back("\\x" + to_hex(raw));
        }
      }
      rows.push_back(std::move(row));
    }
    json cols = json::array();
    for (const auto& c : sets_[s].columns) cols.push_back(audit::sanitize_utf8(c));
    results.push_back(json{{"columns", std::move(cols)}, {"rows", std::move(rows)}});
  }
  json blob{{"results", std::move(results)}, {"truncated", truncated_}};
  return blob.dump();
}

}  // namespace phigate::proxy
