#include "codec/http/method_override.h"

#include <gtest/gtest.h>

namespace phigate::http {
namespace {

Fields fields(std::initializer_list<std::pair<const char*, const char*>> kv) {
  Fields f;
  for (const auto& [k, v] : kv) f.add(k, v);
  return f;
}

TEST(MethodOverride, FieldsAndQueryParameterAnyCase) {
  auto f = fields({{"X-HTTP-Method-Override", " delete "},
                   {"x-http-method", "PATCH"},
                   {"X-Method-Override", "Delete"},
                   {"Accept", "PUT"}});
  std::vector<std::pair<std::string, std::string>> q{{"_method", "put"}, {"method", "TRACE"}};
  EXPECT_EQ(override_methods("POST", f, q), (std::vector<std::string>{"DELETE", "PATCH", "PUT"}));
}

TEST(MethodOverride, NoneOrTheSameMethod) {
  EXPECT_TRUE(override_methods("GET", fields({{"Host", "a"}}), {}).empty());
  EXPECT_TRUE(override_methods("POST", fields({{"X-HTTP-Method-Override", "post"}}), {}).empty());
  EXPECT_TRUE(override_methods("POST", fields({{"X-HTTP-Method-Override", "  "}}), {}).empty());
}

TEST(MethodOverride, EveryValueOfARepeatedField) {
  auto f = fields({{"X-HTTP-Method-Override", "GET"}, {"X-HTTP-Method-Override", "DELETE"}});
  EXPECT_EQ(override_methods("POST", f, {}), (std::vector<std::string>{"GET", "DELETE"}));
}

}  // namespace
}  // namespace phigate::http
