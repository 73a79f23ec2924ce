// Event::approval_id is an appended field: absent from the canonical form when empty (records and
// hashes written before it exist are unchanged), present and round-tripping when set.
#include <gtest/gtest.h>

#include "audit/canonical.h"

namespace phigate::audit {
namespace {

Event sample() {
  Event e;
  e.seq = 1;
  e.node_id = "gw-1";
  e.prev_hash = kGenesisHash;
  e.type = "approval_decision";
  e.sub = "bob";
  e.hash = std::string(64, 'a');
  return e;
}

TEST(ApprovalIdField, OmittedWhenEmpty) {
  Event e = sample();
  EXPECT_EQ(canonical_json(e).find("approval_id"), std::string::npos);
  auto back = from_json_line(to_json_line(e));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->approval_id.empty());
}

TEST(ApprovalIdField, RoundTripsInSortedPlace) {
  Event e = sample();
  e.approval_id = "0123456789ab";
  std::string line = to_json_line(e);
  size_t action = line.find("\"action\":"), id = line.find("\"approval_id\":"),
         approver = line.find("\"approver\":");
  ASSERT_NE(id, std::string::npos);
  EXPECT_LT(action, id);
  EXPECT_LT(id, approver);
  auto back = from_json_line(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->approval_id, "0123456789ab");
  EXPECT_EQ(to_json_line(*back), line);
  // The hash covers it: a different id is a different record.
  Event f = e;
  f.approval_id = "ffffffffffff";
  EXPECT_NE(chain_hash(kGenesisHash, canonical_json(e)),
            chain_hash(kGenesisHash, canonical_json(f)));
}

TEST(ApprovalIdField, EmptyOrMistypedIsRejected) {
  std::string line = to_json_line(sample());
  std::string with_empty = line;
  with_empty.insert(with_empty.find("\"approver\":"), "\"approval_id\":\"\",");
  EXPECT_FALSE(from_json_line(with_empty));
  std::string with_number = line;
  with_number.insert(with_number.find("\"approver\":"), "\"approval_id\":5,");
  EXPECT_FALSE(from_json_line(with_number));
  std::string unknown = line;
  unknown.insert(unknown.find("\"approver\":"), "\"approval_idx\":\"a\",");
  EXPECT_FALSE(from_json_line(unknown));
}

}  // namespace
}  // namespace phigate::audit
