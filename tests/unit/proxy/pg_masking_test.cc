#include "proxy/pg_masking.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"

namespace phigate::proxy {
namespace {

std::shared_ptr<const mask::MaskProfile> profile(
    mask::BinaryFallback binary = mask::BinaryFallback::kNull) {
  mask::ProfileSpec s;
  s.name = "phi";
  s.detectors.detectors = {"US_SSN", "EMAIL_ADDRESS"};
  s.detectors.custom = {{"MRN", "MRN-[0-9]{8}"}};
  s.columns = {{"patients.ssn", mask::Action::kRedact},
               {"*.email", mask::Action::kPartial},
               {"public.patients.dob", mask::Action::kNull}};
  s.binary = binary;
  return mask::MaskProfile::compile(s).value();
}

constexpr uint32_t kText = 25, kInt4 = 23, kJsonb = 3802, kJson = 114, kTextArray = 1009;

pg::RowDescriptionField field(std::string_view name, uint32_t table, int16_t att, uint32_t type,
                              int16_t format = 0) {
  pg::RowDescriptionField f;
  f.name = name;
  f.table_oid = table;
  f.column = att;
  f.type_oid = type;
  f.format = format;
  return f;
}

// Table 100 = public.patients (ssn=1, email=2, dob=3, note=4).
std::optional<ColumnName> names(uint32_t oid, int16_t att) {
  static const char* cols[] = {"ssn", "email", "dob", "note"};
  if (oid != 100 || att < 1 || att > 4) return std::nullopt;
  return ColumnName{"public", "patients", cols[att - 1]};
}

Bytes row(const std::vector<std::optional<std::string>>& values) {
  pg::DataRow r;
  for (const auto& v : values) {
    pg::BindParam p;
    p.is_null = !v;
    if (v) p.value = as_bytes(*v);
    r.columns.push_back(p);
  }
  Bytes out;
  pg::encode_data_row(out, r);
  return out;
}

// Decodes a whole 'D' message (checking every length) back into values.
std::vector<std::optional<std::string>> values_of(const Bytes& msg) {
  auto f = pg::decode_frame(msg, 1 << 20);
  EXPECT_EQ(f.status, pg::DecodeStatus::kMessage);
  EXPECT_EQ(f.message.total, msg.size()) << "length field matches the bytes";
  auto r = pg::parse_data_row(f.message.body);
  EXPECT_TRUE(r.ok());
  std::vector<std::optional<std::string>> out;
  for (const auto& c : r->columns)
    out.push_back(c.is_null ? std::nullopt : std::optional<std::string>(as_sv(c.value)));
  return out;
}

ByteSpan body_of(const Bytes& msg) { return ByteSpan(msg).subspan(5); }

TEST(PgMasking, PlanFromRowDescription) {
  auto p = profile();
  pg::RowDescription rd;
  rd.fields = {field("ssn", 100, 1, kText), field("email", 100, 2, kText, 1),
               field("dob", 100, 3, 1082),  field("x", 0, 0, kInt4, 1),
               field("n", 100, 4, kText),   field("other", 200, 1, kText)};
  ResultPlan plan = build_plan(*p, rd, names);
  ASSERT_EQ(plan.columns.size(), 6u);
  EXPECT_EQ(plan.columns[0].rule, 0);
  EXPECT_EQ(plan.columns[1].rule, 1);
  EXPECT_EQ(plan.columns[1].kind, ValueKind::kText);  // binary text
  EXPECT_EQ(plan.columns[2].rule, 2);                 // 3-part glob matches the schema
  EXPECT_EQ(plan.columns[2].kind, ValueKind::kOpaque);
  EXPECT_EQ(plan.columns[3].rule, -1);
  EXPECT_EQ(plan.columns[3].kind, ValueKind::kOpaque);
  EXPECT_EQ(plan.columns[4].rule, -1);
  EXPECT_EQ(plan.columns[5].rule, -1);  // unknown table: detectors only
}

// Lineage over a fake catalog: public.patients (ssn, email, dob, note), view v_contacts.
sql::LineageCatalog lineage_catalog(const mask::MaskProfile& p) {
  sql::LineageCatalog c;
  c.is_masked = [&p](std::string_view schema, std::string_view table,
                     std::string_view column) -> std::optional<std::string> {
    int r = p.match_column(schema.empty() ? "public" : schema, table, column);
    if (r < 0) return std::nullopt;
    return p.rule_glob(static_cast<size_t>(r));
  };
  c.view_definition = [](std::string_view, std::string_view name) -> std::optional<std::string> {
    if (name == "v_contacts") return std::string("SELECT ssn AS s, note FROM patients");
    return std::nullopt;
  };
  c.table_columns = [](std::string_view,
                       std::string_view name) -> std::optional<std::vector<std::string>> {
    if (name == "patients") return std::vector<std::string>{"ssn", "email", "dob", "note"};
    if (name == "v_contacts") return std::vector<std::string>{"s", "note"};
    return std::nullopt;
  };
  return c;
}

TEST(PgMasking, LineageMasksDerivedColumns) {
  auto p = profile();
  auto cat = lineage_catalog(*p);
  auto l = sql::analyse_lineage(
      "SELECT md5(ssn), reverse(s.e), note, 1 FROM patients, "
      "(SELECT email AS e FROM patients) s",
      cat);
  ASSERT_TRUE(l.unanalysable.empty()) << l.unanalysable;
  pg::RowDescription rd;  // expressions: table OID 0 everywhere
  rd.fields = {field("md5", 0, 0, kText), field("reverse", 0, 0, kText, 1),
               field("note", 100, 4, kText), field("?column?", 0, 0, kInt4, 1)};
  ResultPlan plan = build_plan(*p, rd, names, &l);
  ASSERT_EQ(plan.columns.size(), 4u);
  EXPECT_EQ(plan.columns[0].rule, 0);
  EXPECT_EQ(plan.columns[1].rule, 1);
  EXPECT_EQ(plan.columns[2].rule, -1);
  EXPECT_EQ(plan.columns[3].rule, -1);

  RowMasker m;
  m.set_profile(p);
  Bytes in = row({"0123abcd", "gro.elpmaxe@eod.enaj", "plain", "1"});
  Bytes out;
  ASSERT_EQ(m.data_row(plan, body_of(in), out), RowMasker::Outcome::kRewritten);
  auto v = values_of(out);
  EXPECT_EQ(v[0], "[patients.ssn]");
  EXPECT_NE(v[1], "gro.elpmaxe@eod.enaj");
  EXPECT_EQ(v[2], "plain");
}

TEST(PgMasking, LineageViewsUnionAndStrictestRule) {
  auto p = profile();
  auto cat = lineage_catalog(*p);
  // Through a view, and a UNION branch: both masked; concat of email (partial) and dob (null)
  // takes the strictest, null.
  auto l = sql::analyse_lineage("SELECT upper(s) FROM v_contacts UNION ALL SELECT 'x'", cat);
  ASSERT_TRUE(l.unanalysable.empty()) << l.unanalysable;
  pg::RowDescription rd;
  rd.fields = {field("upper", 0, 0, kText)};
  EXPECT_EQ(build_plan(*p, rd, names, &l).columns[0].rule, 0);
  auto l2 = sql::analyse_lineage("SELECT concat(email, dob) FROM patients", cat);
  EXPECT_EQ(build_plan(*p, rd, names, &l2).columns[0].rule, 2);
  EXPECT_EQ(strictest_rule(*p), 2);
  EXPECT_EQ(strictest_rule(*p, {"*.email", "patients.ssn"}), 0);
  EXPECT_EQ(strictest_rule(*p, {"nope"}), -1);
}

TEST(PgMasking, LineageFailsClosed) {
  auto p = profile();
  auto cat = lineage_catalog(*p);
  pg::RowDescription rd;
  rd.fields = {field("a", 0, 0, kText), field("b", 0, 0, kText)};
  // Unanalysable: every column masked with the strictest rule.
  auto bad = sql::analyse_lineage("SELECT * FROM nowhere", cat);
  ASSERT_FALSE(bad.unanalysable.empty());
  for (const ColumnPlan& c : build_plan(*p, rd, names, &bad).columns) EXPECT_EQ(c.rule, 2);
  // Column count differs from RowDescription's: the same.
  auto one = sql::analyse_lineage("SELECT 'x'", cat);
  ASSERT_TRUE(one.unanalysable.empty());
  for (const ColumnPlan& c : build_plan(*p, rd, names, &one).columns) EXPECT_EQ(c.rule, 2);
  // A whole-row reference is reported (the session refuses it under on_whole_row: refuse).
  auto whole = sql::analyse_lineage("SELECT row_to_json(p) FROM patients p", cat);
  ASSERT_EQ(whole.columns.size(), 1u);
  EXPECT_TRUE(whole.columns[0].whole_row);
  EXPECT_FALSE(whole.columns[0].masked.empty());
}

TEST(PgMasking, RowRewriteKeepsLengthsRight) {
  RowMasker m;
  m.set_profile(profile());
  pg::RowDescription rd;
  rd.fields = {field("ssn", 100, 1, kText), field("email", 100, 2, kText),
               field("note", 100, 4, kText), field("n", 0, 0, kText), field("dob", 100, 3, 1082)};
  ResultPlan plan = build_plan(*m.profile(), rd, names);
  Bytes in = row({"536-22-1234", "jane.doe@example.org", "call re 536-22-1234 and MRN-12345678",
                  std::nullopt, "1970-01-01"});
  Bytes out;
  ASSERT_EQ(m.data_row(plan, body_of(in), out), RowMasker::Outcome::kRewritten);
  auto v = values_of(out);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], "[patients.ssn]");
  EXPECT_EQ(v[1], "****************.org");
  EXPECT_EQ(v[2], "call re [US_SSN] and [MRN]");
  EXPECT_EQ(v[3], std::nullopt);
  EXPECT_EQ(v[4], std::nullopt);  // rule action null
  std::map<std::string, uint64_t> counts;
  m.take_counts(counts);
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"US_SSN", 1},
                                                     {"MRN", 1},
                                                     {"column:patients.ssn", 1},
                                                     {"column:*.email", 1},
                                                     {"column:public.patients.dob", 1}}));
  counts.clear();
  m.take_counts(counts);
  EXPECT_TRUE(counts.empty()) << "taken once";
}

TEST(PgMasking, UnchangedRowIsNotRewritten) {
  RowMasker m;
  m.set_profile(profile());
  pg::RowDescription rd;
  rd.fields = {field("a", 0, 0, kText), field("b", 0, 0, kInt4)};
  Bytes in = row({"nothing here", "42"});
  Bytes out;
  EXPECT_EQ(m.data_row(build_plan(*m.profile(), rd, names), body_of(in), out),
            RowMasker::Outcome::kUnchanged);
}

TEST(PgMasking, ValuesDoNotRunTogether) {
  // "9" ending one value must not glue onto the next value's SSN (word boundary), and an SSN
  // split across two values is not one SSN.
  RowMasker m;
  m.set_profile(profile());
  pg::RowDescription rd;
  rd.fields = {field("a", 0, 0, kText), field("b", 0, 0, kText)};
  ResultPlan plan = build_plan(*m.profile(), rd, names);
  Bytes in = row({"x9", "536-22-1234"});
  Bytes out;
  ASSERT_EQ(m.data_row(plan, body_of(in), out), RowMasker::Outcome::kRewritten);
  EXPECT_EQ(values_of(out)[1], "[US_SSN]");
  // A value whose length byte is '9' (57 bytes) right before the SSN.
  std::string pad(57, 'a');
  in = row({pad, "536-22-1234 z"});
  ASSERT_EQ(m.data_row(plan, body_of(in), out), RowMasker::Outcome::kRewritten);
  EXPECT_EQ(values_of(out)[1], "[US_SSN] z");
}

TEST(PgMasking, BinaryTypes) {
  RowMasker m;
  m.set_profile(profile());
  pg::RowDescription rd;
  rd.fields = {field("ssn", 100, 1, kText, 1),  field("j", 0, 0, kJsonb, 1),
               field("a", 0, 0, kTextArray, 1), field("i", 0, 0, kInt4, 1),
               field("e", 100, 2, kJsonb, 1),   field("d", 100, 3, 1082, 1),
               field("js", 100, 2, kJson, 0)};
  ResultPlan plan = build_plan(*m.profile(), rd, names);
  std::string jsonb = std::string("\x01") + R"({"ssn": "536-22-1234"})";
  std::string array =
      std::string("\0\0\0\x01\0\0\0\0\0\0\0\x19\0\0\0\x01\0\0\0\x01\0\0\0\x0b", 24) + "536-22-1234";
  std::string int4("\0\0\0\x2a", 4);
  std::string ejsonb = std::string("\x01") + R"("a@b.io")";
  Bytes in =
      row({"536-22-1234", jsonb, array, int4, ejsonb, std::string("\0\0\x10\0", 4), R"({"k": 1})"});
  Bytes out;
  ASSERT_EQ(m.data_row(plan, body_of(in), out), RowMasker::Outcome::kRewritten);
  auto v = values_of(out);
  EXPECT_EQ(v[0], "[patients.ssn]");
  EXPECT_EQ(v[1], std::string("\x01") + R"({"ssn": "[US_SSN]"})") << "jsonb version byte kept";
  EXPECT_EQ(v[2], std::nullopt) << "binary array with a finding: NULL";
  EXPECT_EQ(v[3], int4);
  // The rule masks the value's JSON text (quotes included) and writes the result as a JSON string.
  EXPECT_EQ(v[4], std::string("\x01") + R"("*****.io\"")") << "whole jsonb value stays JSON";
  EXPECT_EQ(v[5], std::nullopt) << "binary date under a rule: NULL";
  EXPECT_EQ(v[6], "\"****: 1}\"") << "json column under a rule becomes a JSON string";

  // binary: refuse
  RowMasker strict;
  strict.set_profile(profile(mask::BinaryFallback::kRefuse));
  EXPECT_EQ(strict.data_row(plan, body_of(in), out), RowMasker::Outcome::kRefused);
  EXPECT_NE(strict.reason().find("binary"), std::string::npos);
}

TEST(PgMasking, MalformedRowsFailClosed) {
  RowMasker m;
  m.set_profile(profile());
  pg::RowDescription rd;
  rd.fields = {field("a", 0, 0, kText), field("b", 0, 0, kText)};
  ResultPlan plan = build_plan(*m.profile(), rd, names);
  Bytes out;
  Bytes one = row({"536-22-1234"});
  EXPECT_EQ(m.data_row(plan, body_of(one), out), RowMasker::Outcome::kFailed) << "count mismatch";
  Bytes two = row({"536-22-1234", "x"});
  Bytes cut(two.begin(), two.end() - 1);
  EXPECT_EQ(m.data_row(plan, body_of(cut), out), RowMasker::Outcome::kFailed) << "short";
  Bytes longer = two;
  longer.push_back('z');
  EXPECT_EQ(m.data_row(plan, body_of(longer), out), RowMasker::Outcome::kFailed) << "trailing";
  Bytes neg = row({"a", "b"});
  neg[7] = 0xFF;  // first length -> negative, not -1
  neg[8] = 0xFF;
  neg[9] = 0xFF;
  neg[10] = 0xFE;
  EXPECT_EQ(m.data_row(plan, body_of(neg), out), RowMasker::Outcome::kFailed);
}

TEST(PgMasking, ErrorFields) {
  RowMasker m;
  m.set_profile(profile());
  pg::ErrorFields f;
  f.fields = {{'S', "ERROR"},
              {'V', "ERROR"},
              {'C', "23505"},
              {'M', "duplicate key value violates unique constraint \"p_ssn\""},
              {'D', "Key (ssn)=(536-22-1234) already exists."},
              {'W', "SQL function with a@b.io"}};
  Bytes in, out;
  pg::encode_error_fields(in, 'E', f);
  ASSERT_EQ(m.error_fields('E', body_of(in), out), RowMasker::Outcome::kRewritten);
  auto d = pg::decode_frame(out, 1 << 20);
  ASSERT_EQ(d.status, pg::DecodeStatus::kMessage);
  EXPECT_EQ(d.message.type, 'E');
  auto g = pg::parse_error_fields(d.message.body);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->sqlstate(), "23505");
  EXPECT_EQ(g->get('D'), "Key (ssn)=([US_SSN]) already exists.");
  EXPECT_EQ(g->get('W'), "SQL function with [EMAIL_ADDRESS]");
  EXPECT_EQ(g->message(), f.get('M'));
  Bytes clean;
  pg::encode_error_fields(clean, 'N', pg::ErrorFields{{{'S', "NOTICE"}, {'M', "hello"}}});
  EXPECT_EQ(m.error_fields('N', body_of(clean), out), RowMasker::Outcome::kUnchanged);
}

std::string copy_mask(RowMasker& m, const CopyPlan& plan, std::string_view row,
                      RowMasker::Outcome expect = RowMasker::Outcome::kRewritten) {
  Bytes out;
  EXPECT_EQ(m.copy_row(plan, as_bytes(row), out), expect) << row;
  if (expect != RowMasker::Outcome::kRewritten) return {};
  EXPECT_EQ(out[0], 'd');
  uint32_t len = (uint32_t(out[1]) << 24) | (uint32_t(out[2]) << 16) | (uint32_t(out[3]) << 8) |
                 uint32_t(out[4]);
  EXPECT_EQ(len + 1, out.size()) << "CopyData length";
  return std::string(as_sv(ByteSpan(out).subspan(5)));
}

TEST(PgMasking, CopyText) {
  RowMasker m;
  m.set_profile(profile());
  CopyPlan p;
  p.rules = {-1, 0, -1};
  EXPECT_EQ(copy_mask(m, p, "1\t536-22-1234\tsee 536-22-1234\n"),
            "1\t[patients.ssn]\tsee [US_SSN]\n");
  // Escaped tab inside a field is not a delimiter; \N is NULL and stays NULL.
  EXPECT_EQ(copy_mask(m, p, "2\t\\N\ta\\tb 536-22-1234\\\\\n"), "2\t\\N\ta\\tb [US_SSN]\\\\\n");
  // Escapes inside the value are undone before scanning: \055 is '-'.
  EXPECT_EQ(copy_mask(m, p, "3\tx\t536\\05522-1234\n"), "3\t[patients.ssn]\t[US_SSN]\n");
  EXPECT_EQ(copy_mask(m, p, "1\t2\n", RowMasker::Outcome::kFailed), "") << "field count";
  CopyPlan any;  // COPY (query): detectors on every field
  EXPECT_EQ(copy_mask(m, any, "nothing\there\n", RowMasker::Outcome::kUnchanged), "");
}

TEST(PgMasking, CopyCsv) {
  RowMasker m;
  m.set_profile(profile());
  CopyPlan p;
  p.csv = true;
  p.delimiter = ',';
  p.null_string = "";
  p.rules = {-1, 0, -1};
  EXPECT_EQ(copy_mask(m, p, "1,536-22-1234,\"a, \"\"b\"\" 536-22-1234\"\n"),
            "1,[patients.ssn],\"a, \"\"b\"\" [US_SSN]\"\n");
  // Quoted newline inside a field; an unquoted empty field is NULL and stays so.
  EXPECT_EQ(copy_mask(m, p, "2,,\"line1\n536-22-1234\"\n"), "2,,\"line1\n[US_SSN]\"\n");
  EXPECT_EQ(copy_mask(m, p, "3,\"x,y\n", RowMasker::Outcome::kFailed), "") << "open quote";
  p.header = true;
  EXPECT_EQ(copy_mask(m, p, "id,ssn,note\n", RowMasker::Outcome::kUnchanged), "");
  // Custom quote/escape: '|' quote, '\' escape.
  CopyPlan q;
  q.csv = true;
  q.delimiter = ';';
  q.quote = '|';
  q.escape = '\\';
  q.null_string = "";
  EXPECT_EQ(copy_mask(m, q, "|a\\|;536-22-1234|;x\n"), "|a\\|;[US_SSN]|;x\n");
}

}  // namespace
}  // namespace phigate::proxy
