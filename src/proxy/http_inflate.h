#pragma once
// Decoding compressed upstream response bodies so they can be masked (issue 7). A masked resource
// still asks the upstream for `Accept-Encoding: identity`, but an upstream may compress anyway
// (nginx `gzip_static always`, pre-compressed objects): such a body is decoded here, streamed into
// the masker, and the client gets the masked body identity-coded (Content-Encoding removed).
//
// Codings (RFC 9110 §8.4.1): `gzip` / `x-gzip` (RFC 1952 members, concatenated members allowed;
// header flags FEXTRA/FNAME/FCOMMENT/FHCRC honoured, reserved flags refused; CRC-32 and ISIZE of
// every member checked) and `deflate` (the RFC 1950 zlib wrapper with its Adler-32 check; a raw
// deflate stream without the wrapper, and a preset dictionary, are refused). The deflate data
// itself is decoded with Boost.Beast's zlib (raw inflate). Anything else (br, zstd, compress, a
// list of codings) is not decoded and the response is refused.
//
// Fail closed: a bad header, corrupt data, a wrong check value, bytes after the end of the stream
// or a stream that ends early make feed()/finish() return false with error(); the session then
// answers 502 (before the head is sent) or ends the response incomplete (after).
//
// Bounded memory: the inflater's window (32 KiB) plus the output of one feed() call. A
// decompression bomb is refused: once more than `ratio_floor` bytes were decoded, the decoded size
// may not exceed `max_ratio` times the compressed size read so far, and never `max_output` (when
// not 0). So one feed() of n compressed bytes yields at most max(ratio_floor, max_ratio * total)
// bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace phigate::proxy {

class BodyDecoder {
 public:
  enum class Coding { kIdentity, kGzip, kDeflate };
  struct Limits {
    uint64_t max_ratio = 100;
    uint64_t ratio_floor = 1024 * 1024;
    uint64_t max_output = 0;  // 0: no absolute limit
  };
  // The coding named by a Content-Encoding value; false (with `why`) for one phigate cannot
  // decode, including a list of several codings.
  static bool parse_coding(std::string_view content_encoding, Coding& coding, std::string& why);

  explicit BodyDecoder(Coding coding, Limits limits);
  BodyDecoder(Coding coding) : BodyDecoder(coding, Limits{}) {}
  ~BodyDecoder();
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;

  // Appends what `in` decodes to to `out`.
  bool feed(std::string_view in, std::string& out);
  // The body ended: false unless the compressed stream ended exactly (no truncation).
  bool finish();
  const std::string& error() const { return error_; }
  uint64_t total_in() const { return total_in_; }
  uint64_t total_out() const { return total_out_; }

 private:
  enum class State { kHeader, kBody, kTrailer, kDone, kFailed };
  bool fail(std::string why);
  // Header: consumes from `in` into hdr_; true when complete (state advanced), false with
  // state_ kFailed on a bad header, or false when more bytes are needed.
  bool take_header(std::string_view& in);
  bool take_trailer(std::string_view& in);
  bool inflate(std::string_view& in, std::string& out);
  void start_member();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  Coding coding_;
  Limits limits_;
  State state_ = State::kHeader;
  std::string hdr_;  // header or trailer bytes collected so far
  uint64_t total_in_ = 0, total_out_ = 0;
  uint64_t member_out_ = 0;  // decoded bytes of the current gzip member (ISIZE)
  uint32_t crc_ = 0;         // running CRC-32 (gzip) or Adler-32 (zlib) of the decoded member
  std::string error_;
};

// Checksums used by the decoder (exposed for tests).
uint32_t crc32_update(uint32_t crc, const unsigned char* p, size_t n);      // start with 0
uint32_t adler32_update(uint32_t adler, const unsigned char* p, size_t n);  // start with 1

}  // namespace phigate::proxy
