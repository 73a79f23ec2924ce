// Masking in the PostgreSQL session adapter (DESIGN.md §4 `masking`): which profile a statement
// runs under, the per-result-set column plan (RowDescription + catalog; lineage plugs in at
// build_plan), and the rewriting of DataRow, CopyData, ErrorResponse and NoticeResponse on their
// way to the client. Anything that cannot be masked ends the session with an error: never
// forwarded.
#include <spdlog/spdlog.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "proxy/pg_catalog.h"
#include "proxy/pg_session.h"
#include "sql/copy_options.h"
#include "sql/lineage.h"

namespace phigate::proxy {

namespace {

bool mentions_copy(std::string_view text) {
  for (size_t i = 0; i + 4 <= text.size(); ++i) {
    if ((text[i] | 0x20) == 'c' && (text[i + 1] | 0x20) == 'o' && (text[i + 2] | 0x20) == 'p' &&
        (text[i + 3] | 0x20) == 'y')
      return true;
  }
  return false;
}

// The n-th COPY ... TO STDOUT of the statement's text (a query string may hold several).
std::optional<sql::CopyOptions> nth_copy(const sql::Classification* cls, size_t n) {
  if (!cls) return std::nullopt;
  for (const sql::Statement& st : cls->statements) {
    if (!mentions_copy(st.text)) continue;
    auto o = sql::copy_options(st.text);
    if (!o || !o->to_stdout) continue;
    if (n-- == 0) return o;
  }
  return std::nullopt;
}

std::shared_ptr<PgCatalog> catalog_for(const GatewayContext& ctx, const std::string& resource) {
  auto snap = ctx.policy->get();
  const ResourceConfig* res = snap->config().find_resource(resource);
  if (!res) return nullptr;
  return PgCatalog::for_thread(*res, snap->version());
}

using RelList = std::vector<std::pair<std::string, std::string>>;

// The lineage of one statement text under `m`, answered from the catalog cache only (decide time
// and frame handling cannot wait). Null when some relation is not cached yet: `missing` then
// lists what to fetch (views expand into further relations, so callers fetch and ask again).
std::shared_ptr<const sql::Lineage> lineage_of(const mask::MaskProfile& m, PgCatalog& cat,
                                               uint64_t policy_version, std::string_view text,
                                               RelList* missing) {
  bool miss = false;
  auto info = [&](std::string_view schema, std::string_view name) {
    const PgCatalog::RelInfo* r = cat.relation_info(schema, name);
    if (!r) {
      miss = true;
      if (missing) missing->emplace_back(std::string(schema), std::string(name));
    }
    return r;
  };
  sql::LineageCatalog lc;
  lc.is_masked = [&](std::string_view schema, std::string_view table,
                     std::string_view column) -> std::optional<std::string> {
    // An unqualified table matches globs naming its schema too: resolve it as the view
    // definitions and table lists were resolved (the catalog connection's search_path).
    std::string_view sch = schema;
    if (sch.empty()) {
      const PgCatalog::RelInfo* r = cat.relation_info("", table);
      if (r && r->exists) sch = r->schema;
    }
    int rule = m.match_column(sch, table, column);
    if (rule < 0) return std::nullopt;
    return m.rule_glob(static_cast<size_t>(rule));
  };
  lc.view_definition = [&](std::string_view schema,
                           std::string_view name) -> std::optional<std::string> {
    const PgCatalog::RelInfo* r = info(schema, name);
    if (!r || !r->exists) return std::nullopt;
    return r->definition;
  };
  lc.table_columns = [&](std::string_view schema,
                         std::string_view name) -> std::optional<std::vector<std::string>> {
    const PgCatalog::RelInfo* r = info(schema, name);
    if (!r || !r->exists) return std::nullopt;
    return r->columns;
  };
  // The answers depend on the catalog's contents, the policy and the profile (is_masked).
  uint64_t gen = cat.generation();
  gen = gen * 0x9E3779B97F4A7C15ULL ^ policy_version;
  gen = gen * 0x9E3779B97F4A7C15ULL ^ std::hash<std::string>{}(m.name());
  auto l = sql::analyse_lineage_cached(text, gen, lc);
  if (!miss) return l;
  // The cache now holds an answer made without those relations: move past that generation.
  cat.bump_generation();
  return nullptr;
}

// Stand-in lineage of a result phigate cannot attribute to a statement: build_plan then masks
// every column with the strictest rule.
std::shared_ptr<const sql::Lineage> blind_lineage(std::string why) {
  auto l = std::make_shared<sql::Lineage>();
  l->returns_rows = true;
  l->unanalysable = std::move(why);
  return l;
}

bool may_return_rows_unseen(sql::Kind k) {
  return k == sql::Kind::kShow || k == sql::Kind::kCall || k == sql::Kind::kOther ||
         k == sql::Kind::kExecute || k == sql::Kind::kFetch;
}

using CursorQueries = std::unordered_map<std::string, std::string>;

// Lineage of the `n`-th RowDescription of a statement string (COPY excluded: it sends none).
// Statements whose rows lineage cannot see (SHOW, CALL, ...) take a place with a blind lineage,
// so a later result is never planned with another statement's lineage.
std::shared_ptr<const sql::Lineage> nth_result_lineage(const mask::MaskProfile& m, PgCatalog& cat,
                                                       uint64_t policy_version,
                                                       const sql::Classification* cls, size_t n,
                                                       RelList* missing,
                                                       const CursorQueries* cursors) {
  if (!cls) return blind_lineage("statement unknown");
  bool incomplete = false;
  std::shared_ptr<const sql::Lineage> found;
  size_t i = 0;
  for (const sql::Statement& st : cls->statements) {
    if (st.kind == sql::Kind::kCopyTo) continue;
    std::string_view text = st.text;
    if (st.kind == sql::Kind::kFetch && cursors) {
      // FETCH returns rows of the cursor's query; MOVE returns none but cannot be told apart
      // here, so it takes a place too (a later result is then planned blind, never wrongly).
      auto it = cursors->find(st.cursor_name);
      if (it != cursors->end()) text = it->second;
    }
    auto l = lineage_of(m, cat, policy_version, text, missing);
    if (!l) {
      incomplete = true;
      if (i++ == n) found = blind_lineage("catalog not cached");
      continue;
    }
    if (!l->returns_rows && l->unanalysable.empty()) {
      if (!may_return_rows_unseen(st.kind)) continue;
      l = blind_lineage("statement kind without lineage");
    }
    if (i++ == n) found = l;
  }
  if (incomplete && missing) return nullptr;
  return found ? found : blind_lineage("more results than statements");
}

// The statement text of the n-th COPY ... TO STDOUT.
const sql::Statement* nth_copy_statement(const sql::Classification* cls, size_t n) {
  if (!cls) return nullptr;
  for (const sql::Statement& st : cls->statements) {
    if (!mentions_copy(st.text)) continue;
    auto o = sql::copy_options(st.text);
    if (!o || !o->to_stdout) continue;
    if (n-- == 0) return &st;
  }
  return nullptr;
}

// A whole-row reference over masked columns under `on_whole_row: refuse`: the refusal text.
std::optional<std::string> whole_row_refusal(const mask::MaskProfile& m, const sql::Lineage& l) {
  if (m.on_whole_row() != mask::WholeRow::kRefuse) return std::nullopt;
  for (const sql::OutputColumn& c : l.columns) {
    if (!c.whole_row || c.masked.empty()) continue;
    std::string src;
    if (!c.sources.empty()) {
      std::string_view name = c.sources.front();
      if (name.starts_with('.')) name.remove_prefix(1);  // unqualified: no schema to show
      src = " " + std::string(name);
    }
    return "a whole-row reference in output column \"" + c.name + "\" embeds masked column" + src +
           " (rule \"" + c.masked.front() + "\" of masking profile \"" + m.name() +
           "\", on_whole_row: refuse); select the columns you need instead";
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const mask::MaskProfile> PgSession::decide_masking(
    Verdict& v, const sql::Classification* cls) const {
  if (v.kind != VerdictKind::kAllow) return nullptr;
  auto profile = ctx_.policy->get()->masking_for(identity_, resource_, v.role);
  if (!profile || !cls) return profile;
  // Binary COPY rows carry no type information to mask by: refused before anything runs.
  for (size_t i = 0;; ++i) {
    auto copy = nth_copy(cls, i);
    if (!copy) break;
    if (copy->binary) {
      std::string role = v.role;
      v = Verdict::deny("masking", "binary COPY cannot be masked (masking profile \"" +
                                       profile->name() + "\"); use FORMAT text or csv");
      v.role = role;
      return nullptr;
    }
  }
  // A whole-row reference over a table with masked columns and `on_whole_row: refuse` turns the
  // verdict into a refusal before the statement runs — when the catalog cache can answer now.
  // Otherwise the statement is forwarded and the same check runs on its RowDescription, after the
  // lookup (mask_lookup): the result is then refused with the session (nothing is sent).
  if (profile->rule_count() == 0) return profile;
  auto cat = catalog_for(ctx_, resource_);
  if (!cat) return profile;  // planning fails closed on the result
  const uint64_t version = ctx_.policy->get()->version();
  for (const sql::Statement& st : cls->statements) {
    auto l = lineage_of(*profile, *cat, version, st.text, nullptr);
    if (!l) continue;
    if (auto why = whole_row_refusal(*profile, *l)) {
      std::string role = v.role;
      v = Verdict::deny("masking", *why);
      v.role = role;
      return nullptr;
    }
  }
  return profile;
}

void PgSession::attach_masking(StmtRecord& rec, std::shared_ptr<const mask::MaskProfile> mask,
                               std::shared_ptr<const sql::Classification> cls) {
  rec.mask = std::move(mask);
  if (cls) {
    for (const sql::Statement& st : cls->statements) {
      if (st.kind == sql::Kind::kDdl) rec.ddl = true;
      // Only a DECLARE that runs under masking is remembered: a denied one never replaces the
      // query of a live cursor of the same name. Forgetting is always safe (blind = all masked).
      if (st.declares_cursor && rec.mask) {
        if (cursor_queries_.size() < 1000 || cursor_queries_.count(st.cursor_name))
          cursor_queries_[st.cursor_name] = st.text;
      } else if (st.declares_cursor || (st.kind == sql::Kind::kClose && !st.cursor_name.empty())) {
        cursor_queries_.erase(st.cursor_name);
      } else if (st.kind == sql::Kind::kClose || st.kind == sql::Kind::kDiscard) {
        cursor_queries_.clear();
      }
    }
  }
  rec.sql = std::move(cls);
}

void PgSession::describe_for_masking(std::string_view portal, const StmtRecord& rec) {
  if (!rec.mask) return;
  pg::encode_describe(to_server_, 'P', portal);
  Pending p('d');
  p.mask = rec.mask;
  p.sql = rec.sql;
  pending_.push_back(std::move(p));
}

const std::shared_ptr<const mask::MaskProfile>& PgSession::head_mask() const {
  static const std::shared_ptr<const mask::MaskProfile> none;
  if (pending_.empty()) return none;
  const Pending& head = pending_.front();
  if (head.kind == 'd') return head.mask;
  return head.rec ? head.rec->mask : none;
}

void PgSession::mask_abort(const char* sqlstate, const std::string& why) {
  mask_aborted_ = true;
  fatal_sqlstate_ = sqlstate;
  fatal_message_ = "phigate could not mask this result (" + why +
                   "); the session is closed so that nothing unmasked is sent";
  spdlog::warn("session {}: masking refused a result: {}", session_id_, why);
}

bool PgSession::mask_needs_lookup(const pg::Frame& f) {
  if (f.type != 'T' && f.type != 'H') return false;
  const auto& m = head_mask();
  if (!m || m->rule_count() == 0) return false;
  const Pending& head = pending_.front();
  auto cat = catalog_for(ctx_, resource_);
  if (!cat) return false;  // resource gone from the policy: planning fails closed below
  if (f.type == 'T') {
    if (head.kind != 'Q' && head.kind != 'd') return false;
    auto rd = pg::parse_row_description(f.body);
    if (!rd) return false;  // the frame handler refuses it
    for (const auto& field : rd->fields)
      if (field.table_oid != 0 && !cat->has(field.table_oid)) return true;
    RelList missing;
    nth_result_lineage(*m, *cat, ctx_.policy->get()->version(),
                       (head.kind == 'd' ? head.sql.get()
                        : head.rec       ? head.rec->sql.get()
                                         : nullptr),
                       head.kind == 'd' ? 0 : (head.rec ? head.rec->results : 0), &missing,
                       &cursor_queries_);
    return !missing.empty();
  }
  if (!head.rec) return false;
  auto copy = nth_copy(head.rec->sql.get(), head.rec->copies);
  if (copy && copy->relation.empty()) {
    const sql::Statement* st = nth_copy_statement(head.rec->sql.get(), head.rec->copies);
    RelList missing;
    if (st) lineage_of(*m, *cat, ctx_.policy->get()->version(), st->text, &missing);
    return !missing.empty();
  }
  return copy && !copy->relation.empty() && !cat->relation(copy->relation);
}

net::awaitable<bool> PgSession::mask_lookup(ByteSpan buffered) {
  auto d = pg::decode_frame(buffered, pg::kDefaultMaxBackendLen);
  if (d.status != pg::DecodeStatus::kMessage) co_return true;  // re-read; the loop decides
  auto cat = catalog_for(ctx_, resource_);
  if (!cat) {
    mask_abort("42501", "the resource is no longer configured");
    co_return false;
  }
  Status st = ok_status();
  std::shared_ptr<const mask::MaskProfile> m = head_mask();
  if (d.message.type == 'T') {
    auto rd = pg::parse_row_description(d.message.body);
    std::vector<uint32_t> oids;
    if (rd)
      for (const auto& field : rd->fields)
        if (field.table_oid != 0) oids.push_back(field.table_oid);
    st = co_await cat->fetch(std::move(oids));
  } else if (!pending_.empty() && pending_.front().rec) {
    const StmtRecord& rec = *pending_.front().rec;
    auto copy = nth_copy(rec.sql.get(), rec.copies);
    if (copy && !copy->relation.empty()) {
      auto oid = co_await cat->resolve(copy->relation);
      if (!oid) st = oid.error();
    }
  }
  // The relations lineage needs (views expand into more: a few rounds). Whatever is still missing
  // after them plans the result blind (every column masked), never unmasked.
  for (int round = 0; st && m && round < 8 && !pending_.empty(); ++round) {
    const Pending& head = pending_.front();
    const uint64_t version = ctx_.policy->get()->version();
    RelList missing;
    if (d.message.type == 'T') {
      nth_result_lineage(*m, *cat, version,
                         (head.kind == 'd' ? head.sql.get()
                          : head.rec       ? head.rec->sql.get()
                                           : nullptr),
                         head.kind == 'd' ? 0 : (head.rec ? head.rec->results : 0), &missing,
                         &cursor_queries_);
    } else if (head.rec) {
      const sql::Statement* cs = nth_copy_statement(head.rec->sql.get(), head.rec->copies);
      if (cs) lineage_of(*m, *cat, version, cs->text, &missing);
    }
    if (missing.empty()) break;
    st = co_await cat->fetch_relations(std::move(missing));
  }
  if (!st) {
    mask_abort("58000", "cannot resolve result columns: " + st.error().message);
    co_return false;
  }
  co_return true;
}

PgSession::MaskStep PgSession::mask_server_frame(const pg::Frame& f, Bytes& replacement,
                                                 bool& replace) {
  Pending* head = pending_.empty() ? nullptr : &pending_.front();
  auto outcome = [&](RowMasker::Outcome o) {
    switch (o) {
      case RowMasker::Outcome::kUnchanged:
        return MaskStep::kContinue;
      case RowMasker::Outcome::kRewritten:
        replace = true;
        return MaskStep::kContinue;
      case RowMasker::Outcome::kRefused:
        mask_abort("42501", masker_.reason());
        return MaskStep::kAbort;
      case RowMasker::Outcome::kFailed:
        break;
    }
    mask_abort("58000", masker_.reason());
    return MaskStep::kAbort;
  };
  switch (f.type) {
    case 'T': {  // RowDescription: the plan of the rows that follow (§55.7)
      if (!head || (head->kind != 'Q' && head->kind != 'd')) return MaskStep::kContinue;
      const bool ours = head->kind == 'd';
      std::shared_ptr<const mask::MaskProfile> m = head_mask();
      plan_valid_ = false;
      if (m) {
        auto rd = pg::parse_row_description(f.body);
        if (!rd) return mask_abort("08P01", "malformed RowDescription"), MaskStep::kAbort;
        std::shared_ptr<PgCatalog> cat;
        if (m->rule_count() > 0) cat = catalog_for(ctx_, resource_);
        if (m->rule_count() > 0 && !cat)
          return mask_abort("42501", "the resource is no longer configured"), MaskStep::kAbort;
        bool missing = false;
        ColumnNamer names = [&](uint32_t oid, int16_t att) -> std::optional<ColumnName> {
          if (!cat->has(oid)) {
            missing = true;
            return std::nullopt;
          }
          return cat->name(oid, att);
        };
        std::shared_ptr<const sql::Lineage> lineage;
        if (m->rule_count() > 0) {
          const size_t n = ours ? 0 : (head->rec ? head->rec->results : 0);
          const sql::Classification* cls = ours        ? head->sql.get()
                                           : head->rec ? head->rec->sql.get()
                                                       : nullptr;
          lineage = nth_result_lineage(*m, *cat, ctx_.policy->get()->version(), cls, n, nullptr,
                                       &cursor_queries_);
          // Forwarded before the cache could answer at decide time: refused now, with the session
          // (the rows are never sent).
          if (auto why = whole_row_refusal(*m, *lineage))
            return mask_abort("42501", *why), MaskStep::kAbort;
        }
        plan_ = build_plan(*m, *rd, names, lineage.get());
        // The cache moved between lookup and plan (a reload or DDL on this thread): fail closed.
        if (missing) return mask_abort("58000", "catalog changed"), MaskStep::kAbort;
        plan_valid_ = true;
        masker_.set_profile(m);
      }
      if (!ours) {
        if (head->rec) ++head->rec->results;
        return MaskStep::kContinue;
      }
      pending_.pop_front();
      replace = true;  // the client did not ask for this description
      return MaskStep::kConsumed;
    }
    case 'n':  // NoData
      if (head && head->kind == 'd') {
        pending_.pop_front();
        plan_valid_ = false;
        replace = true;
        return MaskStep::kConsumed;
      }
      return MaskStep::kContinue;
    case 'D': {  // DataRow
      const auto& m = head_mask();
      if (!m) return MaskStep::kContinue;
      if (!plan_valid_) return mask_abort("58000", "rows without a description"), MaskStep::kAbort;
      return outcome(masker_.data_row(plan_, f.body, replacement));
    }
    case 'H': {  // CopyOutResponse: COPY TO STDOUT begins
      const auto& m = head_mask();
      if (!m) return MaskStep::kContinue;
      auto cr = pg::parse_copy_response(f.body);
      if (!cr || cr->format != 0)
        return mask_abort("42501", "binary COPY cannot be masked"), MaskStep::kAbort;
      StmtRecord& rec = *head->rec;
      const sql::Statement* copy_st = nth_copy_statement(rec.sql.get(), rec.copies);
      auto copy = nth_copy(rec.sql.get(), rec.copies++);
      copy_plan_ = CopyPlan{};
      if (copy) {
        copy_plan_.csv = copy->csv;
        copy_plan_.delimiter = copy->delimiter;
        copy_plan_.quote = copy->quote;
        copy_plan_.escape = copy->escape;
        copy_plan_.null_string = copy->null_string;
        copy_plan_.header = copy->header && copy->csv;
      }
      // COPY (query): every field's rules from lineage; unanalysable, or not one lineage column
      // per field, masks every field with the strictest rule (CopyOutResponse says how many).
      if (m->rule_count() > 0 && (!copy || copy->relation.empty())) {
        auto cat = catalog_for(ctx_, resource_);
        if (!cat)
          return mask_abort("42501", "the resource is no longer configured"), MaskStep::kAbort;
        std::shared_ptr<const sql::Lineage> l =
            copy_st ? lineage_of(*m, *cat, ctx_.policy->get()->version(), copy_st->text, nullptr)
                    : nullptr;
        if (!l) l = blind_lineage("COPY statement not analysed");
        if (auto why = whole_row_refusal(*m, *l))
          return mask_abort("42501", *why), MaskStep::kAbort;
        const bool blind =
            !l->unanalysable.empty() || l->columns.size() != cr->column_formats.size();
        for (size_t i = 0; i < cr->column_formats.size(); ++i)
          copy_plan_.rules.push_back(blind ? strictest_rule(*m)
                                           : strictest_rule(*m, l->columns[i].masked));
      }
      // COPY tbl [(cols)]: column rules by name.
      if (copy && !copy->relation.empty() && m->rule_count() > 0) {
        auto cat = catalog_for(ctx_, resource_);
        auto oid = cat ? cat->relation(copy->relation) : std::nullopt;
        if (!oid) return mask_abort("58000", "catalog changed"), MaskStep::kAbort;
        std::vector<int16_t> atts;
        if (copy->columns.empty()) {
          atts = cat->live_columns(*oid);
        } else {
          for (const std::string& c : copy->columns) atts.push_back(cat->attnum(*oid, c));
        }
        for (int16_t a : atts) {
          auto n = cat->name(*oid, a);
          copy_plan_.rules.push_back(n ? m->match_column(n->schema, n->table, n->column) : -1);
        }
      }
      copy_active_ = true;
      masker_.set_profile(m);
      return MaskStep::kContinue;
    }
    case 'W':  // CopyBothResponse (replication): nothing phigate could mask
      if (head_mask()) return mask_abort("42501", "COPY BOTH cannot be masked"), MaskStep::kAbort;
      return MaskStep::kContinue;
    case 'd':  // CopyData
      if (!copy_active_) return MaskStep::kContinue;
      {
        MaskStep step = outcome(masker_.copy_row(copy_plan_, f.body, replacement));
        copy_plan_.header = false;
        return step;
      }
    case 'c':  // CopyDone
      copy_active_ = false;
      return MaskStep::kContinue;
    case 'E':
    case 'N': {  // ErrorResponse / NoticeResponse: DETAIL etc. can carry values (§55.8)
      if (f.type == 'E') plan_valid_ = copy_active_ = false;
      // phigate's own denial replaces the marker's error wholesale.
      if (f.type == 'E' && head && !head->deny_message.empty()) return MaskStep::kContinue;
      std::shared_ptr<const mask::MaskProfile> m = head_mask();
      if (!m) m = ctx_.policy->get()->masking_for(identity_, resource_, {});
      if (!m) return MaskStep::kContinue;
      masker_.set_profile(std::move(m));
      return outcome(masker_.error_fields(f.type, f.body, replacement));
    }
    case 'C':  // CommandComplete
      if (head && head->rec && head->rec->ddl) PgCatalog::invalidate_all();
      [[fallthrough]];
    case 'I':
    case 's':
    case 'Z':
      plan_valid_ = copy_active_ = false;
      return MaskStep::kContinue;
    default:
      return MaskStep::kContinue;
  }
}

}  // namespace phigate::proxy
