// Compressed response bodies (proxy/http_inflate.h): gzip and zlib-wrapped deflate as Python's
// gzip/zlib modules write them, fed whole and byte by byte; corrupt check values, truncation,
// trailing garbage, unknown codings and decompression bombs are refused.
#include "proxy/http_inflate.h"

#include <gtest/gtest.h>

#include <boost/beast/zlib/deflate_stream.hpp>
#include <vector>

namespace phigate::proxy {
namespace {

const std::string kPlain = "{\"ssn\":\"123-45-6789\",\"n\":1}";

// gzip.compress(kPlain, mtime=0)
const std::vector<uint8_t> kGzip = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x2a, 0x2e, 0xce, 0x53,
    0xb2, 0x52, 0x32, 0x34, 0x32, 0xd6, 0x35, 0x31, 0xd5, 0x35, 0x33, 0xb7, 0xb0, 0x54, 0xd2, 0x51,
    0x02, 0x8a, 0x18, 0xd6, 0x02, 0x00, 0x05, 0x95, 0xf1, 0xc3, 0x1b, 0x00, 0x00, 0x00};
// gzip.GzipFile(filename='p.json', mtime=0): FNAME set
const std::vector<uint8_t> kGzipName = {
    0x1f, 0x8b, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x70, 0x2e, 0x6a, 0x73,
    0x6f, 0x6e, 0x00, 0xab, 0x56, 0x2a, 0x2e, 0xce, 0x53, 0xb2, 0x52, 0x32, 0x34, 0x32,
    0xd6, 0x35, 0x31, 0xd5, 0x35, 0x33, 0xb7, 0xb0, 0x54, 0xd2, 0x51, 0x02, 0x8a, 0x18,
    0xd6, 0x02, 0x00, 0x05, 0x95, 0xf1, 0xc3, 0x1b, 0x00, 0x00, 0x00};
// zlib.compress(kPlain)
const std::vector<uint8_t> kZlib = {0x78, 0x9c, 0xab, 0x56, 0x2a, 0x2e, 0xce, 0x53, 0xb2,
                                    0x52, 0x32, 0x34, 0x32, 0xd6, 0x35, 0x31, 0xd5, 0x35,
                                    0x33, 0xb7, 0xb0, 0x54, 0xd2, 0x51, 0x02, 0x8a, 0x18,
                                    0xd6, 0x02, 0x00, 0x60, 0xb9, 0x06, 0x8f};

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

struct Out {
  bool ok = false;
  std::string body, error;
};

Out decode(BodyDecoder::Coding c, const std::string& in, size_t step = 0,
           BodyDecoder::Limits limits = {}) {
  BodyDecoder d(c, limits);
  Out o;
  if (step == 0) step = in.size() == 0 ? 1 : in.size();
  for (size_t at = 0; at < in.size(); at += step) {
    if (!d.feed(std::string_view(in).substr(at, step), o.body)) {
      o.error = d.error();
      return o;
    }
  }
  o.ok = d.finish();
  o.error = d.error();
  return o;
}

// Raw deflate of `plain` with Beast's deflater (for sizes no fixture should hold).
std::string raw_deflate(const std::string& plain) {
  boost::beast::zlib::deflate_stream ds;
  ds.reset(6, 15, 8, boost::beast::zlib::Strategy::normal);
  std::string out(plain.size() + 1024, '\0');
  boost::beast::zlib::z_params zs;
  zs.next_in = plain.data();
  zs.avail_in = plain.size();
  zs.next_out = out.data();
  zs.avail_out = out.size();
  boost::beast::error_code ec;
  ds.write(zs, boost::beast::zlib::Flush::finish, ec);
  out.resize(zs.total_out);
  return out;
}

std::string gzip_of(const std::string& plain) {
  std::string g("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  g += raw_deflate(plain);
  uint32_t crc =
      crc32_update(0, reinterpret_cast<const unsigned char*>(plain.data()), plain.size());
  uint32_t n = static_cast<uint32_t>(plain.size());
  for (int i = 0; i < 4; ++i) g += static_cast<char>((crc >> (8 * i)) & 0xFF);
  for (int i = 0; i < 4; ++i) g += static_cast<char>((n >> (8 * i)) & 0xFF);
  return g;
}

TEST(BodyDecoder, Checksums) {
  const auto* p = reinterpret_cast<const unsigned char*>("123456789");
  EXPECT_EQ(crc32_update(0, p, 9), 0xCBF43926u);    // the CRC-32 check value
  EXPECT_EQ(adler32_update(1, p, 9), 0x091E01DEu);  // Adler-32 of "123456789"
}

TEST(BodyDecoder, ParseCoding) {
  BodyDecoder::Coding c;
  std::string why;
  EXPECT_TRUE(BodyDecoder::parse_coding("gzip", c, why));
  EXPECT_EQ(c, BodyDecoder::Coding::kGzip);
  EXPECT_TRUE(BodyDecoder::parse_coding(" X-GZIP ", c, why));
  EXPECT_EQ(c, BodyDecoder::Coding::kGzip);
  EXPECT_TRUE(BodyDecoder::parse_coding("Deflate", c, why));
  EXPECT_EQ(c, BodyDecoder::Coding::kDeflate);
  EXPECT_TRUE(BodyDecoder::parse_coding("identity", c, why));
  EXPECT_EQ(c, BodyDecoder::Coding::kIdentity);
  for (const char* bad : {"br", "zstd", "compress", "gzip, gzip", "gzip, br"}) {
    EXPECT_FALSE(BodyDecoder::parse_coding(bad, c, why)) << bad;
  }
}

TEST(BodyDecoder, PythonGzipWholeAndByteByByte) {
  for (size_t step : {size_t(0), size_t(1), size_t(3), size_t(7)}) {
    Out o = decode(BodyDecoder::Coding::kGzip, str(kGzip), step);
    EXPECT_TRUE(o.ok) << step << " " << o.error;
    EXPECT_EQ(o.body, kPlain);
    o = decode(BodyDecoder::Coding::kGzip, str(kGzipName), step);
    EXPECT_TRUE(o.ok) << step << " " << o.error;
    EXPECT_EQ(o.body, kPlain);
  }
}

TEST(BodyDecoder, PythonZlibDeflate) {
  for (size_t step : {size_t(0), size_t(1), size_t(5)}) {
    Out o = decode(BodyDecoder::Coding::kDeflate, str(kZlib), step);
    EXPECT_TRUE(o.ok) << step << " " << o.error;
    EXPECT_EQ(o.body, kPlain);
  }
}

TEST(BodyDecoder, ConcatenatedGzipMembers) {
  Out o = decode(BodyDecoder::Coding::kGzip, str(kGzip) + str(kGzipName), 4);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, kPlain + kPlain);
}

TEST(BodyDecoder, CorruptCrcIsRefused) {
  std::string g = str(kGzip);
  g[g.size() - 8] ^= 0x01;  // CRC-32
  Out o = decode(BodyDecoder::Coding::kGzip, g);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("CRC"), std::string::npos) << o.error;
  g = str(kGzip);
  g[g.size() - 4] ^= 0x01;  // ISIZE
  o = decode(BodyDecoder::Coding::kGzip, g);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("ISIZE"), std::string::npos) << o.error;
  std::string z = str(kZlib);
  z.back() ^= 0x01;  // Adler-32
  o = decode(BodyDecoder::Coding::kDeflate, z);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("Adler"), std::string::npos) << o.error;
}

TEST(BodyDecoder, TruncatedStreamIsRefused) {
  const std::string g = str(kGzip), z = str(kZlib);
  for (size_t cut : {size_t(1), size_t(5), size_t(12), g.size() - 9, g.size() - 1}) {
    Out o = decode(BodyDecoder::Coding::kGzip, g.substr(0, cut));
    EXPECT_FALSE(o.ok) << cut;
    EXPECT_FALSE(o.error.empty());
  }
  for (size_t cut : {size_t(1), size_t(10), z.size() - 1}) {
    Out o = decode(BodyDecoder::Coding::kDeflate, z.substr(0, cut));
    EXPECT_FALSE(o.ok) << cut;
  }
}

TEST(BodyDecoder, CorruptDataHeaderAndGarbage) {
  std::string g = str(kGzip);
  g[0] = 0x1e;
  EXPECT_FALSE(decode(BodyDecoder::Coding::kGzip, g).ok);
  g = str(kGzip);
  g[3] = 0x20;  // reserved flag
  EXPECT_FALSE(decode(BodyDecoder::Coding::kGzip, g).ok);
  g = str(kGzip);
  g[10] = static_cast<char>(0xff);  // deflate block type 3: invalid
  EXPECT_FALSE(decode(BodyDecoder::Coding::kGzip, g).ok);
  EXPECT_FALSE(decode(BodyDecoder::Coding::kGzip, str(kGzip) + "x").ok);
  EXPECT_FALSE(decode(BodyDecoder::Coding::kDeflate, str(kZlib) + "x").ok);
  // Raw deflate without the zlib wrapper is not accepted as "deflate".
  EXPECT_FALSE(decode(BodyDecoder::Coding::kDeflate, raw_deflate(kPlain)).ok);
  // zlib with a preset dictionary (FDICT)
  std::string z("\x78\xbb\x00\x00\x00\x00", 6);
  EXPECT_FALSE(decode(BodyDecoder::Coding::kDeflate, z).ok);
  // An empty body is an empty body.
  EXPECT_TRUE(decode(BodyDecoder::Coding::kGzip, "").ok);
}

TEST(BodyDecoder, LargeBodyDecodesInPieces) {
  std::string plain;
  for (int i = 0; i < 20000; ++i) plain += "{\"id\":" + std::to_string(i) + ",\"x\":\"abc\"},";
  Out o = decode(BodyDecoder::Coding::kGzip, gzip_of(plain), 16 * 1024);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, plain);
}

TEST(BodyDecoder, DecompressionBombIsRefused) {
  const std::string zeros(8 * 1024 * 1024, '0');
  const std::string bomb = gzip_of(zeros);
  ASSERT_LT(bomb.size() * 100, zeros.size());
  BodyDecoder d(BodyDecoder::Coding::kGzip);
  std::string out;
  bool ok = true;
  for (size_t at = 0; at < bomb.size() && ok; at += 1024)
    ok = d.feed(std::string_view(bomb).substr(at, 1024), out);
  EXPECT_FALSE(ok);
  EXPECT_NE(d.error().find("ratio"), std::string::npos) << d.error();
  // Bounded: it stopped shortly after the floor, long before the 8 MiB.
  EXPECT_LT(out.size(), 2u * 1024 * 1024);

  BodyDecoder::Limits l;
  l.max_output = 1000;
  Out o = decode(BodyDecoder::Coding::kGzip, gzip_of(std::string(5000, 'a')), 0, l);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("exceeds"), std::string::npos) << o.error;
}

TEST(BodyDecoder, EveryCorruptionIsDecodedOrRefusedNeverMisread) {
  // Flipping any bit of a stream: either the checks catch it, or (MTIME, XFL, OS) the output is
  // still exactly the original. Never a wrong body passed on as good.
  std::string plain;
  for (int i = 0; i < 300; ++i) plain += "{\"ssn\":\"123-45-" + std::to_string(1000 + i) + "\"},";
  for (BodyDecoder::Coding c : {BodyDecoder::Coding::kGzip, BodyDecoder::Coding::kDeflate}) {
    std::string good = c == BodyDecoder::Coding::kGzip ? gzip_of(plain) : std::string();
    if (good.empty()) {
      uint32_t a =
          adler32_update(1, reinterpret_cast<const unsigned char*>(plain.data()), plain.size());
      good = std::string("\x78\x9c", 2) + raw_deflate(plain);
      for (int i = 3; i >= 0; --i) good += static_cast<char>((a >> (8 * i)) & 0xFF);
    }
    ASSERT_TRUE(decode(c, good, 0).ok);
    for (size_t at = 0; at < good.size(); ++at) {
      for (int bit : {0, 3, 7}) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
        Out o = decode(c, bad, 97);
        if (o.ok) {
          EXPECT_EQ(o.body, plain) << "byte " << at << " bit " << bit;
        }
      }
    }
  }
}

}  // namespace
}  // namespace phigate::proxy
