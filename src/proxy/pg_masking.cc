#include "proxy/pg_masking.h"

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "common/bytes.h"

namespace phigate::proxy {

namespace {

// Built-in type OIDs (pg_type.dat).
constexpr uint32_t kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21,
                   kInt4 = 23, kText = 25, kOid = 26, kJson = 114, kXml = 142, kCidr = 650,
                   kFloat4 = 700, kFloat8 = 701, kUnknown = 705, kMoney = 790, kMacaddr = 829,
                   kInet = 869, kBpchar = 1042, kVarchar = 1043, kDate = 1082, kTime = 1083,
                   kTimestamp = 1114, kTimestamptz = 1184, kInterval = 1186, kTimetz = 1266,
                   kNumeric = 1700, kUuid = 2950, kJsonb = 3802;

bool text_like_binary(uint32_t t) {
  switch (t) {
    case kText:
    case kVarchar:
    case kBpchar:
    case kName:
    case kChar:
    case kJson:
    case kXml:
    case kUnknown:
      return true;
    default:
      return false;
  }
}

// Text-format values whose type parser would reject a redaction string: a masked one becomes NULL.
bool typed_text(uint32_t t) {
  switch (t) {
    case kBool:
    case kBytea:
    case kInt8:
    case kInt2:
    case kInt4:
    case kOid:
    case kCidr:
    case kFloat4:
    case kFloat8:
    case kMoney:
    case kMacaddr:
    case kInet:
    case kDate:
    case kTime:
    case kTimestamp:
    case kTimestamptz:
    case kInterval:
    case kTimetz:
    case kNumeric:
    case kUuid:
      return true;
    default:
      return false;
  }
}

void put_u32(Bytes& out, size_t at, uint32_t v) {
  out[at] = uint8_t(v >> 24);
  out[at + 1] = uint8_t(v >> 16);
  out[at + 2] = uint8_t(v >> 8);
  out[at + 3] = uint8_t(v);
}

void append_i32(Bytes& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  out.push_back(uint8_t(u >> 24));
  out.push_back(uint8_t(u >> 16));
  out.push_back(uint8_t(u >> 8));
  out.push_back(uint8_t(u));
}

void append_sv(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

// Starts a message of `type` and returns where its length goes.
size_t begin_message(Bytes& out, char type) {
  out.clear();
  out.push_back(static_cast<uint8_t>(type));
  size_t at = out.size();
  append_i32(out, 0);
  return at;
}

void end_message(Bytes& out, size_t at) {
  put_u32(out, at, static_cast<uint32_t>(out.size() - at));
}

// `s` as a JSON string literal (the replacement of a whole json/jsonb value must stay JSON).
void json_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// A NUL before each scanned value keeps detectors' word-boundary checks from reading one value's
// bytes as part of the next (e.g. a length byte 0x39 is the digit '9').
constexpr char kSeparator = '\0';

}  // namespace

ValueKind value_kind(uint32_t type_oid, int16_t format) {
  if (format == 0) return typed_text(type_oid) ? ValueKind::kOpaque : ValueKind::kText;
  if (text_like_binary(type_oid)) return ValueKind::kText;
  if (type_oid == kJsonb) return ValueKind::kJsonb;
  return ValueKind::kOpaque;
}

namespace {

// Higher = reveals less.
int strictness(mask::Action a) {
  switch (a) {
    case mask::Action::kNull:
      return 3;
    case mask::Action::kRedact:
      return 2;
    case mask::Action::kHash:
      return 1;
    case mask::Action::kPartial:
      return 0;
  }
  return 2;
}

int stricter(const mask::MaskProfile& profile, int a, int b) {
  if (a < 0) return b;
  if (b < 0) return a;
  return strictness(profile.rule_options(static_cast<size_t>(b)).action) >
                 strictness(profile.rule_options(static_cast<size_t>(a)).action)
             ? b
             : a;
}

}  // namespace

int strictest_rule(const mask::MaskProfile& profile, const std::vector<std::string>& rules) {
  int best = -1;
  for (const std::string& r : rules) {
    for (size_t i = 0; i < profile.rule_count(); ++i) {
      if (profile.rule_glob(i) != r) continue;
      best = stricter(profile, best, static_cast<int>(i));
      break;
    }
  }
  return best;
}

int strictest_rule(const mask::MaskProfile& profile) {
  int best = -1;
  for (size_t i = 0; i < profile.rule_count(); ++i)
    best = stricter(profile, best, static_cast<int>(i));
  return best;
}

ResultPlan build_plan(const mask::MaskProfile& profile, const pg::RowDescription& desc,
                      const ColumnNamer& names, const sql::Lineage* lineage) {
  ResultPlan plan;
  plan.columns.reserve(desc.fields.size());
  const bool blind =
      lineage && (!lineage->unanalysable.empty() || lineage->columns.size() != desc.fields.size());
  const int strictest = blind ? strictest_rule(profile) : -1;
  for (size_t i = 0; i < desc.fields.size(); ++i) {
    const pg::RowDescriptionField& f = desc.fields[i];
    ColumnPlan c;
    c.kind = value_kind(f.type_oid, f.format);
    c.binary = f.format != 0;
    c.json = f.type_oid == kJson || f.type_oid == kJsonb;
    if (f.table_oid != 0 && f.column > 0 && profile.rule_count() > 0 && names) {
      if (auto n = names(f.table_oid, f.column))
        c.rule = profile.match_column(n->schema, n->table, n->column);
    }
    if (blind) {
      c.rule = strictest;
    } else if (lineage) {
      c.rule = stricter(profile, c.rule, strictest_rule(profile, lineage->columns[i].masked));
    }
    plan.columns.push_back(c);
  }
  return plan;
}

void RowMasker::set_profile(std::shared_ptr<const mask::MaskProfile> profile) {
  if (profile != profile_) {
    // A different profile numbers detectors and rules differently: counts belong to the old one.
    detector_counts_.clear();
    rule_counts_.clear();
  }
  profile_ = std::move(profile);
  if (profile_) {
    detector_counts_.resize(profile_->engine().detector_names().size());
    rule_counts_.resize(profile_->rule_count());
  }
}

RowMasker::Outcome RowMasker::refuse(std::string why) {
  reason_ = std::move(why);
  return Outcome::kRefused;
}

RowMasker::Outcome RowMasker::fail(std::string why) {
  reason_ = std::move(why);
  return Outcome::kFailed;
}

void RowMasker::count_detector(uint16_t d) {
  if (d < detector_counts_.size()) ++detector_counts_[d];
}

void RowMasker::take_counts(std::map<std::string, uint64_t>& into) {
  if (!profile_) return;
  const auto& names = profile_->engine().detector_names();
  for (size_t i = 0; i < detector_counts_.size(); ++i) {
    if (detector_counts_[i]) into[names[i]] += detector_counts_[i];
    detector_counts_[i] = 0;
  }
  for (size_t i = 0; i < rule_counts_.size(); ++i) {
    if (rule_counts_[i]) into[profile_->rule_label(i)] += rule_counts_[i];
    rule_counts_[i] = 0;
  }
}

bool RowMasker::whole_value(const ColumnPlan& c, std::string_view value,
                            const mask::ActionOptions& o, std::string_view label) {
  value_.clear();
  if (c.kind == ValueKind::kOpaque) return false;
  if (c.json) {
    std::string tmp;  // rare path (json columns under a rule): a small allocation is fine
    if (mask::apply_whole(value, label, o, tmp) == mask::Applied::kNull) return false;
    if (c.kind == ValueKind::kJsonb) value_.push_back('\1');
    json_string(tmp, value_);
    return true;
  }
  return mask::apply_whole(value, label, o, value_) != mask::Applied::kNull;
}

RowMasker::Outcome RowMasker::data_row(const ResultPlan& plan, ByteSpan body, Bytes& out) {
  if (!profile_) return Outcome::kUnchanged;
  ByteReader r(body);
  auto n = r.u16();
  if (!n) return fail("malformed DataRow");
  if (*n != plan.columns.size())
    return fail("DataRow has " + std::to_string(*n) + " values, RowDescription " +
                std::to_string(plan.columns.size()));
  // Pass 1: validate the row, join the values detectors must see, note where each starts.
  joined_.clear();
  starts_.resize(plan.columns.size());
  bool any_rule = false;
  for (size_t i = 0; i < plan.columns.size(); ++i) {
    auto len = r.i32();
    if (!len || *len < -1) return fail("malformed DataRow");
    if (*len == -1) continue;
    auto v = r.bytes(static_cast<size_t>(*len));
    if (!v) return fail("malformed DataRow");
    const ColumnPlan& c = plan.columns[i];
    if (c.rule >= 0) {
      any_rule = true;
      continue;
    }
    std::string_view text = as_sv(*v);
    if (c.kind == ValueKind::kJsonb && !text.empty() && text[0] == 1) text.remove_prefix(1);
    joined_.push_back(kSeparator);
    starts_[i] = static_cast<uint32_t>(joined_.size());
    joined_.append(text);
  }
  if (!r.empty()) return fail("malformed DataRow");
  findings_.clear();
  if (profile_->has_detectors() && !joined_.empty() && !profile_->engine().scan(joined_, findings_))
    return fail("the masking scan failed");
  if (findings_.empty() && !any_rule) return Outcome::kUnchanged;

  // Pass 2: the new row. Findings are sorted and non-overlapping, so one cursor walks them.
  const mask::ActionOptions& dopts = profile_->detector_options();
  size_t at = begin_message(out, 'D');
  out.push_back(uint8_t(*n >> 8));
  out.push_back(uint8_t(*n));
  ByteReader r2(body);
  (void)r2.u16();
  size_t fi = 0;
  for (size_t i = 0; i < plan.columns.size(); ++i) {
    int32_t len = *r2.i32();
    if (len == -1) {
      append_i32(out, -1);
      continue;
    }
    std::string_view value = as_sv(*r2.bytes(static_cast<size_t>(len)));
    const ColumnPlan& c = plan.columns[i];
    if (c.rule >= 0) {
      ++rule_counts_[static_cast<size_t>(c.rule)];
      const auto rule = static_cast<size_t>(c.rule);
      if (c.kind == ValueKind::kOpaque && c.binary &&
          profile_->binary() == mask::BinaryFallback::kRefuse)
        return refuse("column " + std::to_string(i + 1) +
                      " is masked and cannot be masked in binary format; request text format");
      if (!whole_value(c, value, profile_->rule_options(rule), profile_->rule_glob(rule))) {
        append_i32(out, -1);
      } else {
        append_i32(out, static_cast<int32_t>(value_.size()));
        append_sv(out, value_);
      }
      continue;
    }
    // This value's findings, re-based onto the value (a custom regex may match across the
    // separator: such a finding is clamped to each value it covers).
    const uint32_t vb = starts_[i];
    const bool jsonb_text = c.kind == ValueKind::kJsonb && !value.empty() && value[0] == 1;
    const uint32_t ve = vb + static_cast<uint32_t>(value.size() - (jsonb_text ? 1 : 0));
    local_.clear();
    while (fi < findings_.size() && findings_[fi].end <= vb) ++fi;
    for (size_t k = fi; k < findings_.size() && findings_[k].begin < ve; ++k) {
      mask::Finding f = findings_[k];
      f.begin = std::max(f.begin, vb) - vb;
      f.end = std::min(f.end, ve) - vb;
      local_.push_back(f);
      count_detector(f.detector);
    }
    if (local_.empty()) {
      append_i32(out, len);
      append_sv(out, value);
      continue;
    }
    if (c.kind == ValueKind::kOpaque || (c.kind == ValueKind::kJsonb && !jsonb_text)) {
      // Bytes phigate cannot edit in place (a binary array, a number): the whole value goes.
      if (c.binary && profile_->binary() == mask::BinaryFallback::kRefuse)
        return refuse("column " + std::to_string(i + 1) +
                      " holds a detected identifier in a binary value phigate cannot mask; "
                      "request text format");
      append_i32(out, -1);
      continue;
    }
    std::string_view text = jsonb_text ? value.substr(1) : value;
    if (mask::apply_findings(text, local_, dopts, value_) == mask::Applied::kNull) {
      append_i32(out, -1);
      continue;
    }
    append_i32(out, static_cast<int32_t>(value_.size() + (jsonb_text ? 1 : 0)));
    if (jsonb_text) out.push_back(1);
    append_sv(out, value_);
  }
  end_message(out, at);
  return Outcome::kRewritten;
}

RowMasker::Outcome RowMasker::error_fields(char type, ByteSpan body, Bytes& out) {
  if (!profile_ || !profile_->has_detectors()) return Outcome::kUnchanged;
  auto fields = pg::parse_error_fields(body);
  if (!fields) return fail("malformed error message from the server");
  // In a message a NULL means nothing: a `null` detector action redacts here instead.
  mask::ActionOptions o = profile_->detector_options();
  if (o.action == mask::Action::kNull) o.action = mask::Action::kRedact;
  bool changed = false;
  error_values_.clear();
  error_values_.reserve(fields->fields.size());  // views below must stay put
  for (pg::ErrorField& f : fields->fields) {
    if (f.code == 'S' || f.code == 'V' || f.code == 'C') continue;
    findings_.clear();
    if (!profile_->engine().scan(f.value, findings_)) return fail("the masking scan failed");
    if (findings_.empty()) continue;
    for (const mask::Finding& x : findings_) count_detector(x.detector);
    error_values_.emplace_back();
    mask::apply_findings(f.value, findings_, o, error_values_.back());
    f.value = error_values_.back();
    changed = true;
  }
  if (!changed) return Outcome::kUnchanged;
  out.clear();
  pg::encode_error_fields(out, type, *fields);
  return Outcome::kRewritten;
}

}  // namespace phigate::proxy
