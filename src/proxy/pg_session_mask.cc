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
  // Lineage plugs in here: a whole-row reference over a table with masked columns and
  // `on_whole_row: refuse` turns the verdict into a refusal, before the statement runs.
  return profile;
}

void PgSession::attach_masking(StmtRecord& rec, std::shared_ptr<const mask::MaskProfile> mask,
                               std::shared_ptr<const sql::Classification> cls) {
  rec.mask = std::move(mask);
  if (cls) {
    for (const sql::Statement& st : cls->statements)
      if (st.kind == sql::Kind::kDdl) rec.ddl = true;
  }
  rec.sql = std::move(cls);
}

void PgSession::describe_for_masking(std::string_view portal, const StmtRecord& rec) {
  if (!rec.mask) return;
  pg::encode_describe(to_server_, 'P', portal);
  Pending p('d');
  p.mask = rec.mask;
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
    return false;
  }
  if (!head.rec) return false;
  auto copy = nth_copy(head.rec->sql.get(), head.rec->copies);
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
        plan_ = build_plan(*m, *rd, names);
        // The cache moved between lookup and plan (a reload or DDL on this thread): fail closed.
        if (missing) return mask_abort("58000", "catalog changed"), MaskStep::kAbort;
        plan_valid_ = true;
        masker_.set_profile(m);
      }
      if (!ours) return MaskStep::kContinue;
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
      // COPY tbl [(cols)]: column rules by name. COPY (query): detectors only until lineage.
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
