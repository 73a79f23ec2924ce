#include "sql/settings.h"

#include <gtest/gtest.h>

namespace phigate::sql {
namespace {

TEST(ClientEncoding, UnsafeEncodingsUnderAnyAlias) {
  for (auto n : {"SJIS", "Shift_JIS", "shift-jis", "MSKANJI", "BIG5", "gbk", "WIN936", "UHC",
                 "GB18030", "johab", "SHIFT_JIS_2004", "Windows-932"}) {
    EXPECT_FALSE(client_encoding_is_safe(n)) << n;
  }
  for (auto n : {"", "UTF8", "utf-8", "UNICODE", "LATIN1", "EUC_JP", "WIN1252", "SQL_ASCII"}) {
    EXPECT_TRUE(client_encoding_is_safe(n)) << n;
  }
}

TEST(LexerSafe, StandardConformingStringsAndEncoding) {
  std::string_view off = "off", on = "'on'", sjis = "SJIS", utf8 = "UTF8";
  EXPECT_FALSE(setting_is_lexer_safe("standard_conforming_strings", &off));
  EXPECT_TRUE(setting_is_lexer_safe("standard_conforming_strings", &on));
  EXPECT_TRUE(setting_is_lexer_safe("standard_conforming_strings", nullptr));
  EXPECT_FALSE(setting_is_lexer_safe("client_encoding", &sjis));
  EXPECT_FALSE(setting_is_lexer_safe("NAMES", &sjis));
  EXPECT_TRUE(setting_is_lexer_safe("client_encoding", &utf8));
  EXPECT_TRUE(setting_is_lexer_safe("search_path", &off));
  std::string_view yes = "on";
  EXPECT_FALSE(setting_is_lexer_safe("backslash_quote", &yes));
}

}  // namespace
}  // namespace phigate::sql
