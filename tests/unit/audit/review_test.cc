// Optional Event fields in the canonical encoding, and the read-back aggregations behind
// `sessions list`, `replay` and `report hipaa` (session_review.h, hipaa_report.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/canonical.h"
#include "audit/hipaa_report.h"
#include "audit/session_review.h"

namespace phigate::audit {
namespace {

TEST(OptionalFields, OmittedWhenEmptySoOldHashesStay) {
  Event e;
  e.seq = 1;
  e.type = "result";
  std::string before = canonical_json(e);
  EXPECT_EQ(before.find("capture"), std::string::npos);
  EXPECT_EQ(before.find("client_tls"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(before).size(), 32u);  // the original field set
  e.capture = std::string(64, 'a');
  e.client_tls = "tls";
  e.upstream_tls = "require:tls";
  std::string with = canonical_json(e);
  auto j = nlohmann::json::parse(with);
  EXPECT_EQ(j["capture"], e.capture);
  EXPECT_EQ(j.dump(), with) << "still sorted, compact";
  e.hash = chain_hash(kGenesisHash, with);
  auto back = from_json_line(to_json_line(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->capture, e.capture);
  EXPECT_EQ(back->upstream_tls, "require:tls");
  EXPECT_EQ(to_json_line(*back), to_json_line(e));
}

TEST(OptionalFields, PresentButEmptyOrWrongTypeIsRejected) {
  Event e;
  std::string line = to_json_line(e);
  auto j = nlohmann::json::parse(line);
  j["capture"] = "";
  EXPECT_FALSE(from_json_line(j.dump()).has_value());
  j["capture"] = 5;
  EXPECT_FALSE(from_json_line(j.dump()).has_value());
  j.erase("capture");
  j["unknown_field"] = "x";
  EXPECT_FALSE(from_json_line(j.dump()).has_value());
}

Event ev(uint64_t seq, const std::string& sid, const std::string& type, int64_t t) {
  Event e;
  e.seq = seq;
  e.session_id = sid;
  e.type = type;
  e.time_ns = t;
  return e;
}

TEST(SessionIndex, SummariesAndFilters) {
  SessionIndex idx;
  Event s1 = ev(1, "a", "session_start", 100);
  s1.sub = "worker";
  s1.task_id = "t1";
  s1.workflow_id = "w1";
  s1.act_sub = "hannah";
  s1.resource = "clinic";
  idx.add(s1);
  Event st = ev(2, "a", "statement", 110);
  st.decision = "allow";
  idx.add(st);
  st.seq = 3;
  st.decision = "deny";
  idx.add(st);
  idx.add(ev(4, "a", "session_end", 200));
  Event s2 = ev(5, "b", "session_start", 300);
  s2.sub = "carol";
  s2.resource = "labs";
  idx.add(s2);
  idx.add(ev(6, "c", "auth_failure", 310));  // never a session

  auto all = idx.list({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].session_id, "a");
  EXPECT_EQ(all[0].statements, 2u);
  EXPECT_EQ(all[0].denied, 1u);
  EXPECT_EQ(all[0].end_ns, 200);
  EXPECT_EQ(all[1].end_ns, 0);

  SessionFilter f;
  f.identity = "hannah";
  EXPECT_EQ(idx.list(f).size(), 1u);
  f = {};
  f.resource = "labs";
  EXPECT_EQ(idx.list(f).at(0).session_id, "b");
  f = {};
  f.task_id = "t1";
  f.workflow_id = "w1";
  EXPECT_EQ(idx.list(f).size(), 1u);
  f = {};
  f.since_ns = 250;  // a ended at 200
  EXPECT_EQ(idx.list(f).at(0).session_id, "b");
  f = {};
  f.until_ns = 300;  // b started at 300
  EXPECT_EQ(idx.list(f).at(0).session_id, "a");
}

TEST(Timeline, PairsResultsWithStatements) {
  Timeline tl("a");
  tl.add(ev(1, "a", "session_start", 1));
  Event s = ev(2, "a", "statement", 2);
  s.action = "SELECT 1";
  s.decision = "allow";
  tl.add(s);
  s.seq = 3;
  s.action = "DELETE FROM t";
  s.decision = "deny";
  tl.add(s);
  s.seq = 4;
  s.action = "SELECT 2";
  s.decision = "allow";
  tl.add(s);
  tl.add(ev(5, "other", "statement", 5));
  Event r = ev(6, "a", "result", 6);
  r.ref_seq = 4;
  r.rows = 7;
  r.capture = "h";
  tl.add(r);
  Event r2 = ev(7, "a", "result", 7);  // async: statement seq unknown, pairs in order
  r2.rows = 1;
  tl.add(r2);
  const auto& e = tl.entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[1].rows, 1u);
  EXPECT_TRUE(e[1].has_result);
  EXPECT_FALSE(e[2].has_result);
  EXPECT_EQ(e[3].rows, 7u);
  EXPECT_EQ(e[3].capture, "h");
  ASSERT_NE(tl.first(), nullptr);
  EXPECT_EQ(tl.first()->type, "session_start");
}

TEST(HipaaTally, CountsOnlyThePeriod) {
  HipaaTally t(100, 200);
  Event s = ev(1, "a", "session_start", 50);  // before the period
  s.sub = "early";
  t.add(s);
  s = ev(2, "a", "session_start", 100);
  s.sub = "alice";
  s.client_tls = "tls";
  s.upstream_tls = "verify-full:tls";
  s.roles = {"analyst"};
  t.add(s);
  s.seq = 3;
  s.sub = "bob";
  s.client_tls = "plain";
  s.upstream_tls = "disable:plain";
  s.task_id = "t";
  t.add(s);
  Event st = ev(4, "a", "statement", 120);
  st.decision = "deny";
  st.rule = "r1";
  t.add(st);
  st.decision = "hold";
  t.add(st);
  st.decision = "allow";
  t.add(st);
  Event res = ev(5, "a", "result", 130);
  res.masked = {{"US_SSN", 3}, {"EMAIL_ADDRESS", 1}};
  res.rows = 4;
  res.capture = "x";
  t.add(res);
  Event af = ev(6, "", "auth_failure", 140);
  af.error_code = "28P01";
  af.message = "expired: token expired at 5";
  t.add(af);
  af.message = "expired: token expired at 6";
  t.add(af);
  t.add(ev(7, "", "auth_failure", 200));  // end is exclusive
  const auto& c = t.counts();
  EXPECT_EQ(c.sessions, 2u);
  EXPECT_EQ(c.identities, (std::set<std::string>{"alice", "bob"}));
  EXPECT_EQ(c.sessions_with_task, 1u);
  EXPECT_EQ((std::tuple{c.statements, c.allowed, c.denied, c.held}), (std::tuple{3u, 1u, 1u, 1u}));
  EXPECT_EQ(c.denied_by_rule.at("r1"), 1u);
  EXPECT_EQ(c.masked_total, 4u);
  EXPECT_EQ(c.masked.at("US_SSN"), 3u);
  EXPECT_EQ(c.auth_failures_total, 2u);
  EXPECT_EQ(c.auth_failures.at("28P01 expired"), 2u);
  EXPECT_EQ(c.client_tls, 1u);
  EXPECT_EQ(c.client_plain, 1u);
  EXPECT_EQ(c.upstream_tls.at("verify-full:tls"), 1u);
  EXPECT_EQ(c.first_seq, 2u);
  EXPECT_EQ(c.records, 8u);  // seq 2..6 plus three statements with the same seq
  EXPECT_EQ(c.captures, 1u);
}

}  // namespace
}  // namespace phigate::audit
