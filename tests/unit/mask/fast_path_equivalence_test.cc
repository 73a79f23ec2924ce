// The JSON masker's and the detector engine's fast paths must not change a single output byte or
// count: randomized corpora are masked with them and without them and compared.
//  * Engine::scan's built-in prefilter (scanner.h may_find_builtins): on vs off
//    (detail::disable_prefilter_for_tests), every built-in alone and together.
//  * JsonStreamMasker: the whole document in one feed() (strings used in place, member names and
//    separators in one step, prefilter on) vs one byte per feed() with the prefilter off, where
//    every string goes through raw_ and the state machine byte by byte.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "json_config.h"
#include "random_json.h"
#include "mask/detectors.h"
#include "mask/json_path.h"
#include "mask/json_stream.h"
#include "mask/scanner.h"

namespace phigate::mask {
namespace {

struct PrefilterOff {
  PrefilterOff() { detail::disable_prefilter_for_tests(true); }
  ~PrefilterOff() { detail::disable_prefilter_for_tests(false); }
};

// Short values around the detectors' edges: PHI, near-PHI (too few digits, broken shapes) and
// plain words, glued with random separators.
const char* kPieces[] = {
    "412-39-7710",
    "412 39 7710",
    "41239771",
    "412397710",
    "536-22-1234",
    "(555) 234-5678",
    "555-234-567",
    "+1 555 234 5678",
    "+4915112345678",
    "+491511234",
    "5552345678",
    "2345678",
    "p3@example.org",
    "a@b.c",
    "x@10.0.0.1",
    "jane.doe@example.org",
    "@",
    ":",
    "::1",
    "fe80::1",
    "10.20.30.40",
    "1.2.3",
    "4111 1111 1111 1111",
    "4111-1111-1111",
    "1234567893",
    "1EG4-TE5-MK73",
    "AB1234563",
    "021000021",
    "GB82 WEST 1234 5698 7654 32",
    "04/02/1980",
    "April 2, 1980",
    "DOB",
    "dob:",
    "ssn",
    "phone",
    "passport 912803456",
    "Patient 3",
    "stable, follow up in 2 weeks",
    "Bundle",
    "-",
    ".",
    " ",
    ",",
    "0",
    "9",
    "12",
    "123",
    "1234",
    "12345678",
    "a",
    "Z",
    "\t",
    "é",
    "\xff",
    "+",
    "(",
    ")",
    "/",
};

std::string random_text(std::mt19937& rng, size_t max_pieces) {
  std::uniform_int_distribution<size_t> n(0, max_pieces), piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 3);
  std::string s;
  for (size_t k = n(rng); k > 0; --k) {
    if (coin(rng) == 0) {
      s += static_cast<char>(coin(rng) == 0 ? byte(rng) : "0123456789@:.- a"[byte(rng) % 16]);
    } else {
      s += kPieces[piece(rng)];
    }
  }
  return s;
}

std::vector<std::vector<std::string>> profiles() {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> all;
  for (std::string_view n : builtin_detector_names()) {
    out.push_back({std::string(n)});
    all.emplace_back(n);
  }
  out.push_back(all);
  out.push_back({"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"});
  out.push_back({"US_SSN", "PHONE_NUMBER"});
  out.push_back({"EMAIL_ADDRESS", "IP_ADDRESS"});
  return out;
}

TEST(FastPathEquivalence, EnginePrefilterFindsTheSame) {
  std::mt19937 rng(20261125);
  for (const auto& detectors : profiles()) {
    Profile p;
    p.detectors = detectors;
    auto e = Engine::compile(p);
    ASSERT_TRUE(e) << detectors[0];
    size_t found = 0;
    for (int round = 0; round < 3000; ++round) {
      std::string t = random_text(rng, round % 50 == 0 ? 120 : 6);
      std::vector<Finding> fast, slow;
      ASSERT_TRUE((*e)->scan(t, fast));
      {
        PrefilterOff off;
        ASSERT_TRUE((*e)->scan(t, slow));
      }
      ASSERT_EQ(fast.size(), slow.size()) << detectors[0] << " text: " << t;
      for (size_t k = 0; k < fast.size(); ++k) {
        EXPECT_EQ(fast[k].detector, slow[k].detector) << t;
        EXPECT_EQ(fast[k].begin, slow[k].begin) << t;
        EXPECT_EQ(fast[k].end, slow[k].end) << t;
        EXPECT_EQ(fast[k].score, slow[k].score) << t;
      }
      found += fast.size();
    }
    EXPECT_GT(found, 0u) << "corpus never exercised " << detectors[0];
  }
}

TEST(FastPathEquivalence, PrefilterSkipsOnlyWhatCannotMatch) {
  Profile p;
  p.detectors = {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"};
  auto e = Engine::compile(p);
  ASSERT_TRUE(e);
  std::vector<Finding> f;
  ASSERT_TRUE((*e)->scan("412-39-7710", f));
  EXPECT_EQ(f.size(), 1u);  // exactly 9 digits: scanned
  f.clear();
  ASSERT_TRUE((*e)->scan("p3@example.org", f));
  EXPECT_EQ(f.size(), 1u);  // '@': scanned, digit anchors skipped
  f.clear();
  ASSERT_TRUE((*e)->scan("stable, follow up in 2 weeks", f));
  EXPECT_TRUE(f.empty());
}

// A random JSON text whose strings come from random_text (escaped, sometimes with \u escapes),
// with the member names the rules look for.
void random_value(std::mt19937& rng, int depth, std::string& out) {
  static const char* kKeys[] = {"id",    "name",  "ssn",  "email",     "note",
                                "score", "entry", "addr", "s\\u0073n", "x"};
  auto str = [](std::mt19937& r, std::string& o) {
    std::string t = random_text(r, 4);
    o += '"';
    for (unsigned char c : t) {
      if (c == '"' || c == '\\') {
        o += '\\';
        o += static_cast<char>(c);
      } else if (c < 0x20) {
        o += "\\u00";
        o += "0123456789abcdef"[c >> 4];
        o += "0123456789abcdef"[c & 15];
      } else if (c >= '0' && c <= '9' && r() % 10 == 0) {
        o += "\\u003";
        o += static_cast<char>(c);
      } else {
        o += static_cast<char>(c);
      }
    }
    o += '"';
  };
  testing::random_json(rng, depth, kKeys, str, out);
}

JsonMaskConfig rules_config(std::vector<std::pair<std::string, std::string>> rules,
                            std::vector<std::string> detectors) {
  JsonMaskConfig c = testing::json_config(rules, {});
  Profile p;  // an engine even with no detectors: the prefilter path is what is compared
  p.detectors = std::move(detectors);
  c.engine = *Engine::compile(p);
  c.max_value = 40;  // some strings are oversize
  return c;
}

struct Masked {
  bool ok;
  std::string out, error;
  std::map<std::string, uint64_t> counts;
};

Masked mask(const JsonMaskConfig& c, std::string_view in, size_t step) {
  JsonStreamMasker m(c);
  Masked r;
  r.ok = true;
  for (size_t i = 0; i < in.size() && r.ok; i += step) {
    // Each piece in a buffer of its own, as the proxy's reads are: a fast path that looked
    // outside its piece would read the wrong bytes here (and ASan would say so).
    std::string piece(in.substr(i, step));
    r.ok = m.feed(piece, r.out);
  }
  if (r.ok) r.ok = m.finish(r.out);
  r.error = m.error();
  r.counts = m.counts();
  return r;
}

TEST(FastPathEquivalence, JsonMaskerSameBytesAndCounts) {
  std::vector<JsonMaskConfig> configs;
  configs.push_back(
      rules_config({{"$.entry[*].ssn", "redact"}}, {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"}));
  configs.push_back(rules_config(
      {{"$..ssn", "partial"}, {"$.entry[*].addr", "redact"}, {"$[*].id", "hash"}, {"$.x", "null"}},
      {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS"}));
  configs.push_back(rules_config({{"$[1].name", "redact"}, {"$..entry", "redact"}},
                                 {"US_SSN", "CREDIT_CARD", "DATE_OF_BIRTH"}));
  std::mt19937 rng(7710);
  size_t masked = 0, failed = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string doc;
    random_value(rng, 0, doc);
    if (round % 7 == 0) random_value(rng, 0, doc);                        // NDJSON-like: two values
    if (round % 11 == 0 && !doc.empty()) doc.resize(rng() % doc.size());  // truncated
    if (round % 13 == 0 && !doc.empty()) doc[rng() % doc.size()] = "\\\"{},:\x01"[rng() % 7];
    for (const JsonMaskConfig& c : configs) {
      Masked fast = mask(c, doc, doc.size() + 1);
      Masked slow;
      {
        PrefilterOff off;
        slow = mask(c, doc, 1);
      }
      ASSERT_EQ(fast.ok, slow.ok) << doc;
      ASSERT_EQ(fast.error, slow.error) << doc;
      // On failure the caller ends the response there: only complete results are compared.
      if (fast.ok) {
        ASSERT_EQ(fast.out, slow.out) << doc;
        ASSERT_EQ(fast.counts, slow.counts) << doc;
      }
      Masked mid = mask(c, doc, 1 + rng() % 17);
      ASSERT_EQ(mid.ok, slow.ok) << doc;
      if (mid.ok) {
        ASSERT_EQ(mid.out, slow.out) << doc;
      }
      masked += fast.counts.size();
      failed += !fast.ok;
    }
  }
  EXPECT_GT(masked, 100u);
  EXPECT_GT(failed, 10u);
}

}  // namespace
}  // namespace phigate::mask
