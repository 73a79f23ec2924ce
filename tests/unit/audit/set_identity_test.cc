#include <gtest/gtest.h>

#include "audit/event.h"
#include "identity/identity.h"

namespace phigate::audit {
namespace {

// Every adapter records who acted through set_identity: the whole chain, the delegation hops
// included (HTTP and admin records used to leave act_chain out).
TEST(SetIdentity, CopiesTheWholeIdentityChain) {
  Identity id;
  id.sub = "etl-task-7";
  id.issuer = "local";
  id.jti = "j1";
  id.task_id = "task-7";
  id.workflow_id = "wf-2";
  id.act_sub = "pipeline";
  id.act_chain = "pipeline>alice";
  id.groups = {"etl"};
  id.roles = {"reader"};
  Event e;
  set_identity(e, id);
  EXPECT_EQ(e.sub, "etl-task-7");
  EXPECT_EQ(e.issuer, "local");
  EXPECT_EQ(e.jti, "j1");
  EXPECT_EQ(e.task_id, "task-7");
  EXPECT_EQ(e.workflow_id, "wf-2");
  EXPECT_EQ(e.act_sub, "pipeline");
  EXPECT_EQ(e.act_chain, "pipeline>alice");
  EXPECT_EQ(e.groups, std::vector<std::string>{"etl"});
  EXPECT_EQ(e.roles, std::vector<std::string>{"reader"});
}

}  // namespace
}  // namespace phigate::audit
