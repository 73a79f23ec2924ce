#include "mask/json_stream.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/json_text.h"

namespace phigate::mask {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool valid_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t b = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > b;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

bool literal_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
         c == '-' || c == '.';
}

// The end of the run of plain string characters (not '"', '\\' or a control) from in[i].
size_t plain_run_end(std::string_view in, size_t i) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i ctl = _mm_set1_epi8(0x1f);
  for (; i + 16 <= in.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.data() + i));
    __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));  // unsigned v <= 0x1f
    if (int bits = _mm_movemask_epi8(stop))
      return i + static_cast<size_t>(std::countr_zero(static_cast<unsigned>(bits)));
  }
#endif
  while (i < in.size() && in[i] != '"' && in[i] != '\\' &&
         static_cast<unsigned char>(in[i]) >= 0x20)
    ++i;
  return i;
}

constexpr size_t kMaxLiteral = 512;
constexpr size_t kMaxKey = 4096;

}  // namespace

std::string default_label(const std::vector<JsonPathSeg>& path) {
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if ((it->kind == JsonPathSeg::kKey || it->kind == JsonPathSeg::kDescend) && !it->key.empty())
      return it->key;
  }
  return "masked";
}

JsonStreamMasker::JsonStreamMasker(const JsonMaskConfig& config) : cfg_(config) {
  rules_.reserve(cfg_.rules.size());
  for (const JsonRule& r : cfg_.rules) {
    bool descend = std::any_of(r.path.begin(), r.path.end(), [](const JsonPathSeg& s) {
      return s.kind == JsonPathSeg::kDescend;
    });
    if (descend) descend_rules_.push_back(rules_.size());
    rules_.push_back({descend ? SIZE_MAX : r.path.size(), 0, -1});
  }
  stack_.reserve(8);  // one allocation each for most documents' depth
  path_.reserve(8);
  many_rules_ = cfg_.rules.size() > 64;
  need_keys_ = many_rules_ || !descend_rules_.empty();
  bits_only_ = !need_keys_;
  if (!many_rules_)
    for (size_t i = 0; i < rules_.size(); ++i)
      if (rules_[i].len != SIZE_MAX && rules_[i].len > 0) root_alive_ |= uint64_t{1} << i;
  if (cfg_.engine) detector_counts_.assign(cfg_.engine->detector_names().size(), 0);
}

void JsonStreamMasker::pass(const char* p, size_t n) {
  if (p != run_end_) {
    flush_run();
    run_begin_ = p;
  }
  run_end_ = p + n;
}

bool JsonStreamMasker::plain(std::string_view s) {
  const ActionOptions o;
  return json_plain(o.redact_prefix) && json_plain(s) && json_plain(o.redact_suffix);
}

void JsonStreamMasker::append_redaction(std::string& out, std::string_view label) {
  // apply_whole/apply_findings' redaction text, then append_json_string, for a plain() label.
  const ActionOptions o;
  char buf[128];
  const size_t n = label.size() + o.redact_prefix.size() + o.redact_suffix.size() + 2;
  if (n > sizeof buf) {
    out += '"';
    out += o.redact_prefix;
    out += label;
    out += o.redact_suffix;
    out += '"';
    return;
  }
  char* p = buf;
  *p++ = '"';
  for (std::string_view part : {o.redact_prefix, label, o.redact_suffix}) {
    std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  *p++ = '"';
  out.append(buf, n);
}

bool JsonStreamMasker::plain_detector(uint16_t d) {
  if (d >= 64 || cfg_.detector_action != Action::kRedact) return false;
  const uint64_t bit = uint64_t{1} << d;
  if (!(detectors_checked_ & bit)) {  // once per detector and masker, when first needed
    detectors_checked_ |= bit;
    if (plain(cfg_.engine->detector_names()[d])) plain_detectors_ |= bit;
  }
  return plain_detectors_ & bit;
}

const std::map<std::string, uint64_t>& JsonStreamMasker::counts() const {
  counts_.clear();
  for (size_t i = 0; i < rules_.size(); ++i)
    if (rules_[i].count) counts_["json:" + cfg_.rules[i].path_text] += rules_[i].count;
  for (size_t i = 0; i < detector_counts_.size(); ++i)
    if (detector_counts_[i]) counts_[cfg_.engine->detector_names()[i]] += detector_counts_[i];
  if (oversize_count_) counts_["OVERSIZE"] += oversize_count_;
  return counts_;
}

bool JsonStreamMasker::fail(const char* why) {
  if (!dead_) error_ = why;
  dead_ = true;
  return false;
}

namespace {

// One segment (not kDescend) against one path element, as json_path_matches compares them.
bool seg_matches(const JsonPathSeg& s, const JsonPathElem& e) {
  switch (s.kind) {
    case JsonPathSeg::kKey:
      return !e.is_index && e.key == s.key;
    case JsonPathSeg::kIndex:
      return e.is_index && e.index == s.index;
    default:  // kAnyKey, kAnyIndex: any element
      return true;
  }
}

// json_path_matches for a pattern without a descendant segment: its first n segments against the
// path's first n elements, from the innermost out (the last key differs most often).
bool prefix_matches(const std::vector<JsonPathSeg>& pat, const std::vector<JsonPathElem>& path,
                    size_t n) {
  for (size_t k = n; k-- > 0;)
    if (!seg_matches(pat[k], path[k])) return false;
  return true;
}

}  // namespace

int JsonStreamMasker::rule_for_value_slow() const {
  for (size_t i = 0; i < cfg_.rules.size(); ++i) {  // every rule, in order: the first match wins
    if (rules_[i].len == SIZE_MAX) {
      if (json_path_matches(cfg_.rules[i].path, path_)) return static_cast<int>(i);
    } else if (rules_[i].len == path_.size() &&
               prefix_matches(cfg_.rules[i].path, path_, path_.size())) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Inlined into the member-name and value fast paths: they run once per member of an object
// that some rule can reach.
[[gnu::always_inline]] inline uint64_t JsonStreamMasker::key_matches(std::string_view key) const {
  if (stack_.empty()) return 0;
  const size_t d = path_.size() - 1;  // the member's segment in each rule
  uint64_t m = 0;
  for (uint64_t b = stack_.back().alive; b; b &= b - 1) {
    auto i = static_cast<size_t>(std::countr_zero(b));
    const JsonPathSeg& s = cfg_.rules[i].path[d];  // alive: the rule is longer than d
    // As seg_matches for a member: kKey compares the name, kIndex never matches, the
    // wildcards ([*] and .*) match any member.
    if (s.kind == JsonPathSeg::kKey
            ? s.key.size() == key.size() && std::memcmp(s.key.data(), key.data(), key.size()) == 0
            : s.kind != JsonPathSeg::kIndex)
      m |= uint64_t{1} << i;
  }
  return m;
}

void JsonStreamMasker::after_value() { state_ = stack_.empty() ? State::kTop : State::kCommaOrEnd; }

[[gnu::always_inline]] inline int JsonStreamMasker::rule_for_value_rules() {
  if (stack_.empty()) {
    child_alive_ = root_alive_;  // every rule is a candidate below the root
    return rules_.empty() ? -1 : rule_for_value_slow();
  }
  const Frame& f = stack_.back();
  if (many_rules_) return rule_for_value_slow();
  uint64_t m = 0;  // the alive rules whose segment at the value's depth matches its element
  if (f.array) {
    const size_t d = path_.size() - 1;
    const uint64_t index = path_.back().index;
    for (uint64_t b = f.alive; b; b &= b - 1) {
      auto i = static_cast<size_t>(std::countr_zero(b));
      const JsonPathSeg& s = cfg_.rules[i].path[d];  // alive: the rule is longer than d
      // As seg_matches for an element: kKey never matches, kIndex compares the index, the
      // wildcards match any element.
      if (s.kind == JsonPathSeg::kIndex ? s.index == index : s.kind != JsonPathSeg::kKey)
        m |= uint64_t{1} << i;
    }
  } else {
    m = elem_match_;
  }
  const uint64_t here = m & f.ends;
  int best = here ? std::countr_zero(here) : -1;
  // A rule with a descendant segment before the first fixed-length match wins over it.
  for (size_t i : descend_rules_) {
    if (best >= 0 && i > static_cast<size_t>(best)) break;
    if (json_path_matches(cfg_.rules[i].path, path_)) {
      best = static_cast<int>(i);
      break;
    }
  }
  if (best < 0) child_alive_ = m & f.deeper;
  return best;
}

bool JsonStreamMasker::begin_value(const char* at) {
  const char c = *at;
  value_rule_ = rule_for_value();
  switch (c) {
    case '{':
    case '[':
      if (stack_.size() >= cfg_.max_depth) return fail("JSON nested too deeply");
      pass(at, 1);
      if (value_rule_ >= 0) {
        stack_.push_back({c == '[', value_rule_, 0, 0, 0});
      } else {
        // Its children are one level below path_ (which does not have their element yet); the
        // alive rules are all longer than path_.
        uint64_t ends = 0;
        for (uint64_t b = child_alive_; b; b &= b - 1) {
          auto i = static_cast<size_t>(std::countr_zero(b));
          if (rules_[i].len == path_.size() + 1) ends |= uint64_t{1} << i;
        }
        stack_.push_back({c == '[', -1, child_alive_, ends, child_alive_ & ~ends});
      }
      path_.push_back({c == '[', {}, 0});
      state_ = c == '[' ? State::kValueOrEnd : State::kKeyOrEnd;
      return true;
    case '"':
      string_is_key_ = false;
      oversize_ = false;
      raw_escaped_ = false;
      raw_.clear();
      string_passthrough_ = value_rule_ < 0 && cfg_.engine == nullptr;
      if (string_passthrough_) pass(at, 1);
      state_ = State::kString;
      return true;
    default:
      if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
        raw_.assign(1, c);
        state_ = State::kLiteral;
        return true;
      }
      return fail("unexpected character where a JSON value belongs");
  }
}

void JsonStreamMasker::emit_replacement(int rule, std::string_view value, std::string& out) {
  RuleState& st = rules_[static_cast<size_t>(rule)];
  ++st.count;
  if (st.redact_plain < 0) {  // once per rule and masker, when first needed
    const JsonRule& r = cfg_.rules[static_cast<size_t>(rule)];
    st.redact_plain = r.action == Action::kRedact && plain(r.label);
  }
  if (st.redact_plain) {
    append_redaction(out, cfg_.rules[static_cast<size_t>(rule)].label);
    return;
  }
  const JsonRule& r = cfg_.rules[static_cast<size_t>(rule)];
  ActionOptions o;
  o.action = r.action;
  o.hmac_key = cfg_.hmac_key;
  if (apply_whole(value, r.label, o, masked_) == Applied::kNull) {
    out += "null";
  } else {
    append_json_string(out, masked_);
  }
}

bool JsonStreamMasker::unescaped(std::string_view raw, std::string_view& value) {
  if (!raw_escaped_) {
    value = raw;  // nothing to unescape: decode_json_string would copy it unchanged
    return true;
  }
  if (!decode_json_string(raw, decoded_)) return false;
  value = decoded_;
  return true;
}

bool JsonStreamMasker::end_string(std::string_view raw, std::string& out, bool quoted) {
  auto copy = [&] {  // the string as it came
    if (quoted) {
      pass(raw.data() - 1, raw.size() + 2);
    } else {
      flush(out);
      out += '"';
      out += raw;
      out += '"';
    }
  };
  if (string_is_key_) {
    std::string_view key;
    if (!unescaped(raw, key)) return fail("bad escape in a JSON key");
    set_key(key);
    copy();
    state_ = State::kColon;
    return true;
  }
  // Below, anything but copy() appends text of its own: the passed run goes out first.
  if (string_passthrough_) {
    flush(out);
    out += '"';
  } else if (value_rule_ >= 0) {
    std::string_view value;  // when oversize the value is gone; a rule replaces it whole anyway
    if (!oversize_ && !unescaped(raw, value)) return fail("bad escape in a JSON string");
    flush(out);
    emit_replacement(value_rule_, value, out);
  } else if (oversize_) {
    // Too long to scan whole: replaced rather than passed unscanned (fail closed).
    flush(out);
    out += "\"[OVERSIZE]\"";
    ++oversize_count_;
  } else {
    std::string_view value;
    if (!unescaped(raw, value)) return fail("bad escape in a JSON string");
    findings_.clear();
    if (!cfg_.engine->scan(value, findings_)) return fail("detector scan failed");
    if (findings_.empty()) {
      copy();
    } else {
      flush(out);
      const Finding& f0 = findings_[0];
      if (findings_.size() == 1 && f0.begin == 0 && f0.end == value.size() &&
          plain_detector(f0.detector)) {
        ++detector_counts_[f0.detector];
        append_redaction(out, f0.name);
      } else {
        ActionOptions o;
        o.action = cfg_.detector_action;
        o.hmac_key = cfg_.hmac_key;
        for (const Finding& f : findings_) ++detector_counts_[f.detector];
        if (apply_findings(value, findings_, o, masked_) == Applied::kNull) {
          out += "null";
        } else {
          append_json_string(out, masked_);
        }
      }
    }
  }
  after_value();
  return true;
}

bool JsonStreamMasker::end_literal(std::string_view lit, std::string& out, bool in_place) {
  // string_view ==: a fixed-size compare, no memcmp call
  const bool is_null = lit == "null";
  const bool word = is_null || lit == "true" || lit == "false";
  if (!word && !valid_number(lit)) return fail("invalid JSON literal");
  if (value_rule_ >= 0 && !is_null) {
    flush(out);
    emit_replacement(value_rule_, lit, out);
  } else if (in_place) {
    pass(lit.data(), lit.size());
  } else {
    flush(out);
    out += lit;
  }
  after_value();
  return true;
}

bool JsonStreamMasker::literal_in_place(std::string_view in, size_t& i, std::string& out) {
  size_t j = i;
  while (j < in.size() && literal_char(in[j])) ++j;
  // Not ended in this piece, or too long: the state machine goes on (raw_ has the first byte).
  if (j == in.size() || j - i + 1 > kMaxLiteral) return true;
  if (!end_literal(std::string_view(in.data() + i - 1, j - i + 1), out, true)) return false;
  i = after_value_fast(in, j);
  return true;
}

size_t JsonStreamMasker::member_name(std::string_view in, size_t i) {
  string_is_key_ = true;
  string_passthrough_ = false;
  oversize_ = false;
  raw_escaped_ = false;
  raw_.clear();
  state_ = State::kString;
  // The usual member name: no escape, whole in this piece, then ':'. Handled here as the kString
  // and kColon states would (same output, same path), in one step.
  size_t j = plain_run_end(in, i);
  if (j >= in.size() || in[j] != '"' || j - i > kMaxKey) return i;
  set_key(std::string_view(in.data() + i, j - i));
  const size_t name = i - 1;  // the opening quote
  i = j + 1;
  state_ = State::kColon;
  size_t k = i;
  while (k < in.size() && is_ws(in[k])) ++k;
  if (k < in.size() && in[k] == ':') {
    ++k;
    while (k < in.size() && is_ws(in[k])) ++k;
    i = k;
    state_ = State::kValue;
  }
  pass(in.data() + name, i - name);  // the quoted name, and white space, ':', white space
  return i;
}

size_t JsonStreamMasker::after_value_fast(std::string_view in, size_t i) {
  if (state_ != State::kCommaOrEnd) return i;
  size_t k = i;
  while (k < in.size() && is_ws(in[k])) ++k;
  if (k >= in.size() || in[k] != ',') return i;  // the loop takes '}', ']' and errors
  ++k;
  while (k < in.size() && is_ws(in[k])) ++k;
  pass(in.data() + i, k - i);  // white space, ',', white space
  if (stack_.back().array) {
    ++path_.back().index;
    state_ = State::kValue;
    return k;
  }
  state_ = State::kKey;
  if (k < in.size() && in[k] == '"') return member_name(in, k + 1);
  return k;
}

bool JsonStreamMasker::feed(std::string_view in, std::string& out) {
  out_ = &out;
  const bool ok = feed_piece(in, out);
  // Also on failure: what was passed before the error went out before it, as it always did.
  flush(out);
  return ok;
}

bool JsonStreamMasker::feed_piece(std::string_view in, std::string& out) {
  if (dead_) return false;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    switch (state_) {
      case State::kString: {
        // A run of ordinary characters in one step.
        size_t j = plain_run_end(in, i);
        std::string_view run(in.data() + i, j - i);
        if (string_passthrough_) {
          pass(run.data(), run.size());
        } else if (!oversize_) {
          size_t cap = string_is_key_ ? kMaxKey : cfg_.max_value;
          if (raw_.size() + run.size() > cap) {
            if (string_is_key_) return fail("JSON key too long");
            oversize_ = true;
            raw_.clear();
          } else if (raw_.empty() && j < in.size() && in[j] == '"') {
            // The whole string is in this piece: used where it lies, not copied into raw_.
            i = j + 1;
            // The opening quote is in[i - 1] unless the string began in the previous piece.
            const bool quoted = run.data() != in.data();
            if (!end_string(run, out, quoted)) return false;
            i = after_value_fast(in, i);
            continue;
          } else {
            raw_.append(run);
          }
        }
        i = j;
        if (i == in.size()) continue;  // the string goes on in the next piece
        c = in[i++];
        if (c == '"') {
          if (!end_string(raw_, out)) return false;
        } else if (c == '\\') {
          if (string_passthrough_) {
            pass(in.data() + i - 1, 1);
          } else if (!oversize_) {
            raw_ += c;
            raw_escaped_ = true;
          }
          state_ = State::kEscape;
        } else {
          return fail("control character in a JSON string");
        }
        continue;
      }
      case State::kEscape: {
        static constexpr std::string_view kEsc = "\"\\/bfnrtu";
        if (kEsc.find(c) == std::string_view::npos) return fail("bad escape in a JSON string");
        if (string_passthrough_)
          pass(in.data() + i, 1);
        else if (!oversize_)
          raw_ += c;
        // \uXXXX digits are ordinary string characters, checked when the string is decoded (or
        // passed through: the client's JSON parser then sees exactly what the upstream sent).
        state_ = State::kString;
        ++i;
        continue;
      }
      case State::kLiteral: {
        size_t j = i;
        while (j < in.size() && literal_char(in[j])) ++j;
        if (j > i) {
          if (raw_.size() + (j - i) > kMaxLiteral) return fail("JSON literal too long");
          raw_.append(in.data() + i, j - i);
          i = j;
          continue;
        }
        if (!end_literal(raw_, out)) return false;
        i = after_value_fast(in, i);
        continue;  // in[i] is handled in the new state
      }
      default:
        break;
    }
    ++i;
    if (is_ws(c)) {  // the whole run of white space in one append
      size_t j = i;
      while (j < in.size() && is_ws(in[j])) ++j;
      pass(in.data() + i - 1, j - i + 1);
      i = j;
      continue;
    }
    switch (state_) {
      case State::kTop:
      case State::kValue:
        if (!begin_value(in.data() + i - 1)) return false;
        if (state_ == State::kLiteral && !literal_in_place(in, i, out)) return false;
        break;
      case State::kValueOrEnd:
        if (c == ']') {
          pass(in.data() + i - 1, 1);
          stack_.pop_back();
          path_.pop_back();
          after_value();
        } else if (!begin_value(in.data() + i - 1) ||
                   (state_ == State::kLiteral && !literal_in_place(in, i, out))) {
          return false;
        }
        break;
      case State::kKeyOrEnd:
      case State::kKey:
        if (c == '}' && state_ == State::kKeyOrEnd) {
          pass(in.data() + i - 1, 1);
          stack_.pop_back();
          path_.pop_back();
          after_value();
        } else if (c == '"') {
          i = member_name(in, i);
        } else {
          return fail("expected a member name");
        }
        break;
      case State::kColon:
        if (c != ':') return fail("expected ':'");
        pass(in.data() + i - 1, 1);
        state_ = State::kValue;
        break;
      case State::kCommaOrEnd: {
        Frame& f = stack_.back();
        if (c == ',') {
          pass(in.data() + i - 1, 1);
          if (f.array) {
            ++path_.back().index;
            state_ = State::kValue;
          } else {
            state_ = State::kKey;
          }
        } else if ((c == ']' && f.array) || (c == '}' && !f.array)) {
          pass(in.data() + i - 1, 1);
          stack_.pop_back();
          path_.pop_back();
          after_value();
        } else {
          return fail("expected ',' or the end of the container");
        }
        break;
      }
      default:
        return fail("internal state");
    }
  }
  return true;
}

bool JsonStreamMasker::finish(std::string& out) {
  if (dead_) return false;
  if (state_ == State::kLiteral && stack_.empty() && !end_literal(raw_, out)) return false;
  if (state_ != State::kTop) return fail("truncated JSON");
  return true;
}

TextStreamMasker::TextStreamMasker(std::shared_ptr<const Engine> engine, Action action,
                                   std::string hmac_key, size_t window, size_t overlap)
    : engine_(std::move(engine)),
      hmac_key_(std::move(hmac_key)),
      window_(window),
      overlap_(overlap) {
  options_.action = action == Action::kNull ? Action::kRedact : action;  // no NULL in text
  options_.hmac_key = hmac_key_;
}

bool TextStreamMasker::process(bool final, std::string& out) {
  if (buf_.empty()) return true;
  if (!final && buf_.size() < window_) return true;
  findings_.clear();
  if (engine_ && !engine_->scan(buf_, findings_)) return false;
  size_t cut = final ? buf_.size() : buf_.size() - overlap_;
  size_t keep = 0;  // findings wholly before the cut
  for (const Finding& f : findings_) {
    if (f.end <= cut) {
      ++keep;
      continue;
    }
    if (f.begin < cut) cut = f.begin;  // straddles the cut: hold it for the next round
    break;
  }
  if (cut == 0 && !final) {
    // A finding longer than the overlap starts at 0: mask it now so the stream moves on.
    cut = findings_.empty() ? buf_.size() : findings_[0].end;
    keep = findings_.empty() ? 0 : 1;
  }
  std::span<const Finding> used(findings_.data(), keep);
  for (const Finding& f : used) ++counts_[std::string(f.name)];
  apply_findings(std::string_view(buf_).substr(0, cut), used, options_, masked_);
  out += masked_;
  buf_.erase(0, cut);
  return true;
}

bool TextStreamMasker::feed(std::string_view in, std::string& out) {
  buf_.append(in);
  return process(false, out);
}

bool TextStreamMasker::finish(std::string& out) { return process(true, out); }

}  // namespace phigate::mask
