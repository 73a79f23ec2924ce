#pragma once
// Streaming JSON masker (RFC 8259): bytes of a JSON text in, the same text out with masked values,
// in pieces of any size and with bounded memory. Only a string or scalar value is ever held (up to
// `max_value` bytes), plus the path of open containers; everything else passes through as it
// arrives. A value is released only once it is complete and masked, so an error at any point has
// emitted nothing unmasked: the caller fails closed by ending the response there.
//
// Rules by JSON path (json_path.h) replace whole values (a rule on an object or array covers every
// scalar below it); detectors (Engine::scan) run on every other string value, after unescaping, so
// "\u0031\u0032\u0033-45-6789" is found like "123-45-6789". Object keys are kept as they are.
// Several top-level values in a row (NDJSON) are accepted.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"
#include "mask/json_path.h"

namespace phigate::mask {

struct JsonRule {
  std::string path_text;  // as configured, for audit counts ("json:$.patient[*].ssn")
  std::vector<JsonPathSeg> path;
  Action action = Action::kRedact;
  std::string label;  // redaction text "[label]"; defaults to the last member name
};

struct JsonMaskConfig {
  std::vector<JsonRule> rules;
  std::shared_ptr<const Engine> engine;      // null: no content detectors
  Action detector_action = Action::kRedact;  // for detector findings in strings
  std::string hmac_key;                      // for kHash
  size_t max_value = 256 * 1024;             // a longer string is replaced whole ("[OVERSIZE]")
  size_t max_depth = 512;
};

// A rule path's default label: its last member name, or "masked".
std::string default_label(const std::vector<JsonPathSeg>& path);

class JsonStreamMasker {
 public:
  explicit JsonStreamMasker(const JsonMaskConfig& config);
  // Appends the output for `in` to `out`. False on malformed JSON or a limit (error() says which);
  // the masker is then dead and the caller must not send anything more of this body.
  bool feed(std::string_view in, std::string& out);
  // End of input: the text must be complete. Appends what was held (a trailing number).
  bool finish(std::string& out);
  // What was masked, by "json:<rule path>", detector name or "OVERSIZE". Built from flat
  // counters on each call: call it again after feeding more.
  const std::map<std::string, uint64_t>& counts() const;
  const std::string& error() const { return error_; }

 private:
  enum class State : uint8_t {
    kValue,       // a value must follow
    kValueOrEnd,  // after '[': a value or ']'
    kKeyOrEnd,    // after '{': a key or '}'
    kKey,         // after ',' in an object
    kColon,
    kCommaOrEnd,  // after a value inside a container
    kTop,         // after a complete top-level value
    kString,
    kEscape,
    kLiteral,
  };
  struct Frame {
    bool array = false;
    int rule = -1;  // rule masking this whole container, or -1
    // Rules without a descendant segment that are longer than this container's path and whose
    // segments match all of it: the only ones a child can still match or lead towards (bit i for
    // rule i; unused with > 64 rules). Each child then compares only its own segment.
    uint64_t alive = 0;
    uint64_t ends = 0;    // the alive rules one segment longer than this container's path
    uint64_t deeper = 0;  // the others
  };

  bool fail(const char* why);
  bool feed_piece(std::string_view in, std::string& out);
  // Output. Bytes of the current piece that go out unchanged (structure, white space, names,
  // unmasked values) are not appended token by token: pass() extends one run of them, and the
  // run is appended (flush) before anything else goes out and at the end of feed().
  void pass(const char* p, size_t n);
  void flush(std::string& out) {
    out_ = &out;
    flush_run();
  }
  void flush_run() {
    if (run_end_ != run_begin_)
      out_->append(run_begin_, static_cast<size_t>(run_end_ - run_begin_));
    run_begin_ = run_end_ = nullptr;
  }
  // at: the value's first byte in the current piece.
  bool begin_value(const char* at);
  // raw: the string as sent; quoted: raw lies in the input between its two quotes.
  bool end_string(std::string_view raw, std::string& out, bool quoted = false);
  // in_place: lit lies in the current piece (else in raw_).
  bool end_literal(std::string_view lit, std::string& out, bool in_place = false);
  // Just after begin_value started a literal at in[i - 1]: the whole literal if it ends in this
  // piece (then i is past it, and past what after_value_fast took).
  bool literal_in_place(std::string_view in, size_t& i, std::string& out);
  // Fast paths of feed() for the common shapes, each doing what the state machine would do byte
  // by byte; both return where feed() goes on. member_name: at in[i] just after the opening '"'
  // of a member name (state kKey/kKeyOrEnd); after_value_fast: after a value (a no-op unless the
  // state is kCommaOrEnd), the ',' and the next member name.
  size_t member_name(std::string_view in, size_t i);
  size_t after_value_fast(std::string_view in, size_t i);
  void after_value();
  // The rule for the value at path_ (first match wins). Also sets child_alive_: Frame::alive for
  // the value if it is a container.
  int rule_for_value() {
    child_alive_ = 0;
    if (!stack_.empty()) {
      const Frame& f = stack_.back();
      if (f.rule >= 0) return f.rule;
      if (f.alive == 0 && bits_only_) return -1;  // the usual case: nothing to try
    }
    return rule_for_value_rules();
  }
  int rule_for_value_rules();
  int rule_for_value_slow() const;  // every rule tried on path_: top level or > 64 rules
  // The alive rules of the top frame whose segment at the depth of path_.back() matches the
  // member name `key` (array elements are matched by index in rule_for_value).
  uint64_t key_matches(std::string_view key) const;
  // A member name just read: kept in path_ only when some rule needs whole paths, and matched
  // against the top frame's alive rules.
  void set_key(std::string_view key) {
    if (need_keys_) path_.back().key.assign(key);  // reuses the element's capacity
    elem_match_ = stack_.empty() || stack_.back().alive == 0 ? 0 : key_matches(key);
  }
  // The current string (`raw`) unescaped: raw itself when it has no '\\', else decoded_. False
  // on a bad escape.
  bool unescaped(std::string_view raw, std::string_view& value);
  void emit_replacement(int rule, std::string_view value, std::string& out);
  // Whether the redaction text for `label` needs no JSON escaping.
  static bool plain(std::string_view label);
  // append_json_string of the redaction text for a plain() label.
  static void append_redaction(std::string& out, std::string_view label);

  const JsonMaskConfig& cfg_;
  const char* run_begin_ = nullptr;  // the run pass() holds, in the current piece
  const char* run_end_ = nullptr;
  std::string* out_ = nullptr;  // where the run goes: feed()'s `out`
  State state_ = State::kTop;
  std::vector<Frame> stack_;
  std::vector<JsonPathElem> path_;  // path of the value being parsed (or the next one)
  bool string_is_key_ = false;
  bool string_passthrough_ = false;  // nothing can mask it: bytes go straight out
  bool oversize_ = false;
  bool raw_escaped_ = false;  // raw_ holds a '\\': it must be decoded (else decoded == raw)
  int value_rule_ = -1;
  uint64_t elem_match_ = 0;   // key_matches() of the last member name read
  uint64_t child_alive_ = 0;  // Frame::alive for the value rule_for_value was last called for
  std::string raw_;           // the current string (between the quotes, escaped) or literal
  std::string decoded_;       // scratch
  std::string masked_;        // scratch
  std::vector<Finding> findings_;
  struct RuleState {
    // A rule without a descendant segment matches paths of one length only: that length, or
    // SIZE_MAX (checked before json_path_matches).
    size_t len;
    uint64_t count;  // values it masked
    // kRedact with a plain() label: append_redaction makes the replacement (-1: not known yet).
    int8_t redact_plain;
  };
  std::vector<RuleState> rules_;       // parallel to cfg_.rules
  std::vector<size_t> descend_rules_;  // indexes of the rules with a descendant segment
  bool many_rules_ = false;            // > 64 rules: Frame::alive unused, every rule is tried
  bool need_keys_ = false;             // descendant rules or > 64 rules: path_ keeps member names
  bool bits_only_ = true;    // !need_keys_: Frame::alive says all about a container's children
  uint64_t root_alive_ = 0;  // Frame::alive for a top-level container: rules other than "$"
  // Counts per engine detector and for OVERSIZE (per rule: rules_); counts() makes counts_.
  std::vector<uint64_t> detector_counts_;
  // detector_action kRedact and detector d's name plain() (d < 64): append_redaction makes what
  // apply_findings would for a value one finding of d covers whole.
  bool plain_detector(uint16_t d);
  uint64_t plain_detectors_ = 0, detectors_checked_ = 0;  // bit d: plain / looked at
  uint64_t oversize_count_ = 0;
  mutable std::map<std::string, uint64_t> counts_;
  std::string error_;
  bool dead_ = false;
};

// Plain text through the detectors, streamed: text is held until `window` bytes are buffered, then
// masked and released except the last `overlap` bytes, which are scanned again with what follows
// so a finding across a read boundary is still found (detector matches are shorter than overlap).
class TextStreamMasker {
 public:
  TextStreamMasker(std::shared_ptr<const Engine> engine, Action action, std::string hmac_key,
                   size_t window = 64 * 1024, size_t overlap = 512);
  bool feed(std::string_view in, std::string& out);
  bool finish(std::string& out);
  const std::map<std::string, uint64_t>& counts() const { return counts_; }

 private:
  bool process(bool final, std::string& out);
  std::shared_ptr<const Engine> engine_;
  ActionOptions options_;
  std::string hmac_key_;
  size_t window_, overlap_;
  std::string buf_, masked_;
  std::vector<Finding> findings_;
  std::map<std::string, uint64_t> counts_;
};

}  // namespace phigate::mask
