#pragma once
// A compiled `masking:` profile (DESIGN.md §4): the detector engine, the column rules and the
// options of every action. Built once per policy snapshot, then shared read-only by every session
// of every thread; nothing here changes after compile().
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mask/actions.h"
#include "mask/detectors.h"

namespace phigate::mask {

// A whole-row reference (`SELECT p FROM patients p`, row_to_json(p)) over a table with masked
// columns: refuse the statement, or mask the whole value. Enforced by lineage.
enum class WholeRow { kRefuse, kMask };
// A masked value phigate cannot rewrite in place (a binary int, date, array, ...): NULL, or end
// the statement with an error.
enum class BinaryFallback { kNull, kRefuse };

struct ColumnRuleSpec {
  std::string column;  // glob over [schema.]table.column
  Action action = Action::kRedact;
};

struct ProfileSpec {
  std::string name;
  Profile detectors;
  std::vector<ColumnRuleSpec> columns;  // first match wins
  Action detector_action = Action::kRedact;
  std::string hmac_key;                // the secret itself; required when any action is kHash
  std::string redact_format = "[{}]";  // exactly one "{}"
  WholeRow on_whole_row = WholeRow::kRefuse;
  BinaryFallback binary = BinaryFallback::kNull;
};

class MaskProfile {
 public:
  // Fails on a detector database that does not compile, an unknown detector, a bad glob or
  // redaction format, or a `hash` action without a key: masking fails closed.
  static Result<std::shared_ptr<const MaskProfile>> compile(ProfileSpec spec);

  const std::string& name() const { return spec_.name; }
  const Engine& engine() const { return *engine_; }
  bool has_detectors() const { return !engine_->detector_names().empty(); }
  size_t rule_count() const { return rules_.size(); }
  // The first rule whose glob matches the column, or -1. A glob of N dot-separated parts is matched
  // against the last N parts of schema.table.column, case-insensitively (`patients.ssn` covers
  // every schema's patients table: over-masking is the safe side).
  int match_column(std::string_view schema, std::string_view table, std::string_view column) const;
  const ActionOptions& rule_options(size_t i) const { return rules_[i].options; }
  const std::string& rule_glob(size_t i) const { return rules_[i].glob; }
  // The audit key of a column rule: "column:" + glob.
  const std::string& rule_label(size_t i) const { return rules_[i].label; }
  const ActionOptions& detector_options() const { return detector_options_; }
  WholeRow on_whole_row() const { return spec_.on_whole_row; }
  BinaryFallback binary() const { return spec_.binary; }

  MaskProfile(const MaskProfile&) = delete;
  MaskProfile& operator=(const MaskProfile&) = delete;

 private:
  MaskProfile() = default;
  struct Rule {
    std::string glob;
    std::vector<std::string> parts;  // glob split at '.'
    std::string label;
    ActionOptions options;  // views into spec_
  };
  ProfileSpec spec_;
  std::string redact_prefix_, redact_suffix_;
  std::shared_ptr<const Engine> engine_;
  std::vector<Rule> rules_;
  ActionOptions detector_options_;
};

}  // namespace phigate::mask
