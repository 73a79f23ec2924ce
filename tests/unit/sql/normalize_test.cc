#include "sql/normalize.h"

#include <gtest/gtest.h>

namespace phigate::sql {
namespace {

TEST(Normalize, CommentsCaseAndWhitespace) {
  EXPECT_EQ(normalize_sql("SeLeCt  *  /* x */ FROM \"Patients\" -- y"),
            "select * from \"Patients\"");
  EXPECT_EQ(normalize_sql("DELETE\n\tFROM   visits\nWHERE id=1"),
            "delete from visits where id = 1");
  EXPECT_EQ(normalize_sql("SELECT 'Keep CASE', E'a\\'b' FROM T"),
            "select 'Keep CASE' , E'a\\'b' from t");
  EXPECT_EQ(normalize_sql("select $$X Y$$, $1, 1.5e3"), "select $$X Y$$ , $1 , 1.5e3");
  EXPECT_EQ(normalize_sql("SELECT/**/pg_READ_file('/x')"), "select pg_read_file ( '/x' )");
  EXPECT_EQ(normalize_sql(""), "");
}

TEST(Normalize, NestedCommentsAndUnicodeIdentifiers) {
  EXPECT_EQ(normalize_sql("SELECT /* a /* b */ c */ 1"), "select 1");
  EXPECT_EQ(normalize_sql("SELECT U&\"d\\0061ta\" FROM Users"),
            "select U&\"d\\0061ta\" from users");
}

TEST(Normalize, RejectsWhatTheScannerRejects) {
  EXPECT_FALSE(normalize_sql(std::string("SELECT 1\0", 9)).has_value());
}

}  // namespace
}  // namespace phigate::sql
