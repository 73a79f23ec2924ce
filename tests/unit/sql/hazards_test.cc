#include "sql/hazards.h"

#include <gtest/gtest.h>

#include "sql/classify.h"

namespace phigate::sql {
namespace {

Statement one(const char* q) {
  auto c = classify_uncached(q);
  EXPECT_TRUE(c.ok) << q;
  EXPECT_EQ(c.statements.size(), 1u) << q;
  return c.statements.empty() ? Statement{} : c.statements[0];
}

TEST(Hazards, WritingBuiltinsInsideSelect) {
  EXPECT_EQ(one("SELECT nextval('s')").hazard_functions, std::vector<std::string>{"nextval"});
  EXPECT_EQ(one("SELECT pg_catalog.setval('s', 1)").hazard_functions,
            std::vector<std::string>{"setval"});
  EXPECT_FALSE(one("SELECT x FROM t WHERE lo_from_bytea(0, 'a') > 0").hazard_functions.empty());
  EXPECT_FALSE(one("SELECT dblink_exec('x', 'DELETE FROM t')").hazard_functions.empty());
  EXPECT_FALSE(one("SELECT PG_TERMINATE_BACKEND(1)").hazard_functions.empty());
  EXPECT_TRUE(one("SELECT lower(name), count(*) FROM t GROUP BY 1").hazard_functions.empty());
}

TEST(Hazards, LexerSettingsAreJudgedByValue) {
  EXPECT_FALSE(one("SET standard_conforming_strings = off").lexer_unsafe.empty());
  EXPECT_FALSE(one("SET standard_conforming_strings TO false").lexer_unsafe.empty());
  EXPECT_TRUE(one("SET standard_conforming_strings = on").lexer_unsafe.empty());
  EXPECT_TRUE(one("RESET standard_conforming_strings").lexer_unsafe.empty());
  EXPECT_FALSE(one("SET client_encoding = 'SJIS'").lexer_unsafe.empty());
  EXPECT_FALSE(one("SET NAMES 'big5'").lexer_unsafe.empty());
  EXPECT_TRUE(one("SET client_encoding TO 'UTF8'").lexer_unsafe.empty());
  EXPECT_FALSE(
      one("SELECT set_config('standard_conforming_strings', 'off', false)").lexer_unsafe.empty());
  EXPECT_FALSE(one("SELECT set_config('client_encoding', 'GBK', false)").lexer_unsafe.empty());
  EXPECT_FALSE(one("SELECT set_config('standard_conforming' || '_strings', 'off', false)")
                   .lexer_unsafe.empty());
  EXPECT_FALSE(one("SELECT set_config('client_encoding', current_setting('x'), false)")
                   .lexer_unsafe.empty());
  EXPECT_TRUE(one("SELECT set_config('search_path', 'public', false)").lexer_unsafe.empty());
  EXPECT_FALSE(one("UPDATE pg_settings SET setting = 'off' "
                   "WHERE name = 'standard_conforming_strings'")
                   .lexer_unsafe.empty());
  // Merely mentioning the name in data is not a change.
  EXPECT_TRUE(one("SELECT 'client_encoding' AS label").lexer_unsafe.empty());
  EXPECT_TRUE(one("SHOW client_encoding").lexer_unsafe.empty());
}

}  // namespace
}  // namespace phigate::sql
