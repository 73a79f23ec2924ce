// JsonStreamMasker against an independent reference: a recursive masker over the whole document
// that keeps the full path of every value and picks its rule with json_path_matches over every
// rule (the first match wins, a rule on a container covers all below it), then masks exactly as
// the contract says (json_stream.h). The streaming masker's incremental rule matching (per-frame
// alive rules, member names matched once as they are read, names not kept in path_), its
// precomputed redaction text and its escaping fast path must give the same bytes and counts, fed
// whole, in random pieces and byte by byte. Documents carry escaped keys and digits, keys that
// look like PHI, nested arrays and wildcard/index/descendant rules.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/json_text.h"
#include "json_config.h"
#include "random_json.h"
#include "mask/actions.h"
#include "mask/json_path.h"
#include "mask/json_stream.h"

namespace phigate::mask {
namespace {

// Decodes what the generator below writes (simple escapes and \u00XX); false for anything else.
bool ref_decode(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    if (++i >= raw.size()) return false;
    switch (raw[i]) {
      case '"':
      case '\\':
      case '/':
        out += raw[i];
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        if (i + 4 >= raw.size()) return false;
        if (raw.substr(i + 1, 2) != "00") return false;
        unsigned v = std::stoul(std::string(raw.substr(i + 3, 2)), nullptr, 16);
        if (v >= 0x80) return false;
        out += static_cast<char>(v);
        i += 4;
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

class Reference {
 public:
  Reference(const JsonMaskConfig& c, std::string_view in) : c_(c), in_(in) {}

  // Every top-level value (NDJSON); false if the text is not what the generator writes.
  bool run() {
    ws();
    while (i_ < in_.size()) {
      if (!value(-1)) return false;
      ws();
    }
    return true;
  }
  std::string out;
  std::map<std::string, uint64_t> counts;

 private:
  void ws() {
    while (i_ < in_.size() &&
           (in_[i_] == ' ' || in_[i_] == '\n' || in_[i_] == '\t' || in_[i_] == '\r'))
      out += in_[i_++];
  }
  int rule_here(int inherited) const {
    if (inherited >= 0) return inherited;
    for (size_t r = 0; r < c_.rules.size(); ++r)
      if (json_path_matches(c_.rules[r].path, path_)) return static_cast<int>(r);
    return -1;
  }
  void replace(int rule, std::string_view value) {
    const JsonRule& r = c_.rules[static_cast<size_t>(rule)];
    ActionOptions o;
    o.action = r.action;
    o.hmac_key = c_.hmac_key;
    std::string masked;
    if (apply_whole(value, r.label, o, masked) == Applied::kNull)
      out += "null";
    else
      append_json_string(out, masked);
    ++counts["json:" + r.path_text];
  }
  // The raw string from in_[i_] (just after its opening quote) to before its closing quote.
  bool raw_string(std::string_view& raw) {
    size_t b = i_;
    while (i_ < in_.size() && in_[i_] != '"') i_ += in_[i_] == '\\' ? 2 : 1;
    if (i_ >= in_.size()) return false;
    raw = in_.substr(b, i_ - b);
    ++i_;
    return true;
  }
  bool value(int inherited) {
    if (i_ >= in_.size()) return false;
    const int rule = rule_here(inherited);
    const char c = in_[i_];
    if (c == '{' || c == '[') {
      const bool array = c == '[';
      out += in_[i_++];
      path_.push_back({array, {}, 0});
      ws();
      const char close = array ? ']' : '}';
      bool first = true;
      while (i_ < in_.size() && in_[i_] != close) {
        if (!first) {
          if (in_[i_] != ',') return false;
          out += in_[i_++];
          ws();
          if (array) ++path_.back().index;
        }
        first = false;
        if (!array) {
          if (i_ >= in_.size() || in_[i_] != '"') return false;
          ++i_;
          std::string_view raw;
          if (!raw_string(raw) || !ref_decode(raw, path_.back().key)) return false;
          out += '"';
          out += raw;
          out += '"';
          ws();
          if (i_ >= in_.size() || in_[i_] != ':') return false;
          out += in_[i_++];
          ws();
        }
        if (!value(rule)) return false;
        ws();
      }
      if (i_ >= in_.size()) return false;
      out += in_[i_++];
      path_.pop_back();
      return true;
    }
    if (c == '"') {
      ++i_;
      std::string_view raw;
      std::string v;
      if (!raw_string(raw) || !ref_decode(raw, v)) return false;
      if (rule >= 0) {
        replace(rule, v);
        return true;
      }
      std::vector<Finding> f;
      if (c_.engine && !c_.engine->scan(v, f)) return false;
      if (f.empty()) {
        out += '"';
        out += raw;
        out += '"';
        return true;
      }
      for (const Finding& x : f) ++counts[std::string(x.name)];
      ActionOptions o;
      o.action = c_.detector_action;
      o.hmac_key = c_.hmac_key;
      std::string masked;
      if (apply_findings(v, f, o, masked) == Applied::kNull)
        out += "null";
      else
        append_json_string(out, masked);
      return true;
    }
    size_t b = i_;
    while (i_ < in_.size() &&
           std::string_view("0123456789+-.eEtrufalsn").find(in_[i_]) != std::string_view::npos)
      ++i_;
    if (i_ == b) return false;
    std::string_view lit = in_.substr(b, i_ - b);
    if (rule >= 0 && lit != "null")
      replace(rule, lit);
    else
      out += lit;
    return true;
  }

  const JsonMaskConfig& c_;
  std::string_view in_;
  size_t i_ = 0;
  std::vector<JsonPathElem> path_;
};

const char* kKeys[] = {"id",          "name",     "ssn",       "email", "note",   "score",
                       "entry",       "addr",     "s\\u0073n", "x",     "a",      "b",
                       "412-39-7710", "p1@x.org", "0",         "",      "e\\\"q", "emai\\u006c"};

const char* kStrings[] = {"412-39-7710",
                          "\\u0034\\u0031\\u0032-39-7710",
                          "p3@example.org",
                          "p3\\u0040example.org",
                          "call (555) 234-5678 now",
                          "Patient 3",
                          "stable, follow up in 2 weeks",
                          "",
                          "tab\\there \\\"quoted\\\" back\\\\slash\\/",
                          "line\\nbreak 536-22-1234",
                          "\xc3\xa9t\xc3\xa9 jane.doe@example.org",
                          "\x7f del",
                          "555 234 5678 and 412 39 7710",
                          "MRN-12345678",
                          "see MRN-12345678 and MRN-87654321"};

void gen(std::mt19937& rng, int depth, std::string& out) {
  auto str = [](std::mt19937& r, std::string& o) {
    o += '"';
    o += kStrings[r() % std::size(kStrings)];
    o += '"';
  };
  testing::random_json(rng, depth, kKeys, str, out);
}

JsonMaskConfig make_config(const std::vector<std::pair<std::string, std::string>>& rules,
                           std::vector<std::string> detectors, Action detector_action) {
  JsonMaskConfig c = testing::json_config(rules, std::move(detectors));
  c.detector_action = detector_action;
  return c;
}

std::vector<JsonMaskConfig> configs() {
  std::vector<JsonMaskConfig> out;
  const std::vector<std::string> det = {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"};
  out.push_back(make_config({{"$.entry[*].ssn", "redact"}}, det, Action::kRedact));
  out.push_back(make_config({{"$.entry[*].ssn", "redact"}}, {}, Action::kRedact));
  out.push_back(make_config({{"$[*].a", "partial"},
                             {"$.x[1]", "redact"},
                             {"$.*.b", "hash"},
                             {"$.a.*", "null"},
                             {"$[0][1]", "redact"},
                             {"$.x.ssn", "partial"},
                             {"$['412-39-7710']", "redact"},
                             {"$['e\"q']", "redact"}},
                            det, Action::kPartial));
  out.push_back(make_config({{"$.a[*].x", "redact"},
                             {"$..ssn", "partial"},
                             {"$.entry", "hash"},
                             {"$..*", "redact"},
                             {"$.b", "null"}},
                            det, Action::kHash));
  out.push_back(make_config({{"$..email", "redact"}, {"$.a.b.x", "redact"}, {"$", "partial"}}, det,
                            Action::kNull));
  out.push_back(make_config({{"$.b[2]", "redact"}, {"$..a", "hash"}, {"$.b[*].x", "redact"}}, {},
                            Action::kRedact));
  // A custom detector whose name needs escaping in a redaction ("[Q\"é]").
  {
    JsonMaskConfig c = make_config({{"$.x", "redact"}}, {}, Action::kRedact);
    Profile p;
    p.detectors = det;
    p.custom.push_back({"Q\"\xc3\xa9", "MRN-[0-9]{8}", 1.0f});
    c.engine = *Engine::compile(p);
    out.push_back(std::move(c));
  }
  // More than 64 rules: the masker tries every rule on the whole path, the matching one last.
  std::vector<std::pair<std::string, std::string>> many;
  for (int k = 0; k < 70; ++k) many.push_back({"$.nope" + std::to_string(k), "redact"});
  many.push_back({"$.a[*].ssn", "redact"});
  many.push_back({"$.*.x", "partial"});
  out.push_back(make_config(many, det, Action::kRedact));
  return out;
}

struct Result {
  bool ok = true;
  std::string out;
  std::map<std::string, uint64_t> counts;
};

Result stream(const JsonMaskConfig& c, std::string_view in, std::mt19937* rng, size_t step) {
  JsonStreamMasker m(c);
  Result r;
  size_t i = 0;
  while (i < in.size() && r.ok) {
    size_t n = rng ? 1 + (*rng)() % 40 : step;
    std::string piece(in.substr(i, n));  // a buffer of its own, as the proxy's reads are
    r.ok = m.feed(piece, r.out);
    i += n;
  }
  if (r.ok) r.ok = m.finish(r.out);
  r.counts = m.counts();
  return r;
}

TEST(JsonMaskReference, SameBytesAndCountsAsTheWholePathReference) {
  const std::vector<JsonMaskConfig> cs = configs();
  std::mt19937 rng(20261126);
  size_t masked = 0;
  for (int round = 0; round < 1200; ++round) {
    std::string doc;
    testing::random_space(rng, doc);
    gen(rng, 0, doc);
    testing::random_space(rng, doc);
    if (round % 9 == 0) {
      doc += '\n';
      gen(rng, 0, doc);  // NDJSON
    }
    for (size_t k = 0; k < cs.size(); ++k) {
      Reference ref(cs[k], doc);
      ASSERT_TRUE(ref.run()) << doc;
      Result whole = stream(cs[k], doc, nullptr, doc.size() + 1);
      ASSERT_TRUE(whole.ok) << "config " << k << ": " << doc;
      ASSERT_EQ(whole.out, ref.out) << "config " << k << ": " << doc;
      ASSERT_EQ(whole.counts, ref.counts) << "config " << k << ": " << doc;
      Result pieces = stream(cs[k], doc, &rng, 0);
      ASSERT_TRUE(pieces.ok) << doc;
      ASSERT_EQ(pieces.out, ref.out) << "config " << k << " in pieces: " << doc;
      ASSERT_EQ(pieces.counts, ref.counts) << doc;
      if (round % 4 == 0) {
        Result bytes = stream(cs[k], doc, nullptr, 1);
        ASSERT_TRUE(bytes.ok) << doc;
        ASSERT_EQ(bytes.out, ref.out) << "config " << k << " byte by byte: " << doc;
      }
      masked += ref.counts.size();
    }
  }
  EXPECT_GT(masked, 2000u);
}

// A rule past the 64th (where per-frame rule bits end) still masks inside containers.
TEST(JsonMaskReference, RulesPastTheSixtyFourthStillMask) {
  std::vector<std::pair<std::string, std::string>> many;
  for (int k = 0; k < 64; ++k) many.push_back({"$.nope" + std::to_string(k), "redact"});
  many.push_back({"$.p.ssn", "redact"});
  many.push_back({"$.list[*].v", "redact"});
  JsonMaskConfig c = make_config(many, {}, Action::kRedact);
  Result r = stream(c, R"({"p":{"ssn":"412-39-7710"},"list":[{"v":1},{"v":"x"}]})", nullptr, 1000);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.out, R"({"p":{"ssn":"[ssn]"},"list":[{"v":"[v]"},{"v":"[v]"}]})");
}

}  // namespace
}  // namespace phigate::mask
