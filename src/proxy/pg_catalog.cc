#include "proxy/pg_catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "net/server.h"
#include "sql/quote.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {

std::atomic<uint64_t> g_ddl_epoch{1};
std::atomic<uint64_t> g_generation{1};

uint64_t next_generation() { return g_generation.fetch_add(1, std::memory_order_relaxed); }

std::string rel_key(std::string_view schema, std::string_view name) {
  std::string k(schema);
  k.push_back('\0');
  k.append(name);
  return k;
}

constexpr auto kQueryTimeout = std::chrono::seconds(10);

bool same_upstream(const ResourceConfig& a, const ResourceConfig& b) {
  return a.upstream == b.upstream && a.database == b.database && a.upstream_tls == b.upstream_tls &&
         a.upstream_ca == b.upstream_ca && a.credentials.username == b.credentials.username &&
         a.credentials.password_env == b.credentials.password_env &&
         a.credentials.password_file == b.credentials.password_file;
}

upstream::PgTarget target_of(const ResourceConfig& res) {
  upstream::PgTarget t;
  auto hp = net::split_host_port(res.upstream);
  t.host = hp ? hp->first : res.upstream;
  t.port = hp ? hp->second : 5432;
  t.database = res.database;
  t.user = res.credentials.username;
  t.tls_mode = res.upstream_tls;
  t.ca_file = res.upstream_ca;
  t.options.emplace_back("application_name", "phigate-catalog");
  return t;
}

}  // namespace

std::shared_ptr<PgCatalog> PgCatalog::for_thread(const ResourceConfig& res,
                                                 uint64_t policy_version) {
  thread_local std::unordered_map<std::string, std::shared_ptr<PgCatalog>> catalogs;
  auto& slot = catalogs[res.name];
  if (!slot || !same_upstream(slot->res_, res)) {
    slot = std::make_shared<PgCatalog>(target_of(res), res);
    slot->clear();  // a generation of its own
  }
  uint64_t epoch = g_ddl_epoch.load(std::memory_order_acquire);
  if (slot->policy_version_ != policy_version || slot->ddl_epoch_ != epoch) {
    slot->clear();
    slot->policy_version_ = policy_version;
    slot->ddl_epoch_ = epoch;
  }
  return slot;
}

void PgCatalog::clear() {
  tables_.clear();
  relations_.clear();
  rel_info_.clear();
  generation_ = next_generation();
}

void PgCatalog::bump_generation() { generation_ = next_generation(); }

void PgCatalog::invalidate_all() { g_ddl_epoch.fetch_add(1, std::memory_order_acq_rel); }

std::optional<ColumnName> PgCatalog::name(uint32_t table_oid, int16_t attnum) const {
  auto it = tables_.find(table_oid);
  if (it == tables_.end() || attnum < 1) return std::nullopt;
  const Table& t = it->second;
  auto i = static_cast<size_t>(attnum - 1);
  if (i >= t.columns.size() || t.columns[i].empty()) return std::nullopt;
  return ColumnName{t.schema, t.name, t.columns[i]};
}

std::optional<uint32_t> PgCatalog::relation(const std::string& name) const {
  auto it = relations_.find(name);
  if (it == relations_.end()) return std::nullopt;
  // Its columns must still be cached too (a fetch may have started the cache over).
  if (it->second != 0 && !has(it->second)) return std::nullopt;
  return it->second;
}

int16_t PgCatalog::attnum(uint32_t table_oid, std::string_view column) const {
  auto it = tables_.find(table_oid);
  if (it == tables_.end()) return 0;
  for (size_t i = 0; i < it->second.columns.size(); ++i)
    if (it->second.columns[i] == column) return static_cast<int16_t>(i + 1);
  return 0;
}

std::vector<int16_t> PgCatalog::live_columns(uint32_t table_oid) const {
  std::vector<int16_t> out;
  auto it = tables_.find(table_oid);
  if (it == tables_.end()) return out;
  for (size_t i = 0; i < it->second.columns.size(); ++i)
    if (!it->second.columns[i].empty()) out.push_back(static_cast<int16_t>(i + 1));
  return out;
}

awaitable<Status> PgCatalog::ensure_connected() {
  if (conn_) co_return ok_status();
  inbuf_.clear();
  auto secret =
      upstream::read_secret(res_.credentials.password_env, res_.credentials.password_file);
  if (!secret) co_return secret.error();
  upstream::PgTarget t = target_;
  t.password = std::move(secret.value());
  auto ex = co_await asio::this_coro::executor;
  auto conn = co_await upstream::connect_pg(ex, std::move(t));
  if (!conn) co_return conn.error();
  conn_ = std::move(conn->stream);
  inbuf_ = std::move(conn->leftover);
  co_return ok_status();
}

awaitable<Result<std::vector<PgCatalog::Row>>> PgCatalog::query(std::string sql) {
  // Keeps this catalog alive while a session waits on it, even if the thread's map replaces it.
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  while (busy_) {
    asio::steady_timer wait(ex, asio::steady_timer::time_point::max());
    waiters_.push_back(&wait);
    error_code ec;
    co_await wait.async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
  busy_ = true;
  auto result = co_await query_locked(sql);
  busy_ = false;
  if (!waiters_.empty()) {
    waiters_.front()->cancel();
    waiters_.pop_front();
  }
  co_return result;
}

awaitable<Result<std::vector<PgCatalog::Row>>> PgCatalog::query_locked(const std::string& sql) {
  auto connected = co_await ensure_connected();
  if (!connected) co_return connected.error();
  // A catalog query that hangs must not hang the sessions waiting on it: the watchdog closes the
  // connection, the read fails, and they fail closed.
  auto ex = co_await asio::this_coro::executor;
  auto watchdog = std::make_shared<asio::steady_timer>(ex, kQueryTimeout);
  net::Stream* stream = conn_.get();
  watchdog->async_wait([stream](const error_code& ec) {
    if (!ec) stream->close();
  });
  Bytes out;
  pg::encode_query(out, sql);
  error_code ec;
  co_await conn_->write_all(asio::buffer(out), ec);
  std::vector<Row> rows;
  std::string error;
  bool done = false;
  size_t used = 0;
  while (!ec && !done) {
    auto d = pg::decode_frame(ByteSpan(inbuf_).subspan(used), pg::kDefaultMaxBackendLen);
    if (d.status == pg::DecodeStatus::kError) {
      error = "malformed catalog reply";
      break;
    }
    if (d.status == pg::DecodeStatus::kNeedMore) {
      inbuf_.erase(inbuf_.begin(), inbuf_.begin() + static_cast<long>(used));
      used = 0;
      size_t old = inbuf_.size();
      inbuf_.resize(old + 16384);
      size_t n = co_await conn_->read_some(asio::buffer(inbuf_.data() + old, 16384), ec);
      inbuf_.resize(old + n);
      continue;
    }
    used += d.message.total;
    switch (d.message.type) {
      case 'D': {
        auto row = pg::parse_data_row(d.message.body);
        if (!row) {
          error = "malformed catalog row";
          break;
        }
        Row r;
        for (const pg::BindParam& v : row->columns)
          r.push_back(v.is_null ? std::nullopt : std::optional<std::string>(as_sv(v.value)));
        rows.push_back(std::move(r));
        break;
      }
      case 'E': {
        auto f = pg::parse_error_fields(d.message.body);
        error = f ? std::string(f->message()) : "catalog query failed";
        break;
      }
      case 'Z':
        done = true;
        break;
      default:
        break;
    }
  }
  inbuf_.erase(inbuf_.begin(), inbuf_.begin() + static_cast<long>(used));
  watchdog->cancel();
  if (!done) {
    // Out of sync or closed: start over with a fresh connection next time.
    conn_.reset();
    co_return make_error("catalog", error.empty() ? "catalog connection lost" : error);
  }
  if (!error.empty()) co_return make_error("catalog", error);
  co_return rows;
}

void PgCatalog::add_rows(const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    if (r.size() != 5 || !r[0] || !r[1]) continue;
    uint32_t oid = static_cast<uint32_t>(std::strtoul(r[0]->c_str(), nullptr, 10));
    long attnum = std::strtol(r[1]->c_str(), nullptr, 10);
    Table& t = tables_[oid];
    t.schema = r[2].value_or("");
    t.name = r[3].value_or("");
    if (attnum < 1 || attnum > 1600) continue;  // MaxHeapAttributeNumber
    if (t.columns.size() < static_cast<size_t>(attnum)) t.columns.resize(attnum);
    t.columns[attnum - 1] = r[4].value_or("");
  }
}

awaitable<Status> PgCatalog::fetch(std::vector<uint32_t> oids) {
  std::string list;
  for (uint32_t oid : oids) {
    if (has(oid)) continue;
    if (!list.empty()) list += ',';
    list += std::to_string(oid);
  }
  if (list.empty()) co_return ok_status();
  std::string sql =
      "SELECT a.attrelid::int8, a.attnum, n.nspname, c.relname, "
      "CASE WHEN a.attisdropped THEN '' ELSE a.attname END "
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE a.attnum > 0 AND a.attrelid IN (" +
      list + ")";
  auto rows = co_await query(sql);
  if (!rows) co_return rows.error();
  if (tables_.size() + oids.size() > kMaxTables) clear();
  add_rows(*rows);
  // Unknown (dropped) tables are remembered as empty, so they are not asked for again.
  for (uint32_t oid : oids) tables_.try_emplace(oid);
  co_return ok_status();
}

awaitable<Result<uint32_t>> PgCatalog::resolve(std::string relation) {
  std::string sql =
      "SELECT a.attrelid::int8, a.attnum, n.nspname, c.relname, "
      "CASE WHEN a.attisdropped THEN '' ELSE a.attname END "
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE a.attnum > 0 AND a.attrelid = pg_catalog.to_regclass(" +
      sql::quote_literal(relation) + ")";
  auto rows = co_await query(sql);
  if (!rows) co_return rows.error();
  if (tables_.size() + 1 > kMaxTables || relations_.size() >= kMaxTables) clear();
  uint32_t oid = 0;
  if (!rows->empty()) {
    add_rows(*rows);
    oid = static_cast<uint32_t>(std::strtoul((*rows)[0][0]->c_str(), nullptr, 10));
  }
  relations_[relation] = oid;
  co_return oid;
}

const PgCatalog::RelInfo* PgCatalog::relation_info(std::string_view schema,
                                                   std::string_view name) const {
  auto it = rel_info_.find(rel_key(schema, name));
  return it == rel_info_.end() ? nullptr : &it->second;
}

awaitable<Status> PgCatalog::fetch_relations(
    std::vector<std::pair<std::string, std::string>> rels) {
  std::string values;
  std::vector<std::string> keys;
  for (const auto& [schema, name] : rels) {
    std::string key = rel_key(schema, name);
    if (rel_info_.count(key) || std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::string q = schema.empty() ? sql::quote_ident(name)
                                   : sql::quote_ident(schema) + "." + sql::quote_ident(name);
    if (!values.empty()) values += ',';
    values += "(" + std::to_string(keys.size()) + "," + sql::quote_literal(q) + ")";
    keys.push_back(std::move(key));
  }
  if (keys.empty()) co_return ok_status();
  // One row per (relation, live column); a relation without columns or unknown still has a row.
  std::string sql =
      "SELECT k.i, c.oid IS NOT NULL, n.nspname, "
      "CASE WHEN c.relkind IN ('v','m') THEN pg_catalog.pg_get_viewdef(c.oid) END, a.attname "
      "FROM (VALUES " +
      values +
      ") k(i, q) LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(k.q) "
      "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
      "AND NOT a.attisdropped ORDER BY k.i, a.attnum";
  auto rows = co_await query(sql);
  if (!rows) co_return rows.error();
  if (rel_info_.size() + keys.size() > kMaxTables) clear();
  std::vector<RelInfo> infos(keys.size());
  for (const Row& r : *rows) {
    if (r.size() != 5 || !r[0]) continue;
    size_t i = std::strtoul(r[0]->c_str(), nullptr, 10);
    if (i >= infos.size()) continue;
    RelInfo& info = infos[i];
    info.exists = r[1] && *r[1] == "t";
    if (!info.exists) continue;
    info.schema = r[2].value_or("");
    info.definition = r[3];
    if (r[4]) info.columns.push_back(*r[4]);
  }
  for (size_t i = 0; i < keys.size(); ++i) rel_info_[keys[i]] = std::move(infos[i]);
  generation_ = next_generation();
  co_return ok_status();
}

}  // namespace phigate::proxy
