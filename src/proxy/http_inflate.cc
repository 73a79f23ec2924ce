#include "proxy/http_inflate.h"

#include <array>
#include <boost/beast/zlib/inflate_stream.hpp>

#include "codec/http/headers.h"
#include "common/ascii.h"

namespace phigate::proxy {

namespace zlib = boost::beast::zlib;

namespace {

constexpr size_t kScratch = 64 * 1024;
constexpr size_t kMaxHeader = 64 * 1024;  // gzip FEXTRA/FNAME/FCOMMENT together

// RFC 1952 §8 CRC-32 (reflected polynomial 0xEDB88320), one table lookup per byte.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint32_t be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const unsigned char* p, size_t n) {
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t adler32_update(uint32_t adler, const unsigned char* p, size_t n) {
  // RFC 1950 §8.2; sums reduced every 5552 bytes (the largest n with no 32-bit overflow).
  constexpr uint32_t kMod = 65521;
  uint32_t a = adler & 0xFFFF, b = adler >> 16;
  while (n > 0) {
    size_t k = n < 5552 ? n : 5552;
    n -= k;
    while (k-- > 0) {
      a += *p++;
      b += a;
    }
    a %= kMod;
    b %= kMod;
  }
  return (b << 16) | a;
}

struct BodyDecoder::Impl {
  zlib::inflate_stream inflater;
  std::array<char, kScratch> scratch;
};

bool BodyDecoder::parse_coding(std::string_view ce, Coding& coding, std::string& why) {
  std::string_view v = http::trim_ows(ce);
  if (v.empty() || iequals(v, "identity")) {
    coding = Coding::kIdentity;
    return true;
  }
  if (iequals(v, "gzip") || iequals(v, "x-gzip")) {
    coding = Coding::kGzip;
    return true;
  }
  if (iequals(v, "deflate")) {
    coding = Coding::kDeflate;
    return true;
  }
  why = "upstream sent a Content-Encoding (" + std::string(v) +
        ") phigate cannot decode to mask; it decodes gzip and deflate only";
  return false;
}

BodyDecoder::BodyDecoder(Coding coding, Limits limits)
    : impl_(std::make_unique<Impl>()), coding_(coding), limits_(limits) {
  start_member();
}

BodyDecoder::~BodyDecoder() = default;

void BodyDecoder::start_member() {
  state_ = coding_ == Coding::kIdentity ? State::kBody : State::kHeader;
  hdr_.clear();
  impl_->inflater.reset(15);
  member_out_ = 0;
  crc_ = coding_ == Coding::kDeflate ? 1 : 0;
}

bool BodyDecoder::fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  return false;
}

bool BodyDecoder::take_header(std::string_view& in) {
  // Collect bytes until the header is whole; hdr_ never holds more than kMaxHeader.
  while (!in.empty()) {
    hdr_ += in.front();
    in.remove_prefix(1);
    const auto* h = bytes(hdr_);
    const size_t n = hdr_.size();
    if (coding_ == Coding::kDeflate) {
      if (n < 2) continue;
      // RFC 1950 §2.2: CM 8 (deflate), CINFO <= 7, FCHECK, no preset dictionary.
      if ((h[0] & 0x0F) != 8 || (h[0] >> 4) > 7 || ((h[0] << 8) | h[1]) % 31 != 0)
        return fail("deflate body without a valid zlib header (raw deflate is not accepted)");
      if (h[1] & 0x20) return fail("deflate body needs a preset dictionary");
      state_ = State::kBody;
      hdr_.clear();
      return true;
    }
    // RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) XFL OS, then the optional parts in order.
    if (n >= 1 && h[0] != 0x1f) return fail("not a gzip stream (bad magic)");
    if (n >= 2 && h[1] != 0x8b) return fail("not a gzip stream (bad magic)");
    if (n >= 3 && h[2] != 8) return fail("gzip compression method is not deflate");
    if (n >= 4 && (h[3] & 0xE0) != 0) return fail("gzip header has reserved flags set");
    if (n > kMaxHeader) return fail("gzip header too long");
    if (n < 10) continue;
    const unsigned flg = h[3];
    size_t at = 10;
    if (flg & 0x04) {  // FEXTRA
      if (n < at + 2) continue;
      size_t xlen = h[at] | (size_t(h[at + 1]) << 8);
      at += 2 + xlen;
      if (n < at) continue;
    }
    bool more = false;
    for (unsigned f : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated
      if (!(flg & f)) continue;
      size_t z = hdr_.find('\0', at);
      if (z == std::string::npos) {
        more = true;
        break;
      }
      at = z + 1;
    }
    if (more) continue;
    if (flg & 0x02) {  // FHCRC: the low 16 bits of the CRC-32 of the header before it
      if (n < at + 2) continue;
      uint32_t want = h[at] | (uint32_t(h[at + 1]) << 8);
      if ((crc32_update(0, h, at) & 0xFFFF) != want) return fail("gzip header CRC mismatch");
      at += 2;
    }
    if (n != at) continue;  // (cannot happen: one byte is added at a time)
    state_ = State::kBody;
    hdr_.clear();
    return true;
  }
  return false;
}

bool BodyDecoder::inflate(std::string_view& in, std::string& out) {
  zlib::z_params zs;
  zs.next_in = in.data();
  zs.avail_in = in.size();
  for (;;) {
    zs.next_out = impl_->scratch.data();
    zs.avail_out = impl_->scratch.size();
    boost::beast::error_code ec;
    impl_->inflater.write(zs, zlib::Flush::none, ec);
    const size_t produced = impl_->scratch.size() - zs.avail_out;
    if (produced > 0) {
      const auto* p = reinterpret_cast<const unsigned char*>(impl_->scratch.data());
      crc_ = coding_ == Coding::kGzip ? crc32_update(crc_, p, produced)
                                      : adler32_update(crc_, p, produced);
      member_out_ += produced;
      total_out_ += produced;
      if (limits_.max_output != 0 && total_out_ > limits_.max_output)
        return fail("decoded body exceeds " + std::to_string(limits_.max_output) + " bytes");
      const uint64_t consumed = total_in_ + (in.size() - zs.avail_in);
      if (total_out_ > limits_.ratio_floor && total_out_ > limits_.max_ratio * consumed)
        return fail("compression ratio over " + std::to_string(limits_.max_ratio) +
                    ":1 (decompression bomb?)");
      out.append(impl_->scratch.data(), produced);
    }
    if (ec == zlib::error::end_of_stream) {
      state_ = State::kTrailer;
      break;
    }
    if (ec == zlib::error::need_buffers) break;  // no progress possible: needs more input
    if (ec)
      return fail("corrupt " + std::string(coding_ == Coding::kGzip ? "gzip" : "deflate") +
                  " data: " + ec.message());
    if (zs.avail_in == 0 && zs.avail_out != 0) break;
  }
  const size_t used = in.size() - zs.avail_in;
  total_in_ += used;
  in.remove_prefix(used);
  return true;
}

bool BodyDecoder::take_trailer(std::string_view& in) {
  const size_t need = coding_ == Coding::kGzip ? 8 : 4;
  size_t k = std::min(need - hdr_.size(), in.size());
  hdr_.append(in.substr(0, k));
  in.remove_prefix(k);
  total_in_ += k;
  if (hdr_.size() < need) return true;
  const auto* t = bytes(hdr_);
  if (coding_ == Coding::kGzip) {
    if (le32(t) != crc_) return fail("gzip CRC-32 mismatch");
    if (le32(t + 4) != static_cast<uint32_t>(member_out_)) return fail("gzip ISIZE mismatch");
  } else if (be32(t) != crc_) {
    return fail("deflate Adler-32 mismatch");
  }
  hdr_.clear();
  state_ = State::kDone;
  return true;
}

bool BodyDecoder::feed(std::string_view in, std::string& out) {
  if (coding_ == Coding::kIdentity) {
    total_in_ += in.size();
    total_out_ += in.size();
    out.append(in);
    return true;
  }
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return false;
      case State::kHeader: {
        const size_t before = in.size();
        bool done = take_header(in);
        total_in_ += before - in.size();
        if (state_ == State::kFailed) return false;
        if (!done) return true;
        break;
      }
      case State::kBody:
        if (!inflate(in, out)) return false;
        break;
      case State::kTrailer:
        if (!take_trailer(in)) return false;
        break;
      case State::kDone:
        // gzip: another member may follow (RFC 1952 §2.2); zlib: nothing may.
        if (coding_ != Coding::kGzip) return fail("bytes after the end of the deflate stream");
        start_member();
        break;
    }
  }
  return state_ != State::kFailed;
}

bool BodyDecoder::finish() {
  if (state_ == State::kFailed) return false;
  if (coding_ == Coding::kIdentity) return true;
  if (state_ == State::kDone) return true;
  // An empty body carries no data to mask, whatever its Content-Encoding says.
  if (state_ == State::kHeader && hdr_.empty() && total_in_ == 0) return true;
  return fail(std::string(coding_ == Coding::kGzip ? "gzip" : "deflate") + " stream truncated");
}

}  // namespace phigate::proxy
