#pragma once
// Masking on the PostgreSQL result path (DESIGN.md §1 "masking runs synchronously per row"): a
// per-output-column plan decided once per result set, then DataRow / ErrorResponse / NoticeResponse
// / COPY rows rewritten against it. No I/O and no policy decisions here: the session adapter hands
// in the compiled profile and the column names, this file only turns bytes into masked bytes.
//
// Fail closed: every function reports kRefused (a policy refusal, with a reason) or kFailed (the
// scan itself failed, or the bytes do not match the plan); the caller then ends the statement and
// never forwards the original.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/pg/messages.h"
#include "mask/profile.h"
#include "sql/lineage.h"

namespace phigate::proxy {

// How the values of one output column can be rewritten.
enum class ValueKind : uint8_t {
  kText,    // the bytes are text (text format, or binary text/varchar/bpchar/name/json/xml)
  kJsonb,   // binary jsonb: a version byte, then JSON text
  kOpaque,  // anything else (binary int, date, array, ...; text-format numbers and dates): a
            // masked value becomes NULL, or the statement is refused (profile `binary: refuse`)
};
ValueKind value_kind(uint32_t type_oid, int16_t format);

struct ColumnPlan {
  int rule = -1;  // column rule of the profile that masks the whole value; -1 = detectors only
  ValueKind kind = ValueKind::kText;
  bool binary = false;
  bool json = false;  // json/jsonb: a whole-value replacement is written as a JSON string
};

struct ResultPlan {
  std::vector<ColumnPlan> columns;
};

// schema.table.column of RowDescription's (table OID, attribute number); nullopt = not a table
// column (an expression) or unknown.
struct ColumnName {
  std::string_view schema, table, column;
};
using ColumnNamer = std::function<std::optional<ColumnName>(uint32_t table_oid, int16_t attnum)>;

// The rule that masks a whole value derived from `rules` (rule globs as lineage names them):
// the strictest of them (null > redact > hash > partial), or -1 when none is a rule of `profile`.
int strictest_rule(const mask::MaskProfile& profile, const std::vector<std::string>& rules);
// The strictest rule of the whole profile (-1 = no column rules): what a column gets when phigate
// cannot tell where it comes from.
int strictest_rule(const mask::MaskProfile& profile);

// The plan of one result. Without lineage, a column's rule comes from RowDescription's table OID
// + attribute number (a plain column reference). With lineage (sql/lineage.h, issue 5), a column
// DERIVED from a masked column (expression, cast, aggregate, view, whole-row reference; OID 0 in
// RowDescription) gets the strictest of its rules as a whole-value mask; the OID answer still
// applies when lineage finds nothing (belt and braces). Fail closed: lineage that is unanalysable
// or whose column count differs from RowDescription's masks EVERY column with the profile's
// strictest rule (over-masking a result the client can rephrase beats guessing).
ResultPlan build_plan(const mask::MaskProfile& profile, const pg::RowDescription& desc,
                      const ColumnNamer& names, const sql::Lineage* lineage = nullptr);

// COPY TO STDOUT in text or CSV format (§55.2.6; one CopyData message per row).
struct CopyPlan {
  bool csv = false;
  char delimiter = '\t';
  char quote = '"';
  char escape = '"';
  std::string null_string = "\\N";
  std::vector<int> rules;  // per field: column rule or -1; empty = detectors only on every field
  bool header = false;     // the next row is the HEADER line: detectors only, no column rules
};

class RowMasker {
 public:
  enum class Outcome { kUnchanged, kRewritten, kRefused, kFailed };

  // Per statement; resets nothing else (counts are taken by take_counts()).
  void set_profile(std::shared_ptr<const mask::MaskProfile> profile);
  const mask::MaskProfile* profile() const { return profile_.get(); }

  // DataRow body (§55.7); on kRewritten `out` holds a whole new 'D' message with every length
  // rewritten. The row must have exactly plan.columns.size() values.
  Outcome data_row(const ResultPlan& plan, ByteSpan body, Bytes& out);
  // ErrorResponse/NoticeResponse body: every field but severity and SQLSTATE is scanned.
  Outcome error_fields(char type, ByteSpan body, Bytes& out);
  // One CopyData payload (one row); on kRewritten `out` holds a whole new 'd' message.
  Outcome copy_row(const CopyPlan& plan, ByteSpan data, Bytes& out);

  // Why the last call refused or failed, for the client.
  const std::string& reason() const { return reason_; }
  // Adds the masked-value counts since the last call (per detector name, per "column:<glob>").
  void take_counts(std::map<std::string, uint64_t>& into);

 private:
  Outcome refuse(std::string why);
  Outcome fail(std::string why);
  // Appends the masked form of a whole value for a column rule (or an opaque value with
  // findings); returns false if the value must become NULL.
  bool whole_value(const ColumnPlan& c, std::string_view value, const mask::ActionOptions& o,
                   std::string_view label);
  void count_detector(uint16_t d);

  std::shared_ptr<const mask::MaskProfile> profile_;
  std::string reason_;
  // Reused scratch: the row's scannable values joined with NUL separators, where each starts,
  // the findings, one value's findings re-based, one masked value.
  std::string joined_;
  std::vector<uint32_t> starts_;
  std::vector<mask::Finding> findings_, local_;
  std::string value_, unescaped_;
  std::vector<std::string_view> fields_;
  std::vector<uint64_t> detector_counts_, rule_counts_;
  std::vector<std::string> error_values_;
};

}  // namespace phigate::proxy
