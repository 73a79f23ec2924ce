#include "audit/canonical.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/crypto.h"
#include "reference_canonical.h"

namespace phigate::audit {
namespace {

Event fixed_event() {
  Event e;
  e.seq = 7;
  e.node_id = "gw-1";
  e.prev_hash = kGenesisHash;
  e.time_ns = 1700000000123456789;
  e.session_id = "s-42";
  e.type = "statement";
  e.sub = "alice";
  e.issuer = "local";
  e.jti = "j1";
  e.task_id = "t1";
  e.workflow_id = "w1";
  e.act_sub = "bob";
  e.groups = {"analysts", "etl"};
  e.roles = {"analyst"};
  e.client_user = "alice_db";
  e.client_addr = "127.0.0.1:50000";
  e.resource = "clinic";
  e.protocol = "postgres";
  e.action = "SELECT name FROM patients WHERE id = $1";
  e.statement_kind = "select";
  e.parameters = {"42"};
  e.decision = "allow";
  e.rule = "analyst#0";
  e.message = "";
  e.ref_seq = 3;
  e.status = "ok";
  e.rows = 5;
  e.bytes = 1234;
  e.duration_ns = -1;
  e.masked = {{"US_SSN", 2}, {"EMAIL_ADDRESS", 1}};
  return e;
}

TEST(Canonical, SortedCompactEveryFieldButHash) {
  Event e = fixed_event();
  e.hash = "deadbeef";
  std::string c = canonical_json(e);
  EXPECT_EQ(c.find("deadbeef"), std::string::npos);
  EXPECT_EQ(c.find(' '), c.find("SELECT name") + 6);  // the only spaces are inside values
  auto j = nlohmann::json::parse(c);
  EXPECT_EQ(j.size(), 32u);
  EXPECT_FALSE(j.contains("hash"));
  std::string prev;
  for (auto it = j.begin(); it != j.end(); ++it) {
    EXPECT_LT(prev, it.key());
    prev = it.key();
  }
  // Dumping nlohmann's (sorted) object compactly reproduces the canonical bytes.
  EXPECT_EQ(j.dump(), c);
}

TEST(Canonical, MatchesNlohmannOnRandomBytes) {
  std::mt19937_64 rng(42);
  auto rnd_str = [&] {
    std::string out(rng() % 24, '\0');
    for (auto& c : out) {
      // Bias towards the interesting ranges: controls, quotes/backslash, UTF-8 lead/cont bytes.
      static const char kPick[] = {'\0',   '\x01', '\x1f', '"',    '\\',   '/',    'a',    '\x7f',
                                   '\x80', '\xbf', '\xc3', '\xa9', '\xe2', '\x82', '\xac', '\xed',
                                   '\xa0', '\xf0', '\x9f', '\xf4', '\x90', '\xff', '\n'};
      c = rng() % 3 ? kPick[rng() % sizeof kPick] : static_cast<char>(rng());
    }
    return out;
  };
  for (int i = 0; i < 3000; ++i) {
    Event e = fixed_event();
    e.seq = rng();
    e.time_ns = static_cast<int64_t>(rng());
    e.duration_ns = static_cast<int64_t>(rng());
    e.rows = rng();
    e.action = rnd_str();
    e.sub = rnd_str();
    e.parameters = {rnd_str(), rnd_str()};
    e.groups.clear();
    e.masked = {{rnd_str(), rng()}, {rnd_str(), 1}};
    std::string c = canonical_json(e);
    ASSERT_EQ(c, reference_canonical(e)) << i;
    e.hash = chain_hash(e.prev_hash, c);
    auto back = from_json_line(to_json_line(e));
    ASSERT_TRUE(back.has_value()) << i;
    ASSERT_EQ(canonical_json(*back), c) << i;
  }
}

TEST(Canonical, KnownAnswer) {
  Event e = fixed_event();
  const std::string want_canonical =
      R"({"act_sub":"bob","action":"SELECT name FROM patients WHERE id = $1","approver":"",)"
      R"("bytes":1234,"client_addr":"127.0.0.1:50000","client_user":"alice_db","decision":"allow",)"
      R"("duration_ns":-1,"error_code":"","groups":["analysts","etl"],"issuer":"local","jti":"j1",)"
      R"("masked":{"EMAIL_ADDRESS":1,"US_SSN":2},"message":"","node_id":"gw-1","parameters":["42"],)"
      R"("prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",)"
      R"("protocol":"postgres","ref_seq":3,"resource":"clinic","roles":["analyst"],"rows":5,)"
      R"("rule":"analyst#0","seq":7,"session_id":"s-42","statement_kind":"select","status":"ok",)"
      R"("sub":"alice","task_id":"t1","time_ns":1700000000123456789,"type":"statement",)"
      R"("workflow_id":"w1"})";
  EXPECT_EQ(canonical_json(e), want_canonical);
  // The rule, recomputed independently of chain_hash.
  std::string input = kGenesisHash + "\n" + want_canonical;
  Sha256 d = sha256(std::string_view(input));
  std::string independent = to_hex(d);
  EXPECT_EQ(chain_hash(kGenesisHash, canonical_json(e)), independent);
  // Pinned so an accidental change of the encoding (field names, escaping, ordering) is caught:
  // every stored chain depends on it.
  EXPECT_EQ(independent, "d27171e7cc2447e8d2e30c7c77ec6188b203ea23a156ff85e403b257758ac6b9");
}

TEST(Canonical, StableAcrossCallsAndMapInsertionOrder) {
  Event a = fixed_event();
  Event b = fixed_event();
  b.masked.clear();
  b.masked["US_SSN"] = 2;
  b.masked["EMAIL_ADDRESS"] = 1;
  EXPECT_EQ(canonical_json(a), canonical_json(a));
  EXPECT_EQ(canonical_json(a), canonical_json(b));
  b.rows = 6;
  EXPECT_NE(canonical_json(a), canonical_json(b));
}

TEST(Canonical, RoundTrip) {
  Event e = fixed_event();
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  std::string line = to_json_line(e);
  auto back = from_json_line(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(canonical_json(*back), canonical_json(e));
  EXPECT_EQ(back->hash, e.hash);
  EXPECT_EQ(to_json_line(*back), line);
  EXPECT_EQ(back->masked, e.masked);
  EXPECT_EQ(back->groups, e.groups);
  EXPECT_EQ(back->duration_ns, -1);
  EXPECT_EQ(back->time_ns, e.time_ns);
}

TEST(Canonical, WeirdAndInvalidBytesRoundTripToTheSameHash) {
  const std::vector<std::string> nasty = {
      std::string("nul\0inside", 10),
      "quote\" backslash\\ slash/ tab\t nl\n cr\r bs\b ff\f bell\x07 del\x7f",
      "\xff\xfe raw high bytes",
      "truncated \xe2\x82",
      "overlong \xc0\xaf and \xe0\x80\xaf",
      "surrogate \xed\xa0\x80",
      "above max \xf4\x90\x80\x80",
      "lone continuation \x80\xbf",
      "valid: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
      "\u2028\u2029 line separators",
      "trailing lead \xf0",
  };
  for (const auto& s : nasty) {
    Event e = fixed_event();
    e.action = s;
    e.parameters = {s, "ok"};
    e.sub = s;
    e.groups = {s};
    e.masked = {{s, 1}};
    std::string c;
    ASSERT_NO_THROW(c = canonical_json(e)) << s;
    EXPECT_TRUE(is_valid_utf8(c)) << s;
    e.hash = chain_hash(e.prev_hash, c);
    std::string line;
    ASSERT_NO_THROW(line = to_json_line(e));
    auto back = from_json_line(line);
    ASSERT_TRUE(back.has_value()) << line;
    EXPECT_EQ(canonical_json(*back), c) << s;
    EXPECT_EQ(chain_hash(back->prev_hash, canonical_json(*back)), e.hash) << s;
    EXPECT_EQ(to_json_line(*back), line);
    // Sanitizing is what the record stores; encoding the sanitized value gives the same bytes.
    EXPECT_EQ(back->action, sanitize_utf8(s));
  }
}

TEST(Canonical, MaskedKeysThatSanitizeAlikeAreSummed) {
  Event e = fixed_event();
  e.masked = {{"a\xff", 1}, {"a\xfe", 2}};
  auto back = from_json_line(to_json_line(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->masked.size(), 1u);
  EXPECT_EQ(back->masked.at("a\xef\xbf\xbd"), 3u);
  EXPECT_EQ(canonical_json(*back), canonical_json(e));
}

TEST(Utf8, SanitizeRules) {
  EXPECT_EQ(sanitize_utf8("plain"), "plain");
  EXPECT_EQ(sanitize_utf8("\xc3\xa9"), "\xc3\xa9");
  EXPECT_EQ(sanitize_utf8("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(sanitize_utf8("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");  // one per bad byte
  EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(sanitize_utf8(std::string("\0", 1)), std::string("\0", 1));
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
}

TEST(FromJsonLine, RejectsMalformedRecords) {
  Event e = fixed_event();
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  auto good = nlohmann::json::parse(to_json_line(e));
  ASSERT_TRUE(from_json_line(good.dump()).has_value());

  auto with = [&](const char* key, nlohmann::json v) {
    auto j = good;
    j[key] = std::move(v);
    return from_json_line(j.dump());
  };
  auto without = [&](const char* key) {
    auto j = good;
    j.erase(key);
    return from_json_line(j.dump());
  };
  EXPECT_FALSE(from_json_line("").has_value());
  EXPECT_FALSE(from_json_line("not json").has_value());
  EXPECT_FALSE(from_json_line("[1,2]").has_value());
  EXPECT_FALSE(from_json_line("{}").has_value());
  EXPECT_FALSE(from_json_line(to_json_line(e) + "x").has_value());
  EXPECT_FALSE(from_json_line("{\"seq\":\"\xff\"}").has_value());
  EXPECT_FALSE(with("seq", "7").has_value());
  EXPECT_FALSE(with("seq", -7).has_value());
  EXPECT_FALSE(with("rows", 1.5).has_value());
  EXPECT_FALSE(with("time_ns", "1").has_value());
  EXPECT_FALSE(with("time_ns", nlohmann::json(uint64_t{1} << 63)).has_value());
  EXPECT_FALSE(with("groups", "analysts").has_value());
  EXPECT_FALSE(with("groups", nlohmann::json::array({1})).has_value());
  EXPECT_FALSE(with("masked", nlohmann::json::object({{"x", -1}})).has_value());
  EXPECT_FALSE(with("sub", nullptr).has_value());
  EXPECT_FALSE(with("extra", "field").has_value());
  EXPECT_FALSE(without("hash").has_value());
  EXPECT_FALSE(without("masked").has_value());
  EXPECT_TRUE(with("time_ns", -5).has_value());
  EXPECT_TRUE(with("seq", nlohmann::json(UINT64_MAX)).has_value());
}

// act_chain was appended after records existed: omitted while empty (old hashes unchanged), in
// sorted position when set, and an explicitly empty one is not canonical.
TEST(Canonical, AppendedActChainIsOmittedWhenEmpty) {
  Event e = fixed_event();
  std::string without = canonical_json(e);
  EXPECT_EQ(without.find("act_chain"), std::string::npos);
  e.act_chain = "orchestrator>dr.jones";
  std::string with = canonical_json(e);
  EXPECT_EQ(with.rfind(R"({"act_chain":"orchestrator>dr.jones","act_sub":)", 0), 0u) << with;
  e.hash = chain_hash(e.prev_hash, with);
  auto back = from_json_line(to_json_line(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->act_chain, e.act_chain);
  EXPECT_EQ(canonical_json(*back), with);
  std::string line = to_json_line(fixed_event());
  EXPECT_TRUE(from_json_line(line).has_value());
  EXPECT_FALSE(from_json_line(R"({"act_chain":"",)" + line.substr(1)).has_value());
  EXPECT_FALSE(from_json_line(R"({"act_chain":7,)" + line.substr(1)).has_value());
}

}  // namespace
}  // namespace phigate::audit
