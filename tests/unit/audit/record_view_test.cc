#include "audit/record_view.h"

#include <gtest/gtest.h>

#include <random>

#include "audit/canonical.h"
#include "audit/export_format.h"
#include "audit/verifier.h"

namespace phigate::audit {
namespace {

Event sample(uint64_t seq, const std::string& prev, std::mt19937& rng) {
  static const char* kTexts[] = {"",
                                 "plain",
                                 "quote\" and \\ backslash",
                                 "ctl\n\t\x01",
                                 "utf8 \xC3\xA9\xE2\x82\xAC",
                                 "\"",
                                 "\\",
                                 "ends with \\"};
  auto pick = [&] { return std::string(kTexts[rng() % std::size(kTexts)]); };
  Event e;
  e.seq = seq;
  e.node_id = "gw-" + pick();
  e.prev_hash = prev;
  e.time_ns = static_cast<int64_t>(rng()) - 1000;
  e.session_id = pick();
  e.type = pick();
  e.sub = pick();
  e.resource = pick();
  e.action = pick() + "SELECT 1";
  e.groups = {pick(), pick()};
  e.parameters = {pick()};
  e.masked = {{pick(), rng() % 5}};
  e.duration_ns = -static_cast<int64_t>(rng() % 100);
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  return e;
}

TEST(RecordView, AgreesWithTheFullParserAndTheChainRule) {
  std::mt19937 rng(7);
  std::string prev = kGenesisHash;
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    Event e = sample(seq, prev, rng);
    std::string line = to_json_line(e);
    RecordView v;
    ASSERT_TRUE(parse_record_view(line, v)) << line;
    EXPECT_EQ(v.seq, seq);
    EXPECT_EQ(v.time_ns, e.time_ns);
    EXPECT_EQ(v.hash, e.hash);
    EXPECT_EQ(v.prev_hash, e.prev_hash);
    if (!v.escaped) {
      EXPECT_EQ(v.sub, e.sub);
      EXPECT_EQ(v.session_id, e.session_id);
      EXPECT_EQ(v.type, e.type);
      EXPECT_EQ(v.resource, e.resource);
    }
    // The line minus its hash field is exactly the canonical form.
    std::string cut = line.substr(0, v.hash_field_begin) + line.substr(v.hash_field_end);
    EXPECT_EQ(cut, canonical_json(e));
    uint8_t d[32];
    record_chain_digest(line, v, d);
    EXPECT_TRUE(digest_equals_hex(d, e.hash));
    prev = e.hash;
  }
}

TEST(RecordView, RejectsWhatIsNotAStoredRecord) {
  std::mt19937 rng(1);
  Event e = sample(3, kGenesisHash, rng);
  std::string line = to_json_line(e);
  RecordView v;
  EXPECT_FALSE(parse_record_view("", v));
  EXPECT_FALSE(parse_record_view("{}", v));
  EXPECT_FALSE(parse_record_view(line + " ", v));
  EXPECT_FALSE(parse_record_view(line.substr(0, line.size() - 1), v));
  // Keys out of canonical order, an extra key, a negative seq, a non-hex hash.
  std::string swapped = line;
  swapped.replace(swapped.find("\"act_sub\""), 9, "\"act_suc\"");
  EXPECT_FALSE(parse_record_view(swapped, v));
  std::string extra = line;
  extra.insert(extra.size() - 1, ",\"zz\":1");
  EXPECT_FALSE(parse_record_view(extra, v));
  std::string neg = line;
  neg.replace(neg.find("\"seq\":3"), 7, "\"seq\":-3");
  EXPECT_FALSE(parse_record_view(neg, v));
  std::string badhash = line;
  badhash.replace(badhash.find("\"hash\":\"") + 8, 1, "Z");
  EXPECT_FALSE(parse_record_view(badhash, v));
  // Truncated anywhere: never accepted, never a crash.
  for (size_t n = 0; n < line.size(); ++n) EXPECT_FALSE(parse_record_view(line.substr(0, n), v));
}

std::vector<std::string> chain(size_t n) {
  std::mt19937 rng(3);
  std::vector<std::string> out;
  std::string prev = kGenesisHash;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    Event e = sample(seq, prev, rng);
    out.push_back(to_json_line(e));
    prev = e.hash;
  }
  return out;
}

Result<VerifyReport> run(const std::vector<std::string>& lines, bool parallel = true) {
  VerifyOptions o;
  o.parallel = parallel;
  LineVerifier v({}, o);
  for (const auto& l : lines) {
    RecordView rv;
    uint64_t key = parse_record_view(l, rv) ? rv.seq : 0;
    if (!v.add(key, l)) break;
  }
  return v.finish();
}

TEST(LineVerifier, NamesTheFirstProblemAcrossBatches) {
  auto lines = chain(20000);  // several batches
  for (bool par : {false, true}) {
    auto ok = run(lines, par);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->records, 20000u);
  }
  auto edited = lines;
  edited[12345].replace(edited[12345].find("SELECT 1"), 8, "SELECT 2");
  EXPECT_EQ(run(edited).error().message, "seq 12346: hash mismatch \xE2\x80\x94 record edited");
  auto dropped = lines;
  dropped.erase(dropped.begin() + 9000);
  EXPECT_NE(run(dropped).error().message.find("seq 9001: missing"), std::string::npos);
  auto swapped = lines;
  std::swap(swapped[100], swapped[101]);
  EXPECT_NE(run(swapped).error().message.find("seq 101: out of order"), std::string::npos);
}

TEST(ExportFormat, CheckpointLinesRoundTripAndNeverLookLikeRecords) {
  Checkpoint c{"gw-1", 42, std::string(64, 'a'), 7, "0123456789abcdef", "c2ln"};
  std::string line = checkpoint_export_line(c);
  EXPECT_FALSE(looks_like_record_line(line));
  auto back = parse_checkpoint_export_line(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(parse_checkpoint_export_line(checkpoint_to_json(c)).has_value());
  EXPECT_TRUE(looks_like_record_line(chain(1)[0]));
}

// The spans the session index reads: equal to the parsed fields when unescaped, and
// summary_escaped (not `escaped`) set when one of them holds a JSON escape.
TEST(RecordView, SessionSummarySpans) {
  Event e;
  e.seq = 7;
  e.prev_hash = std::string(64, '0');
  e.type = "session_start";
  e.decision = "hold";
  e.status = "error";
  e.issuer = "local";
  e.task_id = "t";
  e.workflow_id = "w";
  e.act_sub = "hannah";
  e.client_addr = "10.0.0.1:5432";
  e.client_user = "app";
  e.protocol = "postgres";
  e.client_tls = "tls";
  e.upstream_tls = "prefer:plain";
  e.roles = {"a", "b"};
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  RecordView v;
  std::string line = to_json_line(e);  // the views point into it
  ASSERT_TRUE(parse_record_view(line, v));
  EXPECT_EQ(v.decision, "hold");
  EXPECT_EQ(v.status, "error");
  EXPECT_EQ(v.issuer, "local");
  EXPECT_EQ(v.task_id, "t");
  EXPECT_EQ(v.workflow_id, "w");
  EXPECT_EQ(v.act_sub, "hannah");
  EXPECT_EQ(v.client_addr, "10.0.0.1:5432");
  EXPECT_EQ(v.client_user, "app");
  EXPECT_EQ(v.protocol, "postgres");
  EXPECT_EQ(v.client_tls, "tls");
  EXPECT_EQ(v.upstream_tls, "prefer:plain");
  EXPECT_EQ(v.roles, R"(["a","b"])");
  EXPECT_TRUE(v.capture.empty());  // absent: the optional key is not in the line
  e.capture = std::string(64, 'c');
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  std::string with_capture = to_json_line(e);
  ASSERT_TRUE(parse_record_view(with_capture, v));
  EXPECT_EQ(v.capture, std::string(64, 'c'));
  ASSERT_TRUE(parse_record_view(line, v));  // a reused view forgets it again
  EXPECT_TRUE(v.capture.empty());
  EXPECT_FALSE(v.summary_escaped);
  EXPECT_FALSE(v.escaped);
  e.roles = {"q\"r"};
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  line = to_json_line(e);
  ASSERT_TRUE(parse_record_view(line, v));
  EXPECT_TRUE(v.summary_escaped);
  EXPECT_FALSE(v.escaped);
  e.roles = {};
  e.client_user = "new\nline";
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  line = to_json_line(e);
  ASSERT_TRUE(parse_record_view(line, v));
  EXPECT_EQ(v.roles, "[]");
  EXPECT_TRUE(v.summary_escaped);
}

}  // namespace
}  // namespace phigate::audit
