// `phigate audit verify --from-export FILE`: the same checks as against the store, over an exported
// JSONL stream, with nothing but the file and the public key.
#include <cstdio>
#include <memory>

#include "audit/export_format.h"
#include "audit/verifier.h"

namespace phigate::audit {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Calls fn for every '\n'-terminated line (and a final unterminated one), numbered from 1. Reads
// in large chunks: an export can hold millions of lines.
Status for_each_line(const std::string& path,
                     const std::function<bool(uint64_t, std::string_view)>& fn) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return make_error("io", "cannot open " + path);
  std::string buf;
  std::vector<char> chunk(size_t(1) << 20);
  uint64_t line_no = 0;
  for (;;) {
    size_t n = std::fread(chunk.data(), 1, chunk.size(), f.get());
    if (n == 0) {
      if (std::ferror(f.get())) return make_error("io", "cannot read " + path);
      break;
    }
    buf.append(chunk.data(), n);
    size_t pos = 0;
    for (;;) {
      size_t nl = buf.find('\n', pos);
      if (nl == std::string::npos) break;
      if (!fn(++line_no, std::string_view(buf).substr(pos, nl - pos))) return ok_status();
      pos = nl + 1;
    }
    buf.erase(0, pos);
  }
  if (!buf.empty()) fn(++line_no, buf);
  return ok_status();
}

}  // namespace

Result<VerifyReport> verify_export_file(const std::string& path, ByteSpan public_key,
                                        const VerifyOptions& opts) {
  // Pass 1: the checkpoints (wherever they sit in the stream) and the record count.
  std::vector<Checkpoint> cps;
  uint64_t records = 0;
  std::optional<Error> bad;
  Status st = for_each_line(path, [&](uint64_t no, std::string_view line) {
    if (looks_like_record_line(line)) {
      ++records;
      return true;
    }
    if (line.empty()) return true;
    auto c = parse_checkpoint_export_line(line);
    if (!c) {
      bad = make_error("tampered",
                       "line " + std::to_string(no) + ": neither an audit record nor a checkpoint");
      return false;
    }
    cps.push_back(std::move(*c));
    return true;
  });
  if (!st.ok()) return st.error();
  if (bad) return *bad;
  if (auto s = check_checkpoint_signatures(cps, public_key); !s.ok()) return s.error();
  VerifyOptions o = opts;
  o.key_is_line_number = true;
  if (o.total == 0) o.total = records;
  LineVerifier v(std::move(cps), o);
  st = for_each_line(path, [&](uint64_t no, std::string_view line) {
    return !looks_like_record_line(line) || v.add(no, line);
  });
  if (!st.ok()) return st.error();
  return v.finish();
}

}  // namespace phigate::audit
