#include "sql/parse_tree_scan.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>

#include "sql/functions.h"
#include "sql/hazards.h"
#include "sql/parse_tree_vocab.h"
#include "sql/settings.h"

namespace phigate::sql::detail {
namespace {

using Json = nlohmann::json;

// Per-object flags. On arrays, kFuncnameSetConfig / kArgsIdentity hold the running verdict.
enum : uint32_t {
  kHasRelname = 1u << 0,
  kHasSchema = 1u << 1,
  kHasCatalog = 1u << 2,
  kKindVar = 1u << 3,  // "kind":"VAR_..." (a VariableSetStmt struct)
  kKindResetAll = 1u << 4,
  kNameIdentity = 1u << 5,
  kFuncnameSetConfig = 1u << 6,
  kArgsIdentity = 1u << 7,
  kHasWhere = 1u << 8,
  kHasInto = 1u << 9,
  kHasIsnull = 1u << 10,
  kHasTypeCast = 1u << 11,
  kCastIdentity = 1u << 12,
  kHasArg = 1u << 13,
  kArgIdentity = 1u << 14,
  kHasAConst = 1u << 15,
  kAConstIdentity = 1u << 16,
  kHasSval = 1u << 17,
  kSvalIdentity = 1u << 18,
  kSvalIsSetConfig = 1u << 19,
  kStringIsSetConfig = 1u << 20,
  kDropRemovable = 1u << 21,
  kHasLimit = 1u << 22,
};

struct Frame {
  Role role = Role::kNone;
  Key key = Key::kOther;         // objects: the key whose value is being read
  Key parent_key = Key::kOther;  // kNested: the statement key this object sits under
  bool is_array = false;
  bool active = false;
  uint32_t flags = 0;
  uint32_t index = 0;      // arrays: elements seen so far
  uint32_t path_base = 0;  // this container's path is path_[0, path_base)
  uint32_t rel_off = 0, rel_len = 0, sch_off = 0, sch_len = 0, cat_off = 0, cat_len = 0;
  int64_t location = INT64_MAX;
  bool funccall = false;  // a FuncCall node (its funcname is a function called)
};

struct TableEvent {
  int64_t loc;
  uint32_t name_off, name_len, path_off, path_len;
  uint16_t ops;
};

struct NestedEvent {
  Kind kind;
  uint8_t rank;  // statement key order inside one object
  uint32_t path_off, path_len;
};

// True when the DOM walk met the node at path `a` before the one at `b`: pre-order (an ancestor
// first), children in reverse (keys in reverse byte order, array elements last to first).
// Paths are key bytes + '\0' per object level and a 4-byte big-endian index per array level.
bool dom_before(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == a.size()) return i != b.size();
  if (i == b.size()) return false;
  return static_cast<unsigned char>(a[i]) > static_cast<unsigned char>(b[i]);
}

class TreeScanner {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  // Returns false if the tree is unreadable or, without track_paths, if order needs paths.
  bool run(std::string_view query, std::string_view json, std::vector<Statement>& out,
           bool track_paths) {
    query_ = query;
    out_ = &out;
    track_paths_ = track_paths;
    need_paths_ = broken_ = false;
    frames_.clear();
    arena_.clear();
    path_.clear();
    bool ok = Json::sax_parse(json.data(), json.data() + json.size(), this,
                              Json::input_format_t::json, /*strict=*/true);
    return ok && !broken_ && !need_paths_ && frames_.empty();
  }
  bool needs_paths() const { return need_paths_ && !broken_; }

  // --- nlohmann SAX interface ---
  bool null() { return element(false); }
  bool boolean(bool v) { return element(false) && on_boolean(v); }
  bool number_integer(number_integer_t v) { return element(false) && number(v); }
  bool number_unsigned(number_unsigned_t v) {
    return element(false) && number(static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t&) { return element(false); }
  bool binary(binary_t&) { return broken(); }
  bool string(string_t& s) { return element(false) && on_string(s); }
  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool key(string_t& k) { return on_key(k); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return broken();
  }

 private:
  bool broken() {
    broken_ = true;
    return false;
  }

  static void set_flag(Frame& f, uint32_t flag, bool on) {
    f.flags = on ? (f.flags | flag) : (f.flags & ~flag);
  }

  std::pair<uint32_t, uint32_t> keep(std::string_view s, std::string& buf) {
    auto off = static_cast<uint32_t>(buf.size());
    buf.append(s);
    return {off, static_cast<uint32_t>(s.size())};
  }

  // Called at the start of every value: array bookkeeping and shape checks.
  bool element(bool is_object) {
    if (frames_.empty()) return is_object || broken();  // the tree is an object
    Frame& p = frames_.back();
    if (!p.is_array) return true;
    uint32_t idx = p.index++;
    if (p.active) {
      if (track_paths_) {
        path_.resize(p.path_base);
        for (int shift = 24; shift >= 0; shift -= 8)
          path_.push_back(static_cast<char>(idx >> shift));
      }
      if (p.role == Role::kFuncname) {
        p.flags &= ~kFuncnameSetConfig;  // decided by the last element
      } else if (p.role == Role::kArgs && idx == 0) {
        p.flags |= kArgsIdentity;  // not an A_Const: unjudgeable; an object decides at its end
      }
    } else if (p.role == Role::kStmts && !is_object) {
      return broken();
    }
    return true;
  }

  bool open(bool is_array) {
    if (!element(!is_array)) return false;
    Frame f;
    f.is_array = is_array;
    if (frames_.empty()) {
      f.role = Role::kRoot;
      frames_.push_back(f);
      return true;
    }
    Frame& p = frames_.back();
    if (!p.active) {
      if (p.role == Role::kRoot && p.key == Key::kStmts && is_array) {
        f.role = Role::kStmts;
      } else if (p.role == Role::kStmts) {
        f.role = Role::kRaw;
        begin_raw();
      } else if (p.role == Role::kRaw && p.key == Key::kStmt && !is_array) {
        f.role = Role::kStmtNode;
      } else if (p.role == Role::kStmtNode && body_next_) {
        f.active = true;
        f.role = is_array ? Role::kNone : Role::kBody;
        path_.clear();
      }
    } else {
      f.active = true;
      f.role = child_role(p, is_array);
      if (f.role == Role::kNested) f.parent_key = p.key;
      if (f.role == Role::kDropObject) drop_name_.clear();
      if (!is_array && !p.is_array && (p.key == Key::kFuncCall || p.key == Key::kFunccall)) {
        f.funccall = true;
      }
      if (f.role == Role::kFuncname && p.funccall) {
        func_open_ = true;
        func_buf_.clear();
      }
      if (f.role == Role::kColumnRef) {
        col_open_ = true;
        col_buf_.clear();
      }
    }
    f.path_base = static_cast<uint32_t>(path_.size());
    frames_.push_back(f);
    return true;
  }

  Role child_role(const Frame& p, bool is_array) const {
    if (p.is_array) {
      if (is_array) return Role::kNone;
      switch (p.role) {
        case Role::kFuncname:
          return Role::kFuncnameElem;
        case Role::kArgs:
          return p.index == 1 ? Role::kArg0 : Role::kNone;
        case Role::kDropObjects:
          return Role::kDropObject;
        case Role::kDropItems:
          return Role::kDropItem;
        default:
          return Role::kNone;
      }
    }
    Key k = p.key;
    if (is_array) {
      if (k == Key::kFuncname) return Role::kFuncname;
      if (k == Key::kArgs) return Role::kArgs;
      if (k == Key::kObjects && p.role == Role::kBody && node_is_drop_) return Role::kDropObjects;
      if (k == Key::kItems && p.role == Role::kDropList) return Role::kDropItems;
      return Role::kNone;
    }
    if (k >= Key::kCreateTableAsStmt) return Role::kNested;
    if (k == Key::kColumnRef) return Role::kColumnRef;
    if (k == Key::kQuery && p.role == Role::kBody) return Role::kInnerWrapper;
    switch (p.role) {
      case Role::kFuncnameElem:
        return k == Key::kString ? Role::kFuncnameString : Role::kNone;
      case Role::kArg0:
        if (k == Key::kTypeCast) return Role::kCast;
        return k == Key::kAConst ? Role::kAConst : Role::kNone;
      case Role::kCastArg:
        return k == Key::kAConst ? Role::kAConst : Role::kNone;
      case Role::kCast:
        return k == Key::kArg ? Role::kCastArg : Role::kNone;
      case Role::kAConst:
        return k == Key::kSval ? Role::kSval : Role::kNone;
      case Role::kDropObject:
        return k == Key::kList ? Role::kDropList : Role::kNone;
      case Role::kDropItem:
        return k == Key::kString ? Role::kDropString : Role::kNone;
      default:
        return Role::kNone;
    }
  }

  bool on_key(const std::string& k) {
    Frame& f = frames_.back();
    Key id = key_of(k);
    f.key = id;
    if (f.active) {
      if (track_paths_) {
        path_.resize(f.path_base);
        path_.append(k);
        path_.push_back('\0');
      }
      // Presence is what counts for these; the "Identity" bits default to "cannot judge" and a
      // well-shaped object value overrides them when it closes.
      switch (id) {
        case Key::kWhereClause:
          f.flags |= kHasWhere;
          break;
        case Key::kIntoClause:
          f.flags |= kHasInto;
          break;
        case Key::kIsnull:
          f.flags |= kHasIsnull;
          break;
        case Key::kTypeCast:
          f.flags |= kHasTypeCast | kCastIdentity;
          break;
        case Key::kArg:
          f.flags |= kHasArg | kArgIdentity;
          break;
        case Key::kAConst:
          f.flags |= kHasAConst | kAConstIdentity;
          break;
        case Key::kSval:
          f.flags |= kHasSval | kSvalIdentity;
          break;
        case Key::kLimitCount:
          if (f.role == Role::kBody) f.flags |= kHasLimit;
          break;
        case Key::kLockingClause:
          locking_ = true;  // FOR UPDATE/SHARE takes row locks: a write as far as PostgreSQL goes
          break;
        case Key::kExecuteStmt:
          nested_execute_ = true;
          break;
        case Key::kAStar:
          if (col_open_) append_part(col_buf_, "*");
          break;
        default:
          break;
      }
      if (f.role == Role::kInnerWrapper && !has_inner_) {
        has_inner_ = true;
        inner_kind_ = kind_of_node(k, false);
      }
    } else if (f.role == Role::kStmtNode) {
      // {"SelectStmt": body} has one key; were there more, the DOM used the smallest.
      body_next_ = !has_node_ || k < node_name_;
      if (body_next_) {
        begin_facts();
        has_node_ = true;
        node_name_ = k;
        node_is_drop_ = node_name_ == "DropStmt";
        top_kind_ = kind_of_node(node_name_, false);
        default_op_ = default_op_of(node_name_, top_kind_);
      }
    }
    return true;
  }

  bool on_string(const std::string& s) {
    Frame& f = frames_.back();
    if (!f.active || f.is_array) return true;
    switch (f.key) {
      case Key::kRelname:
        std::tie(f.rel_off, f.rel_len) = keep(s, arena_);
        f.flags |= kHasRelname;
        break;
      case Key::kSchemaname:
        std::tie(f.sch_off, f.sch_len) = keep(s, arena_);
        f.flags |= kHasSchema;
        break;
      case Key::kCatalogname:
        std::tie(f.cat_off, f.cat_len) = keep(s, arena_);
        f.flags |= kHasCatalog;
        break;
      case Key::kKind:
        if (starts_with(s, "VAR_")) f.flags |= kKindVar;
        if (s == "VAR_RESET_ALL") f.flags |= kKindResetAll;
        break;
      case Key::kName:
        if (is_identity_setting(s)) f.flags |= kNameIdentity;
        if (is_lexer_setting(s) || is_search_path(s)) lexer_hint_ = true;
        if (f.role == Role::kBody) body_name_ = s;  // PREPARE/EXECUTE/DEALLOCATE name
        break;
      case Key::kFilename:
        if (f.role == Role::kBody) copy_file_ = true;
        break;
      case Key::kPortalname:
        if (f.role == Role::kBody) body_name_ = s;  // DECLARE/FETCH/CLOSE cursor name
        break;
      case Key::kSval:
        if (func_open_) append_part(func_buf_, s);
        if (col_open_) append_part(col_buf_, s);
        // Any mention of a lexer setting (SET, set_config, a string constant) sends the statement
        // to the precise, rare-path check in hazards.cc.
        if (is_lexer_setting(s) || is_search_path(s)) lexer_hint_ = true;
        if (f.role == Role::kFuncnameString) {
          set_flag(f, kSvalIsSetConfig, iequals(s, "set_config"));
          if (iequals(s, "set_config")) lexer_hint_ = true;
          if (is_hazardous_function(s) &&
              std::find(hazards_.begin(), hazards_.end(), s) == hazards_.end()) {
            hazards_.push_back(s);
          }
        } else if (f.role == Role::kSval) {
          set_flag(f, kSvalIdentity, is_identity_setting(s));
        } else if (f.role == Role::kDropString) {
          if (!drop_name_.empty()) drop_name_ += '.';
          drop_name_ += s;
        }
        break;
      case Key::kRemoveType:
        if (f.role == Role::kBody && (s == "OBJECT_TABLE" || s == "OBJECT_VIEW" ||
                                      s == "OBJECT_MATVIEW" || s == "OBJECT_FOREIGN_TABLE")) {
          f.flags |= kDropRemovable;
        }
        break;
      default:
        break;
    }
    return true;
  }

  bool number(int64_t v) {
    Frame& f = frames_.back();
    if (f.is_array) return true;
    if (f.active) {
      if (f.key == Key::kLocation) f.location = v;
    } else if (f.role == Role::kRaw) {
      if (f.key == Key::kStmtLocation) stmt_loc_ = v;
      if (f.key == Key::kStmtLen) stmt_len_ = v;
    }
    return true;
  }

  bool close() {
    size_t n = frames_.size();
    if (n == 1) {
      frames_.pop_back();
      return true;
    }
    const Frame& f = frames_[n - 1];
    Frame& p = frames_[n - 2];
    if (f.active) {
      if (f.is_array) {
        if (f.role == Role::kFuncname)
          set_flag(p, kFuncnameSetConfig, f.flags & kFuncnameSetConfig);
        if (f.role == Role::kArgs) set_flag(p, kArgsIdentity, f.flags & kArgsIdentity);
        if (f.role == Role::kFuncname && func_open_) add_function();
      } else {
        close_object(f, p);
      }
    } else if (f.role == Role::kRaw) {
      finish_statement();
    }
    frames_.pop_back();
    return !need_paths_ || track_paths_;  // false: rerun recording paths
  }

  void close_object(const Frame& f, Frame& p) {
    uint32_t fl = f.flags;
    if (fl & kHasRelname) add_table(f, p);
    if ((fl & kFuncnameSetConfig) && (fl & kArgsIdentity)) changes_identity_ = true;
    if ((fl & kKindVar) && (fl & (kKindResetAll | kNameIdentity))) changes_identity_ = true;
    switch (f.role) {
      case Role::kBody:
        body_is_object_ = true;
        body_flags_ = fl;
        break;
      case Role::kNested:
        add_nested(f, p);
        break;
      case Role::kColumnRef:
        col_open_ = false;
        add_unique(columns_, col_buf_);
        break;
      case Role::kFuncnameString:
        set_flag(p, kStringIsSetConfig, fl & kSvalIsSetConfig);
        break;
      case Role::kFuncnameElem:
        set_flag(p, kFuncnameSetConfig, fl & kStringIsSetConfig);
        break;
      case Role::kArg0:
        set_flag(p, kArgsIdentity,
                 (fl & kHasTypeCast) ? (fl & kCastIdentity)
                                     : ((fl & kHasAConst) ? (fl & kAConstIdentity) : true));
        break;
      case Role::kCast:
        set_flag(p, kCastIdentity, (fl & kHasArg) ? (fl & kArgIdentity) : true);
        break;
      case Role::kCastArg:
        set_flag(p, kArgIdentity, (fl & kHasAConst) ? (fl & kAConstIdentity) : true);
        break;
      case Role::kAConst:  // a NULL name is an error, not a change
        set_flag(p, kAConstIdentity, (fl & kHasSval) ? (fl & kSvalIdentity) : !(fl & kHasIsnull));
        break;
      case Role::kSval:
        set_flag(p, kSvalIdentity, (fl & kHasSval) ? (fl & kSvalIdentity) : true);
        break;
      case Role::kDropObject:
        if (!drop_name_.empty()) dropped_.push_back(keep(drop_name_, names_));
        break;
      default:
        break;
    }
  }

  std::pair<uint32_t, uint32_t> keep_path(uint32_t len) {
    if (!track_paths_) return {0, 0};
    return keep(std::string_view(path_).substr(0, len), paths_);
  }

  bool on_boolean(bool v) {
    const Frame& f = frames_.back();
    if (!v || f.role != Role::kBody || f.is_array) return true;
    if (f.key == Key::kIsFrom) copy_from_ = true;
    if (f.key == Key::kIsProgram) copy_program_ = true;
    return true;
  }

  static void append_part(std::string& buf, std::string_view part) {
    if (!buf.empty()) buf += '.';
    buf += part;
  }

  static void add_unique(std::vector<std::string>& v, std::string_view s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.emplace_back(s);
  }

  void add_function() {
    func_open_ = false;
    add_unique(functions_, func_buf_);
    if (impure_.empty() && !is_pure_function(func_buf_)) impure_ = func_buf_;
  }

  static uint16_t default_op_of(std::string_view node, Kind kind) {
    if (node == "TruncateStmt") return kOpTruncate;
    if (node == "LockStmt") return kOpLock;
    if (kind == Kind::kMaintenance) return kOpMaintenance;
    if (kind == Kind::kGrant) return kOpGrant;
    return kOpRead;
  }

  // What the statement does to this relation: a RangeVar that is a direct field of a statement
  // body (InsertStmt.relation, CreateStmt.relation, ViewStmt.view, ...) is that statement's
  // target; IntoClause.rel is created; anything else (FROM, USING, subqueries) is read, except in
  // statements that act on every relation they list (TRUNCATE, LOCK, VACUUM, GRANT).
  uint16_t op_for(const Frame& p) const {
    if (p.is_array) return default_op_;
    if (p.key == Key::kRel) return kOpDdl;
    if (p.role == Role::kBody) return op_of_kind(top_kind_);
    if (p.role == Role::kNested) return op_of_kind(kind_of_nested_key(p.parent_key));
    return default_op_;
  }

  void add_table(const Frame& f, const Frame& p) {
    auto off = static_cast<uint32_t>(names_.size());
    std::string_view arena(arena_);
    if (f.flags & kHasCatalog) names_.append(arena.substr(f.cat_off, f.cat_len)).push_back('.');
    if (f.flags & kHasSchema) names_.append(arena.substr(f.sch_off, f.sch_len)).push_back('.');
    names_.append(arena.substr(f.rel_off, f.rel_len));
    auto [path_off, path_len] = keep_path(f.path_base);
    tables_.push_back(TableEvent{f.location, off, static_cast<uint32_t>(names_.size()) - off,
                                 path_off, path_len, op_for(p)});
  }

  void add_nested(const Frame& f, const Frame& p) {
    Kind kind = Kind::kOther;
    switch (f.parent_key) {
      case Key::kInsertStmt:
        kind = Kind::kInsert;
        break;
      case Key::kUpdateStmt:
      case Key::kDeleteStmt:
        kind = f.parent_key == Key::kUpdateStmt ? Kind::kUpdate : Kind::kDelete;
        if (!(f.flags & kHasWhere)) all_where_ = false;
        break;
      case Key::kMergeStmt:
        kind = Kind::kMerge;
        break;
      case Key::kCreateTableAsStmt:
        kind = Kind::kDdl;
        break;
      case Key::kSelectStmt:
        if (!(f.flags & kHasInto)) return;
        kind = Kind::kDdl;
        break;
      default:
        return;
    }
    auto rank = static_cast<uint8_t>(static_cast<int>(f.parent_key) -
                                     static_cast<int>(Key::kCreateTableAsStmt));
    auto [path_off, path_len] = keep_path(p.path_base);
    nested_.push_back(NestedEvent{kind, rank, path_off, path_len});
  }

  void begin_raw() {
    has_node_ = false;
    body_next_ = false;
    stmt_loc_ = stmt_len_ = 0;
    begin_facts();
  }

  void begin_facts() {
    node_is_drop_ = body_is_object_ = changes_identity_ = lexer_hint_ = false;
    locking_ = nested_execute_ = has_inner_ = copy_from_ = copy_program_ = copy_file_ = false;
    func_open_ = col_open_ = false;
    top_kind_ = inner_kind_ = Kind::kOther;
    default_op_ = kOpRead;
    body_name_.clear();
    functions_.clear();
    columns_.clear();
    impure_.clear();
    hazards_.clear();
    all_where_ = true;
    body_flags_ = 0;
    tables_.clear();
    nested_.clear();
    dropped_.clear();
    names_.clear();
    paths_.clear();
  }

  std::string_view name_of(uint32_t off, uint32_t len) const {
    return std::string_view(names_).substr(off, len);
  }
  std::string_view path_of(uint32_t off, uint32_t len) const {
    return std::string_view(paths_).substr(off, len);
  }

  void finish_statement();
  void order_tables(Statement& st);
  void order_nested(Statement& st);
  void finish_facts(Statement& st);

  std::string_view query_;
  std::vector<Statement>* out_ = nullptr;
  bool track_paths_ = false, need_paths_ = false, broken_ = false;
  std::vector<Frame> frames_;
  std::string arena_;  // relname/schemaname/catalogname values of open objects
  std::string path_;   // the current path (track_paths_ only)

  // The statement being read.
  bool has_node_ = false, body_next_ = false, node_is_drop_ = false, body_is_object_ = false;
  bool changes_identity_ = false, all_where_ = true, lexer_hint_ = false;
  std::vector<std::string> hazards_;
  uint32_t body_flags_ = 0;
  int64_t stmt_loc_ = 0, stmt_len_ = 0;
  std::string node_name_, drop_name_, names_, paths_;
  std::vector<TableEvent> tables_;
  std::vector<NestedEvent> nested_;
  std::vector<std::pair<uint32_t, uint32_t>> dropped_;  // in names_
  // Facts of the full classifier.
  Kind top_kind_ = Kind::kOther, inner_kind_ = Kind::kOther;
  uint16_t default_op_ = kOpRead;
  bool locking_ = false, nested_execute_ = false, has_inner_ = false;
  bool copy_from_ = false, copy_program_ = false, copy_file_ = false;
  bool func_open_ = false, col_open_ = false;  // inside a FuncCall's funcname / a ColumnRef
  std::string func_buf_, col_buf_, body_name_, impure_;
  std::vector<std::string> functions_, columns_;
};

void TreeScanner::finish_statement() {
  Statement st;
  st.text = std::string(slice(query_, stmt_loc_, stmt_len_));
  if (has_node_) {
    st.kind = kind_of_node(node_name_, body_is_object_ && (body_flags_ & kHasInto));
    st.changes_identity = changes_identity_;
    st.plumbing = !st.changes_identity && (st.kind == Kind::kTransaction || st.kind == Kind::kSet ||
                                           st.kind == Kind::kShow || st.kind == Kind::kDiscard ||
                                           st.kind == Kind::kDeallocate ||
                                           st.kind == Kind::kClose || st.kind == Kind::kFetch);
    bool write = st.kind == Kind::kUpdate || st.kind == Kind::kDelete;
    bool top_where = !write || (body_flags_ & kHasWhere);
    // One unguarded UPDATE/DELETE anywhere in the statement makes has_where false.
    st.has_where = (write || !nested_.empty()) ? (top_where && all_where_) : false;
    order_tables(st);
    order_nested(st);
    st.hazard_functions = hazards_;
    if (lexer_hint_) st.lexer_unsafe = "?";  // resolved by classify() with the full tree
    finish_facts(st);
  }
  out_->push_back(std::move(st));
}

void TreeScanner::finish_facts(Statement& st) {
  if (st.kind == Kind::kCopyTo) {
    st.kind = copy_program_ ? Kind::kCopyProgram : copy_from_ ? Kind::kCopyFrom : Kind::kCopyTo;
    uint16_t op = copy_from_ ? kOpInsert : kOpRead;
    for (uint16_t& ops : st.table_ops) {
      if (ops & kOpCopyPending) ops = static_cast<uint16_t>((ops & ~kOpCopyPending) | op);
    }
  }
  bool wraps = st.kind == Kind::kPrepare || st.kind == Kind::kExplain;
  st.inner_kind = wraps && has_inner_ ? inner_kind_ : st.kind;
  if (st.kind == Kind::kPrepare || st.kind == Kind::kExecute || st.kind == Kind::kDeallocate) {
    st.prepared_name = body_name_;
  }
  if (st.kind == Kind::kFetch || st.kind == Kind::kClose || node_name_ == "DeclareCursorStmt") {
    st.cursor_name = body_name_;
    st.declares_cursor = node_name_ == "DeclareCursorStmt";
  }
  st.has_limit = st.kind == Kind::kSelect && body_is_object_ && (body_flags_ & kHasLimit);
  st.nested_execute = nested_execute_;
  st.columns = columns_;
  st.functions = functions_;
  st.impure_function = impure_;
  st.writes = kind_writes(st.kind) || !st.nested_kinds.empty() || !st.hazard_functions.empty() ||
              locking_ || nested_execute_ || (st.kind == Kind::kCopyTo && copy_file_);
}

// In order of appearance in the text, each name once; dropped relations last.
void TreeScanner::order_tables(Statement& st) {
  if (track_paths_) {
    std::sort(tables_.begin(), tables_.end(), [this](const TableEvent& a, const TableEvent& b) {
      if (a.loc != b.loc) return a.loc < b.loc;
      return dom_before(path_of(a.path_off, a.path_len), path_of(b.path_off, b.path_len));
    });
  } else {
    std::stable_sort(tables_.begin(), tables_.end(),
                     [](const TableEvent& a, const TableEvent& b) { return a.loc < b.loc; });
    for (size_t i = 1; i < tables_.size(); ++i) {
      const TableEvent& a = tables_[i - 1];
      const TableEvent& b = tables_[i];
      if (a.loc == b.loc && name_of(a.name_off, a.name_len) != name_of(b.name_off, b.name_len)) {
        need_paths_ = true;  // a tie the text cannot break
        return;
      }
    }
  }
  if (!body_is_object_ || !(body_flags_ & kDropRemovable)) dropped_.clear();
  st.tables.reserve(tables_.size() + dropped_.size());
  st.table_ops.reserve(tables_.size() + dropped_.size());
  auto add = [&st](std::string_view name, uint16_t ops) {
    auto it = std::find(st.tables.begin(), st.tables.end(), name);
    if (it == st.tables.end()) {
      st.tables.emplace_back(name);
      st.table_ops.push_back(ops);
    } else {
      st.table_ops[static_cast<size_t>(it - st.tables.begin())] |= ops;
    }
  };
  for (const TableEvent& t : tables_) add(name_of(t.name_off, t.name_len), t.ops);
  for (auto [off, len] : dropped_) add(name_of(off, len), kOpDdl);
}

// Nested kinds other than the statement's own, each once, in the DOM walk's order.
void TreeScanner::order_nested(Statement& st) {
  if (track_paths_) {
    std::sort(nested_.begin(), nested_.end(), [this](const NestedEvent& a, const NestedEvent& b) {
      std::string_view pa = path_of(a.path_off, a.path_len);
      std::string_view pb = path_of(b.path_off, b.path_len);
      if (pa == pb) return a.rank < b.rank;
      return dom_before(pa, pb);
    });
  }
  for (const NestedEvent& e : nested_) {
    if (e.kind != st.kind && std::find(st.nested_kinds.begin(), st.nested_kinds.end(), e.kind) ==
                                 st.nested_kinds.end()) {
      st.nested_kinds.push_back(e.kind);
    }
  }
  if (!track_paths_ && st.nested_kinds.size() > 1) need_paths_ = true;
}

}  // namespace

bool scan_parse_tree(std::string_view query, std::string_view json, std::vector<Statement>& out,
                     ScanOrder order) {
  thread_local TreeScanner scanner;
  if (order == ScanOrder::kAuto) {
    if (scanner.run(query, json, out, /*track_paths=*/false)) return true;
    if (!scanner.needs_paths()) return false;
    out.clear();
  }
  return scanner.run(query, json, out, /*track_paths=*/true);
}

}  // namespace phigate::sql::detail
