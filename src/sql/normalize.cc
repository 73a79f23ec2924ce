#include "sql/normalize.h"

#include <pg_query.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace phigate::sql {
namespace {

// pg_query_scan answers with a protobuf ScanResult (pg_query.proto): field 2 holds the tokens, each
// a ScanToken {1: start, 2: end, 4: token, 5: keyword_kind}. Only varints and length-delimited
// fields occur; a small reader of the wire format (protobuf encoding spec) is all this needs.
class Wire {
 public:
  Wire(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  bool done() const { return p_ == end_; }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Reads one field; for length-delimited ones `sub` is set to the payload.
  bool field(uint32_t& number, uint64_t& value, Wire& sub) {
    uint64_t key = 0;
    if (!varint(key)) return false;
    number = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0:
        return varint(value);
      case 2: {
        uint64_t len = 0;
        if (!varint(len) || len > static_cast<uint64_t>(end_ - p_)) return false;
        sub = Wire(p_, len);
        p_ += len;
        return true;
      }
      case 1:
        if (end_ - p_ < 8) return false;
        p_ += 8;
        return true;
      case 5:
        if (end_ - p_ < 4) return false;
        p_ += 4;
        return true;
      default:
        return false;
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

constexpr uint64_t kIdent = 258;       // Token IDENT (pg_query.proto)
constexpr uint64_t kSqlComment = 275;  // SQL_COMMENT
constexpr uint64_t kCComment = 276;    // C_COMMENT
constexpr uint64_t kNoKeyword = 0;     // KeywordKind NO_KEYWORD

void append_token(std::string& out, std::string_view tok, bool fold) {
  if (!out.empty()) out += ' ';
  for (char c : tok) out += fold && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

struct Token {
  uint64_t start, end, token, keyword;
};

bool read_tokens(Wire top, size_t input_size, std::vector<Token>& out) {
  while (!top.done()) {
    uint32_t num = 0;
    uint64_t val = 0;
    Wire tok(nullptr, 0);
    if (!top.field(num, val, tok)) return false;
    if (num != 2) continue;
    Token t{0, 0, 0, kNoKeyword};
    while (!tok.done()) {
      uint32_t n = 0;
      uint64_t v = 0;
      Wire unused(nullptr, 0);
      if (!tok.field(n, v, unused)) return false;
      if (n == 1) t.start = v;
      if (n == 2) t.end = v;
      if (n == 4) t.token = v;
      if (n == 5) t.keyword = v;
    }
    if (t.start > t.end || t.end > input_size) return false;
    if (!out.empty() && t.start < out.back().start) return false;
    out.push_back(t);
  }
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::optional<std::string> normalize_sql(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string input(text);
  PgQueryScanResult r = pg_query_scan(input.c_str());
  std::vector<Token> tokens;
  bool ok = r.error == nullptr &&
            read_tokens(Wire(r.pbuf.data ? reinterpret_cast<const uint8_t*>(r.pbuf.data) : nullptr,
                             r.pbuf.len),
                        input.size(), tokens);
  pg_query_free_scan_result(r);
  if (!ok) return std::nullopt;
  std::string out;
  std::string_view in(input);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.token == kSqlComment || t.token == kCComment) continue;
    // A token runs to where the next one starts, less blanks: libpg_query reports a short end for
    // some tokens (U&"..." identifiers), and the text between two tokens is only whitespace.
    size_t stop = i + 1 < tokens.size() ? tokens[i + 1].start : in.size();
    while (stop > t.end && is_space(in[stop - 1])) --stop;
    std::string_view tok = in.substr(t.start, std::max<size_t>(stop, t.end) - t.start);
    bool quoted = !tok.empty() && tok.front() == '"';  // U&"..." is UIDENT, kept as written
    bool fold = t.keyword != kNoKeyword || (t.token == kIdent && !quoted);
    append_token(out, tok, fold);
  }
  return out;
}

}  // namespace phigate::sql
