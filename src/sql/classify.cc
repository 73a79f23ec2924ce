#include "sql/classify.h"

#include "sql/hazards.h"

#include <pg_query.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sql/parse_tree_scan.h"

namespace phigate::sql {
namespace {

Classification fail(std::string message) {
  Classification c;
  c.ok = false;
  c.error = std::move(message);
  return c;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kSelect:
      return "select";
    case Kind::kInsert:
      return "insert";
    case Kind::kUpdate:
      return "update";
    case Kind::kDelete:
      return "delete";
    case Kind::kMerge:
      return "merge";
    case Kind::kCopyTo:
      return "copy_to";
    case Kind::kCopyFrom:
      return "copy_from";
    case Kind::kCopyProgram:
      return "copy_program";
    case Kind::kDdl:
      return "ddl";
    case Kind::kGrant:
      return "grant";
    case Kind::kTransaction:
      return "transaction";
    case Kind::kSet:
      return "set";
    case Kind::kShow:
      return "show";
    case Kind::kExplain:
      return "explain";
    case Kind::kCall:
      return "call";
    case Kind::kDo:
      return "do";
    case Kind::kPrepare:
      return "prepare";
    case Kind::kExecute:
      return "execute";
    case Kind::kMaintenance:
      return "maintenance";
    case Kind::kDiscard:
      return "discard";
    case Kind::kDeallocate:
      return "deallocate";
    case Kind::kClose:
      return "close";
    case Kind::kFetch:
      return "fetch";
    case Kind::kOther:
      return "other";
  }
  return "other";
}

std::string table_op_names(uint16_t ops) {
  static constexpr std::pair<uint16_t, const char*> kNames[] = {
      {kOpRead, "read"},     {kOpInsert, "insert"},
      {kOpUpdate, "update"}, {kOpDelete, "delete"},
      {kOpMerge, "merge"},   {kOpTruncate, "truncate"},
      {kOpDdl, "ddl"},       {kOpGrant, "grant"},
      {kOpLock, "lock"},     {kOpMaintenance, "maintenance"},
  };
  std::string out;
  for (auto [bit, name] : kNames) {
    if (!(ops & bit)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

Classification classify_uncached(std::string_view query) {
  // libpg_query reads a C string: an embedded NUL would hide the rest of the text from policy.
  if (query.find('\0') != std::string_view::npos) return fail("statement text contains a NUL byte");
  thread_local std::string text;  // reused: no allocation once it has grown
  text.assign(query);
  PgQueryParseResult r = pg_query_parse(text.c_str());
  if (r.error != nullptr) {
    std::string msg = r.error->message ? r.error->message : "syntax error";
    if (r.error->cursorpos > 0) msg += " at character " + std::to_string(r.error->cursorpos);
    pg_query_free_parse_result(r);
    return fail(std::move(msg));
  }
  Classification c;
  c.ok = true;
  // One streaming pass over the JSON tree: no DOM is built.
  bool readable = detail::scan_parse_tree(
      query, r.parse_tree ? std::string_view(r.parse_tree) : std::string_view(), c.statements);
  pg_query_free_parse_result(r);
  if (!readable) return fail("internal error: unreadable parse tree");
  for (Statement& st : c.statements) {
    // Rare path: the scan only flags statements that mention a lexer setting or set_config.
    if (!st.lexer_unsafe.empty()) {
      SettingHazards h = setting_hazards(st.text);
      st.lexer_unsafe = std::move(h.lexer_unsafe);
      st.shadows_builtins = std::move(h.shadows_builtins);
    }
    // UPDATE pg_settings runs set_config for each row it touches.
    if (st.lexer_unsafe.empty() && st.kind == Kind::kUpdate) {
      for (const auto& t : st.tables) {
        if (t == "pg_settings" || t == "pg_catalog.pg_settings") {
          st.lexer_unsafe = "UPDATE of pg_settings";
        }
      }
    }
  }
  return c;
}

namespace {

// Per-thread LRU of classifications keyed by exact text. Entries live in a fixed pool of slots
// linked into an LRU list by index; an open-addressing table (linear probing, at most half full)
// maps text to slot. An evicted slot is reused in place, so its text buffer keeps its capacity: a
// miss allocates nothing here beyond the shared result (no list or hash nodes, no key copy).
class ClassificationCache {
 public:
  static constexpr uint32_t kMaxEntries = 4096;
  static constexpr size_t kMaxBytes = 32u << 20;      // bounds memory per thread
  static constexpr size_t kMaxEntryBytes = 1u << 20;  // huge one-off texts are not worth keeping

  ClassificationCache() : table_(kTableSize, kNil) {}

  std::shared_ptr<const Classification> get(std::string_view query) {
    size_t hash = std::hash<std::string_view>{}(query);
    for (uint32_t i = hash & kMask; table_[i] != kNil; i = (i + 1) & kMask) {
      Entry& e = entries_[table_[i]];
      if (e.hash == hash && e.text == query) {
        unlink(table_[i]);
        push_front(table_[i]);
        return e.value;
      }
    }
    auto value = std::make_shared<const Classification>(classify_uncached(query));
    size_t cost = cost_of(query, *value);
    if (cost > kMaxEntryBytes) return value;
    while (size_ >= kMaxEntries || (size_ > 0 && bytes_ + cost > kMaxBytes)) evict_oldest();
    uint32_t slot = take_slot();
    Entry& e = entries_[slot];
    e.text.assign(query);
    e.value = value;
    e.cost = cost;
    e.hash = hash;
    uint32_t i = hash & kMask;
    while (table_[i] != kNil) i = (i + 1) & kMask;
    table_[i] = slot;
    push_front(slot);
    bytes_ += cost;
    ++size_;
    return value;
  }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  static constexpr uint32_t kTableSize = 2 * kMaxEntries;  // power of two
  static constexpr uint32_t kMask = kTableSize - 1;

  struct Entry {
    std::string text;
    std::shared_ptr<const Classification> value;
    size_t cost = 0;
    size_t hash = 0;
    uint32_t prev = kNil, next = kNil;  // LRU links; next doubles as the free-list link
  };

  static size_t cost_of(std::string_view query, const Classification& c) {
    size_t n = query.size() * 2 + sizeof(Entry) + sizeof(Classification) + c.error.size();
    for (const Statement& s : c.statements) {
      n += sizeof(Statement) + s.text.size();
      for (const std::string& t : s.tables) n += sizeof(std::string) + t.size() + 2;
      for (const std::string& t : s.columns) n += sizeof(std::string) + t.size();
      for (const std::string& t : s.functions) n += sizeof(std::string) + t.size();
    }
    return n;
  }

  uint32_t take_slot() {
    if (free_ != kNil) {
      uint32_t slot = free_;
      free_ = entries_[slot].next;
      return slot;
    }
    entries_.emplace_back();
    return static_cast<uint32_t>(entries_.size() - 1);
  }

  void push_front(uint32_t slot) {
    Entry& e = entries_[slot];
    e.prev = kNil;
    e.next = head_;
    if (head_ != kNil) entries_[head_].prev = slot;
    head_ = slot;
    if (tail_ == kNil) tail_ = slot;
  }

  void unlink(uint32_t slot) {
    Entry& e = entries_[slot];
    (e.prev != kNil ? entries_[e.prev].next : head_) = e.next;
    (e.next != kNil ? entries_[e.next].prev : tail_) = e.prev;
  }

  void evict_oldest() {
    uint32_t slot = tail_;
    Entry& e = entries_[slot];
    uint32_t i = e.hash & kMask;
    while (table_[i] != slot) i = (i + 1) & kMask;
    erase_at(i);
    unlink(slot);
    bytes_ -= e.cost;
    --size_;
    e.value.reset();  // frees the result now (unless a caller still holds it); e.text is kept
    e.next = free_;
    free_ = slot;
  }

  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  void erase_at(uint32_t hole) {
    for (uint32_t j = (hole + 1) & kMask; table_[j] != kNil; j = (j + 1) & kMask) {
      uint32_t home = entries_[table_[j]].hash & kMask;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      table_[hole] = table_[j];
      hole = j;
    }
    table_[hole] = kNil;
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> table_;
  uint32_t head_ = kNil, tail_ = kNil, free_ = kNil;
  uint32_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace

std::shared_ptr<const Classification> classify(std::string_view query) {
  thread_local ClassificationCache cache;
  return cache.get(query);
}

}  // namespace phigate::sql
