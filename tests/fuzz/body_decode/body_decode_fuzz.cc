// Fuzz target for the decoder of compressed upstream bodies (proxy/http_inflate.h): the input's
// first byte picks the coding (gzip or deflate) and how the body is split, the rest is the body as
// an upstream would send it. Invariants: no crash; whether the body is accepted, and what it
// decodes to, do not depend on how it is split; the decoded size stays within the bomb limits; a
// body the decoder accepted decodes to the same bytes when fed again from a fresh decoder.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http_inflate.h"

using phigate::proxy::BodyDecoder;

namespace {

constexpr BodyDecoder::Limits kLimits{/*max_ratio=*/20, /*ratio_floor=*/64 * 1024,
                                      /*max_output=*/4 * 1024 * 1024};

bool run(BodyDecoder::Coding coding, std::string_view in, size_t step, std::string& out) {
  BodyDecoder d(coding, kLimits);
  for (size_t i = 0; i < in.size(); i += step) {
    size_t before = out.size();
    if (!d.feed(in.substr(i, step), out)) return false;
    // One piece of n compressed bytes never yields more than the limits allow.
    const uint64_t bound =
        std::max<uint64_t>(kLimits.ratio_floor, kLimits.max_ratio * d.total_in());
    if (out.size() - before > bound || d.total_out() > kLimits.max_output) std::abort();
  }
  return d.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto coding = (data[0] & 1) ? BodyDecoder::Coding::kDeflate : BodyDecoder::Coding::kGzip;
  const size_t step = 1 + (data[0] >> 1) % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string whole, pieces;
  const bool ok_whole = run(coding, in, in.size() + 1, whole);
  const bool ok_pieces = run(coding, in, step, pieces);
  if (ok_whole != ok_pieces) std::abort();
  if (ok_whole && whole != pieces) std::abort();
  return 0;
}
