#include "proxy/pg_params.h"

#include <gtest/gtest.h>

namespace phigate::proxy {
namespace {

TEST(RenderParam, TextBinaryNullAndCaps) {
  pg::BindParam null_p{true, {}};
  EXPECT_EQ(render_param(null_p, 0), "NULL");
  std::string text = "O'Brien";
  pg::BindParam t{false, as_bytes(text)};
  EXPECT_EQ(render_param(t, 0), "O'Brien");
  uint8_t bin[] = {0x00, 0x01, 0xff};
  pg::BindParam b{false, ByteSpan(bin, 3)};
  EXPECT_EQ(render_param(b, 1), "\\x0001ff");
  std::string big(5000, 'a');
  pg::BindParam bg{false, as_bytes(big)};
  auto r = render_param(bg, 0);
  EXPECT_LT(r.size(), 1100u);
  EXPECT_NE(r.find("5000 bytes"), std::string::npos);
}

TEST(AuditText, TruncatesHugeTextWithDigest) {
  std::string s(kMaxAuditText + 10, 'x');
  auto r = audit_text(s);
  EXPECT_NE(r.find("sha256"), std::string::npos);
  EXPECT_EQ(audit_text("SELECT 1"), "SELECT 1");
}

}  // namespace
}  // namespace phigate::proxy
