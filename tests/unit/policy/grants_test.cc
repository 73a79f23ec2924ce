// JIT grants: only the granted identity, only on the granted resource, only before expiry; the
// holder publishes new sets to every thread.
#include "policy/grants.h"

#include <gtest/gtest.h>

#include <thread>

namespace phigate {
namespace {

Identity who(std::string sub, std::string issuer = "local") {
  Identity id;
  id.sub = std::move(sub);
  id.issuer = std::move(issuer);
  id.roles = {"analyst"};
  return id;
}

TEST(Grants, AppliesOnlyToItsIdentityResourceAndTime) {
  GrantHolder holder;
  Identity erin = who("erin"), scratch;
  EXPECT_EQ(&effective_identity(&holder, erin, "clinic", 100, scratch), &erin);
  holder.set(std::make_shared<const GrantSet>(
      std::vector<Grant>{{"g1", "erin", "local", "clinic", "writer", 1000},
                         {"g2", "erin", "local", "clinic", "analyst", 1000}}));
  const Identity& e = effective_identity(&holder, erin, "clinic", 999, scratch);
  EXPECT_EQ(e.roles, (std::vector<std::string>{"analyst", "writer"}));            // no duplicate
  EXPECT_EQ(&effective_identity(&holder, erin, "clinic", 1000, scratch), &erin);  // expired
  EXPECT_EQ(&effective_identity(&holder, erin, "archive", 1, scratch), &erin);
  Identity other_issuer = who("erin", "corp");
  EXPECT_EQ(&effective_identity(&holder, other_issuer, "clinic", 1, scratch), &other_issuer);
  Identity frank = who("frank");
  EXPECT_EQ(&effective_identity(&holder, frank, "clinic", 1, scratch), &frank);
  EXPECT_EQ(&effective_identity(nullptr, erin, "clinic", 1, scratch), &erin);
}

TEST(Grants, NewSetReachesOtherThreads) {
  GrantHolder holder;
  Identity erin = who("erin");
  auto count = [&] {
    Identity scratch;
    return effective_identity(&holder, erin, "clinic", 1, scratch).roles.size();
  };
  size_t before = 0, after = 0;
  std::thread([&] { before = count(); }).join();
  holder.set(std::make_shared<const GrantSet>(
      std::vector<Grant>{{"g1", "erin", "local", "clinic", "writer", 10}}));
  EXPECT_EQ(count(), 2u);
  std::thread([&] { after = count(); }).join();
  EXPECT_EQ(before, 1u);
  EXPECT_EQ(after, 2u);
  holder.set(std::make_shared<const GrantSet>(std::vector<Grant>{}));
  EXPECT_EQ(count(), 1u);
}

}  // namespace
}  // namespace phigate
