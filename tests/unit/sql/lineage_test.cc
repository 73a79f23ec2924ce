// Column lineage over a fake catalog: every evasion the issue names, plus the structural cases
// (CTEs, views, joins, set operations, VALUES, functions in FROM, COPY, EXPLAIN, RETURNING).
#include "sql/lineage.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sql/lineage_internal.h"

namespace phigate::sql {
namespace {

using Columns = std::vector<std::string>;

struct FakeCatalog {
  std::map<std::string, Columns> tables = {
      {"patients", {"id", "name", "ssn", "email", "dob", "mrn"}},
      {"clinic.patients", {"id", "name", "ssn", "email", "dob", "mrn"}},
      {"visits", {"id", "patient_id", "note", "visit_date"}},
      {"staff", {"id", "name", "email"}},
  };
  std::map<std::string, std::string> views = {
      {"patients_v", "SELECT id, ssn AS s, name FROM patients"},
      {"clean_v", "SELECT id, name FROM patients"},
      {"nested_v", "SELECT * FROM patients_v"},
      {"cyc1", "SELECT * FROM cyc2"},
      {"cyc2", "SELECT * FROM cyc1"},
      {"vv", "SELECT id, name AS nick FROM patients"},
      {"broken_v", "SELEC nope"},
  };
  int view_calls = 0;

  LineageCatalog catalog() {
    LineageCatalog c;
    c.is_masked = [](std::string_view schema, std::string_view table,
                     std::string_view column) -> std::optional<std::string> {
      if (column == "email") return "email";  // "*.email"
      if ((table == "patients" || table == "mystery") && (schema.empty() || schema == "clinic")) {
        if (column == "ssn") return "ssn";
        if (column == "dob") return "dob";
      }
      if (table == "vv" && column == "nick") return "nick_rule";
      return std::nullopt;
    };
    c.view_definition = [this](std::string_view schema,
                               std::string_view name) -> std::optional<std::string> {
      ++view_calls;
      auto it = views.find(schema.empty() ? std::string(name)
                                          : std::string(schema) + "." + std::string(name));
      if (it == views.end()) return std::nullopt;
      return it->second;
    };
    c.table_columns = [this](std::string_view schema,
                             std::string_view name) -> std::optional<Columns> {
      auto it = tables.find(schema.empty() ? std::string(name)
                                           : std::string(schema) + "." + std::string(name));
      if (it == tables.end()) return std::nullopt;
      return it->second;
    };
    return c;
  }
};

// "name=rule,rule!W!O ..." per output column; "UNANALYSABLE" when the library cannot tell;
// "NOROWS" for statements that return no rows.
std::string describe(const Lineage& l) {
  if (!l.unanalysable.empty()) return "UNANALYSABLE";
  if (!l.returns_rows) return "NOROWS";
  std::string s;
  for (const OutputColumn& c : l.columns) {
    if (!s.empty()) s += ' ';
    s += c.name + '=';
    if (c.masked.empty()) s += '-';
    for (size_t i = 0; i < c.masked.size(); ++i) s += (i ? "," : "") + c.masked[i];
    if (c.whole_row) s += "!W";
    if (c.opaque) s += "!O";
  }
  return s;
}

std::string lineage(std::string_view sql) {
  FakeCatalog fake;
  return describe(analyse_lineage(sql, fake.catalog()));
}

struct Case {
  const char* sql;
  const char* want;
};

// The evasions: each must come out derived from the masked column.
const Case kEvasions[] = {
    {"SELECT replace(ssn,'-','') FROM patients", "replace=ssn"},
    {"SELECT row_to_json(p) FROM patients p", "row_to_json=dob,email,ssn!W"},
    {"SELECT md5(ssn) FROM patients", "md5=ssn"},
    {"SELECT ssn::bigint FROM patients", "ssn=ssn"},
    {"SELECT CAST(ssn AS text) AS t FROM patients", "t=ssn"},
    {"SELECT substr(ssn, 1, 3) FROM patients", "substr=ssn"},
    {"SELECT string_agg(ssn, ',') FROM patients", "string_agg=ssn"},
    {"SELECT json_agg(p) FROM patients p", "json_agg=dob,email,ssn!W"},
    {"SELECT to_jsonb(p) ->> 'ssn' AS x FROM patients p", "x=dob,email,ssn!W"},
    {"SELECT id FROM visits UNION SELECT ssn FROM patients", "id=ssn"},
    {"SELECT name FROM staff INTERSECT SELECT ssn FROM patients", "name=ssn"},
    {"SELECT * FROM patients_v", "id=- s=ssn name=-"},
    {"SELECT s FROM nested_v", "s=ssn"},
    {"WITH x(a, b) AS (SELECT id, ssn FROM patients) SELECT b AS out, a FROM x", "out=ssn a=-"},
    {"SELECT q.z FROM (SELECT ssn AS z FROM patients) q", "z=ssn"},
    {"SELECT * FROM (SELECT ssn, name FROM patients) AS t(a)", "a=ssn name=-"},
    {"SELECT v.note, l.s FROM visits v, LATERAL (SELECT p.ssn AS s FROM patients p "
     "WHERE p.id = v.patient_id) l",
     "note=- s=ssn"},
    {"SELECT p FROM patients p", "p=dob,email,ssn!W"},
    {"SELECT ROW(id, ssn) FROM patients", "row=ssn!W"},
    {"SELECT json_build_array(p.*) FROM patients p", "json_build_array=dob,email,ssn!W"},
    {"SELECT 'x' || ssn AS c FROM patients", "c=ssn"},
    {"SELECT ssn = '536-22-1234' AS eq FROM patients", "eq=ssn"},
    {"SELECT translate(upper(lower(ssn)), '0123456789', 'abcdefghij') AS t FROM patients", "t=ssn"},
    {"SELECT array_to_string(array_agg(ssn), ',') AS a FROM patients", "a=ssn"},
    {"SELECT (SELECT ssn FROM patients p WHERE p.id = v.patient_id) AS s, v.note FROM visits v",
     "s=ssn note=-"},
    {"SELECT u FROM patients p, unnest(ARRAY[p.ssn]) u", "u=ssn!O"},
    {"WITH d AS (DELETE FROM patients RETURNING ssn) SELECT * FROM d", "ssn=ssn"},
    {"SELECT x FROM patients p JOIN LATERAL (SELECT p.ssn AS x) l ON true", "x=ssn"},
    {"SELECT (p).ssn FROM patients p", "ssn=ssn"},
    {"SELECT encode(digest(ssn, 'sha256'), 'hex') AS h FROM patients", "h=ssn"},
    {"SELECT p.ssn FROM clinic.patients p", "ssn=ssn"},
    {"SELECT clinic.patients.ssn FROM clinic.patients", "ssn=ssn"},
};

TEST(Lineage, Evasions) {
  for (const Case& c : kEvasions) EXPECT_EQ(lineage(c.sql), c.want) << c.sql;
}

const Case kStructure[] = {
    {"SELECT id, name, ssn FROM patients", "id=- name=- ssn=ssn"},
    {"SELECT 1", "?column?=-"},
    {"SELECT CASE WHEN id > 1 THEN ssn ELSE 'x' END AS c FROM patients", "c=ssn"},
    {"SELECT coalesce(email, name) FROM patients", "coalesce=email"},
    {"SELECT greatest(dob, now()) AS g FROM patients", "g=dob"},
    {"SELECT lag(ssn) OVER (ORDER BY id) FROM patients", "lag=ssn"},
    {"SELECT rank() OVER (ORDER BY ssn) AS r FROM patients", "r=-"},
    {"SELECT count(ssn), count(*) FROM patients", "count=- count=-"},
    {"SELECT max(dob) FROM patients GROUP BY name HAVING count(*) > 1", "max=dob"},
    {"SELECT my_func(name) FROM patients", "my_func=-!O"},
    {"SELECT my_func(ssn) FROM patients", "my_func=ssn!O"},
    {"SELECT evil.replace(name, 'a', 'b') FROM patients", "replace=-!O"},
    {"SELECT pg_catalog.upper(ssn) FROM patients", "upper=ssn"},
    {"SELECT * FROM patients p JOIN visits v USING (id)",
     "id=- name=- ssn=ssn email=email dob=dob mrn=- patient_id=- note=- visit_date=-"},
    {"SELECT * FROM patients NATURAL JOIN staff", "id=- name=- email=email ssn=ssn dob=dob mrn=-"},
    {"SELECT j.id, j.ssn FROM (patients JOIN visits USING (id)) AS j", "id=- ssn=ssn"},
    {"SELECT v.*, p.ssn FROM visits v JOIN patients p ON p.id = v.patient_id",
     "id=- patient_id=- note=- visit_date=- ssn=ssn"},
    {"SELECT email FROM patients, staff", "email=email"},
    {"SELECT * FROM (VALUES (1, 'a')) AS t(x, y)", "x=- y=-"},
    {"VALUES (1, 2)", "column1=- column2=-"},
    {"SELECT * FROM patients p, (VALUES (p.ssn)) AS t(x)",
     "id=- name=- ssn=ssn email=email dob=dob mrn=- x=ssn"},
    {"SELECT g FROM generate_series(1, 3) g", "g=-!O"},
    {"SELECT * FROM generate_series(1, 3)", "generate_series=-!O"},
    {"SELECT * FROM clean_v", "id=- name=-"},
    {"SELECT nick FROM vv", "nick=nick_rule"},
    {"WITH patients AS (SELECT name AS ssn FROM staff) SELECT ssn FROM patients", "ssn=-"},
    {"WITH RECURSIVE r(a) AS (SELECT ssn FROM patients UNION SELECT a FROM r) SELECT a FROM r",
     "a=ssn"},
    {"WITH RECURSIVE r(a, b) AS (SELECT name, ssn FROM patients UNION ALL SELECT b, a FROM r) "
     "SELECT a FROM r",
     "a=ssn"},
    {"WITH RECURSIVE c(x, n) AS (SELECT name, 1 FROM patients UNION ALL "
     "SELECT p.ssn, n + 1 FROM c, patients p WHERE n < 3) SELECT x, n FROM c",
     "x=ssn n=-"},
    {"WITH a AS (SELECT ssn FROM patients), b AS (SELECT ssn AS z FROM a) SELECT z FROM b",
     "z=ssn"},
    {"SELECT (SELECT v.note FROM visits v WHERE v.patient_id = p.id LIMIT 1), p.ssn "
     "FROM patients p",
     "note=- ssn=ssn"},
    {"SELECT ssn FROM mystery", "ssn=ssn"},
    {"SELECT m.name FROM mystery m", "name=-"},
    // "x" may be a column of mystery, or (it has none) patients.ssn renamed: both count.
    {"SELECT (SELECT x FROM mystery) AS y FROM (SELECT ssn AS x FROM patients) q", "y=ssn"},
    {"SELECT DISTINCT ON (name) ssn FROM patients ORDER BY name", "ssn=ssn"},
    {"SELECT id FROM patients WHERE ssn = '536-22-1234'", "id=-"},
    {"SELECT xmin, ctid FROM patients", "xmin=- ctid=-"},
    {"COPY (SELECT ssn FROM patients) TO STDOUT", "ssn=ssn"},
    {"COPY patients TO STDOUT", "id=- name=- ssn=ssn email=email dob=dob mrn=-"},
    {"COPY patients (id, ssn) TO STDOUT", "id=- ssn=ssn"},
    {"COPY patients FROM STDIN", "NOROWS"},
    {"EXPLAIN ANALYZE SELECT ssn FROM patients", "QUERY PLAN=-!O"},
    {"DECLARE c CURSOR FOR SELECT ssn FROM patients", "ssn=ssn"},
    {"UPDATE patients SET name = 'x' WHERE id = 1 RETURNING ssn", "ssn=ssn"},
    {"DELETE FROM visits v USING patients p WHERE p.id = v.patient_id RETURNING p.email",
     "email=email"},
    {"INSERT INTO visits (note) SELECT ssn FROM patients RETURNING *",
     "id=ssn patient_id=ssn note=ssn visit_date=ssn"},
    {"INSERT INTO visits (note) VALUES ('x') RETURNING note", "note=-"},
    {"INSERT INTO visits (id, note) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET note = "
     "(SELECT ssn FROM patients LIMIT 1) RETURNING note",
     "note=ssn"},
    {"UPDATE visits SET note = p.ssn FROM patients p WHERE p.id = visits.patient_id "
     "RETURNING visits.note",
     "note=ssn"},
    {"UPDATE visits SET note = (SELECT email FROM staff LIMIT 1) RETURNING id", "id=email"},
    {"INSERT INTO visits (note) VALUES ('x')", "NOROWS"},
    {"SHOW search_path", "search_path=-"},
    {"SET search_path TO public", "NOROWS"},
    {"CREATE TABLE leak AS SELECT ssn FROM patients", "NOROWS"},
    {"SELECT ssn INTO leak FROM patients", "NOROWS"},
    {"", "NOROWS"},
};

TEST(Lineage, Structure) {
  for (const Case& c : kStructure) EXPECT_EQ(lineage(c.sql), c.want) << c.sql;
}

TEST(Lineage, FailsClosedWithAReason) {
  for (const char* sql : {
           "SELECT * FROM mystery",               // * over unknown columns
           "SELECT m FROM mystery m",             // whole row of unknown columns
           "SELECT m.* FROM mystery m",           //
           "SELECT * FROM cyc1",                  // view cycle
           "SELECT * FROM broken_v",              // unparsable view definition
           "SELEC ssn FROM patients",             // parse error
           "SELECT 1; SELECT ssn FROM patients",  // several statements
           "FETCH 10 FROM c",                     // cursor defined elsewhere
           "EXECUTE q(1)",                        // prepared elsewhere
           "CALL proc()",                         //
           "SELECT nope.* FROM patients",         // no such relation
           "EXPLAIN SELECT * FROM mystery",       // inner query reported
       }) {
    FakeCatalog fake;
    Lineage l =
        analyse_lineage(std::string_view(sql, std::char_traits<char>::length(sql) +
                                                  (std::string_view(sql).find("\\0") ? 0 : 0)),
                        fake.catalog());
    EXPECT_FALSE(l.unanalysable.empty()) << sql;
  }
  FakeCatalog fake;
  std::string nul("SELECT 1\0 ; DROP TABLE x", 24);
  EXPECT_FALSE(analyse_lineage(nul, fake.catalog()).unanalysable.empty());
  Lineage cyc = analyse_lineage("SELECT * FROM cyc1", fake.catalog());
  EXPECT_NE(cyc.unanalysable.find("cyc"), std::string::npos) << cyc.unanalysable;
}

TEST(Lineage, DeepViewNestingIsBounded) {
  FakeCatalog fake;
  for (int i = 0; i < 40; ++i)
    fake.views["v" + std::to_string(i)] = "SELECT * FROM v" + std::to_string(i + 1);
  fake.views["v40"] = "SELECT ssn FROM patients";
  Lineage l = analyse_lineage("SELECT * FROM v0", fake.catalog());
  EXPECT_NE(l.unanalysable.find("nested"), std::string::npos) << l.unanalysable;
  Lineage ok = analyse_lineage("SELECT * FROM v30", fake.catalog());
  EXPECT_EQ(describe(ok), "ssn=ssn");
}

TEST(Lineage, PathologicalNestingFailsClosedWithoutExhaustingTheStack) {
  FakeCatalog fake;
  std::string joins = "SELECT * FROM patients p0";
  for (int i = 1; i < 3000; ++i) joins += " JOIN patients p" + std::to_string(i) + " USING (id)";
  EXPECT_NE(analyse_lineage(joins, fake.catalog()).unanalysable.find("deep"), std::string::npos);
  // A long but ordinary concatenation chain is analysed.
  std::string concat = "SELECT name";
  for (int i = 0; i < 300; ++i) concat += " || ','";
  concat += " || ssn AS c FROM patients";
  EXPECT_EQ(describe(analyse_lineage(concat, fake.catalog())), "c=ssn");
}

TEST(Lineage, SourcesNameTheMaskedColumns) {
  FakeCatalog fake;
  Lineage l = analyse_lineage(
      "SELECT concat(p.ssn, s.email) AS c FROM patients p, clinic.patients q, staff s",
      fake.catalog());
  ASSERT_EQ(l.columns.size(), 1u);
  EXPECT_EQ(l.columns[0].sources, (std::vector<std::string>{".patients.ssn", ".staff.email"}));
  EXPECT_TRUE(l.any_masked());
  EXPECT_FALSE(l.any_whole_row());
}

TEST(Lineage, CacheKeyedByGeneration) {
  FakeCatalog fake;
  LineageCatalog cat = fake.catalog();
  auto a = analyse_lineage_cached("SELECT * FROM patients_v", 1, cat);
  int calls = fake.view_calls;
  auto b = analyse_lineage_cached("SELECT * FROM patients_v", 1, cat);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(fake.view_calls, calls);  // a hit asks the catalog nothing
  fake.views["patients_v"] = "SELECT id, name AS s, name FROM patients";
  auto c = analyse_lineage_cached("SELECT * FROM patients_v", 2, cat);
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(describe(*c), "id=- s=- name=-");
  EXPECT_EQ(describe(*analyse_lineage_cached("SELECT * FROM patients_v", 1, cat)),
            "id=- s=ssn name=-");
}

TEST(Lineage, MissingCallbacksAreConservative) {
  LineageCatalog none;  // no callbacks at all: nothing is known, nothing is masked
  EXPECT_EQ(describe(analyse_lineage("SELECT ssn FROM patients", none)), "ssn=-");
  EXPECT_FALSE(analyse_lineage("SELECT * FROM patients", none).unanalysable.empty());
}

}  // namespace
}  // namespace phigate::sql
