// The canonical encoder has a fast path for records whose strings are all plain ASCII and a general
// one for the rest (canonical_plain.h). Both must give exactly what nlohmann's compact dump of the
// same object gives, for every field including the optional ones and `hash`: randomized records,
// half of them all-plain (fast path), half with one odd string somewhere (general path).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "audit/canonical.h"
#include "reference_canonical.h"

namespace phigate::audit {
namespace {

using nlohmann::json;

std::vector<std::string Event::*> string_fields() {
  return {&Event::node_id,     &Event::prev_hash,      &Event::session_id,  &Event::type,
          &Event::sub,         &Event::issuer,         &Event::jti,         &Event::task_id,
          &Event::workflow_id, &Event::act_sub,        &Event::client_user, &Event::client_addr,
          &Event::act_chain,   &Event::resource,       &Event::protocol,    &Event::action,
          &Event::decision,    &Event::statement_kind, &Event::rule,        &Event::approver,
          &Event::message,     &Event::status,         &Event::error_code,  &Event::capture,
          &Event::client_tls,  &Event::upstream_tls,   &Event::approval_id};
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t num() { return rng_(); }
  // Printable ASCII without `"` and `\`: what the fast path takes. Lengths cross the small-string
  // boundary and include empty (optional fields then disappear).
  std::string plain() {
    std::string out(rng_() % 40, '\0');
    for (auto& c : out) {
      do {
        c = static_cast<char>(0x20 + rng_() % 95);
      } while (c == '"' || c == '\\');
    }
    return out;
  }
  // Anything: controls, quotes, valid and broken UTF-8.
  std::string odd() {
    static const char kPick[] = {'\0',   '\x1f', '"',    '\\',   '\n',   '\x7f', '\x80',
                                 '\xc3', '\xa9', '\xe2', '\x82', '\xac', '\xed', '\xff'};
    std::string out = plain();
    out.insert(out.begin() + static_cast<long>(rng_() % (out.size() + 1)),
               kPick[rng_() % sizeof kPick]);
    return out;
  }
  std::vector<std::string> list() {
    std::vector<std::string> v(rng_() % 4);
    for (auto& s : v) s = plain();
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

Event random_plain_event(Gen& g) {
  Event e;
  for (auto m : string_fields()) e.*m = g.plain();
  e.hash = g.plain();
  e.groups = g.list();
  e.roles = g.list();
  e.parameters = g.list();
  for (uint64_t i = g.num() % 3; i > 0; --i) e.masked[g.plain()] = g.num();
  e.seq = g.num();
  e.ref_seq = g.num() % 1000;
  e.rows = g.num();
  e.bytes = g.num() % 2 ? 0 : g.num();
  e.time_ns = static_cast<int64_t>(g.num());  // negative half the time
  e.duration_ns =
      g.num() % 2 ? static_cast<int64_t>(g.num()) : -static_cast<int64_t>(g.num() % 100);
  return e;
}

void expect_matches_reference(const Event& e, int i) {
  ASSERT_EQ(canonical_json(e), reference_canonical(e, false)) << i;
  ASSERT_EQ(to_json_line(e), reference_canonical(e, true)) << i;
  // Appended to a buffer that already holds earlier records, the line is the same.
  std::string buf = "earlier records\n";
  append_json_line(e, buf);
  ASSERT_EQ(buf.substr(16), to_json_line(e)) << i;
}

TEST(CanonicalPaths, AllPlainRecordsMatchTheReference) {
  Gen g(7);
  for (int i = 0; i < 3000; ++i) expect_matches_reference(random_plain_event(g), i);
}

TEST(CanonicalPaths, OneOddStringAnywhereMatchesTheReference) {
  Gen g(11);
  const auto fields = string_fields();
  for (int i = 0; i < 3000; ++i) {
    Event e = random_plain_event(g);
    switch (g.num() % 5) {
      case 0:
        e.*fields[g.num() % fields.size()] = g.odd();
        break;
      case 1:
        e.groups.push_back(g.odd());
        break;
      case 2:
        e.parameters.push_back(g.odd());
        break;
      case 3:
        e.masked[g.odd()] = g.num() % 100;
        break;
      default:
        e.hash = g.odd();
    }
    expect_matches_reference(e, i);
  }
}

// The writer's one-pass form gives the same hash and line as hashing canonical_json and encoding
// to_json_line separately, on either encoder path and after earlier lines in the buffer.
TEST(CanonicalPaths, ChainedLineEqualsHashThenLine) {
  Gen g(13);
  ChainHasher hasher;
  std::string buf = "earlier line\n";
  for (int i = 0; i < 2000; ++i) {
    Event e = random_plain_event(g);
    if (i % 2) e.action = g.odd();
    e.prev_hash = i % 3 ? std::string(64, 'f') : g.plain();
    Event want = e;
    want.hash = chain_hash(want.prev_hash, canonical_json(want));
    const size_t start = buf.size();
    append_chained_line(e, hasher, buf);
    ASSERT_EQ(e.hash, want.hash) << i;
    ASSERT_EQ(buf.substr(start), to_json_line(want)) << i;
  }
}

TEST(CanonicalPaths, ExtremeNumbersFitTheSizeBound) {
  Event e;
  e.seq = UINT64_MAX;
  e.ref_seq = UINT64_MAX;
  e.rows = UINT64_MAX;
  e.bytes = UINT64_MAX;
  e.time_ns = INT64_MIN;
  e.duration_ns = INT64_MIN;
  e.masked = {{"a", UINT64_MAX}, {"b", UINT64_MAX}};
  expect_matches_reference(e, 0);
  e.time_ns = INT64_MAX;
  expect_matches_reference(e, 1);
}

}  // namespace
}  // namespace phigate::audit
