#include "sql/parse_tree_vocab.h"

#include "common/ascii.h"

#include <cstring>

namespace phigate::sql::detail {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool is_identity_setting(std::string_view name) {
  return iequals(name, "role") || iequals(name, "session_authorization");
}

Kind kind_of_node(std::string_view node, bool has_into) {
  if (node == "SelectStmt") {
    // SELECT ... INTO creates a table: it is DDL whatever it reads.
    return has_into ? Kind::kDdl : Kind::kSelect;
  }
  if (node == "InsertStmt") return Kind::kInsert;
  if (node == "UpdateStmt") return Kind::kUpdate;
  if (node == "DeleteStmt") return Kind::kDelete;
  // TRUNCATE removes every row: a delete without WHERE (table op `truncate`).
  if (node == "TruncateStmt") return Kind::kDelete;
  if (node == "MergeStmt") return Kind::kMerge;
  // COPY's direction and PROGRAM come after the relation in the tree; the scan settles them.
  if (node == "CopyStmt") return Kind::kCopyTo;
  if (node == "TransactionStmt") return Kind::kTransaction;
  if (node == "VariableSetStmt") return Kind::kSet;
  if (node == "VariableShowStmt") return Kind::kShow;
  if (node == "DiscardStmt") return Kind::kDiscard;
  if (node == "DeallocateStmt") return Kind::kDeallocate;
  if (node == "ClosePortalStmt") return Kind::kClose;
  if (node == "FetchStmt") return Kind::kFetch;
  if (node == "ExplainStmt") return Kind::kExplain;
  if (node == "CallStmt") return Kind::kCall;
  if (node == "DoStmt") return Kind::kDo;
  if (node == "PrepareStmt") return Kind::kPrepare;
  if (node == "ExecuteStmt") return Kind::kExecute;
  // DECLARE c CURSOR FOR <query>: the grammar only admits SELECT/VALUES there, so it reads like the
  // query it wraps (psycopg2 named cursors, JDBC fetch size use it).
  if (node == "DeclareCursorStmt") return Kind::kSelect;
  static constexpr std::string_view kMaintenance[] = {
      "VacuumStmt", "ClusterStmt", "ReindexStmt", "CheckPointStmt", "RefreshMatViewStmt",
  };
  for (std::string_view m : kMaintenance) {
    if (node == m) return Kind::kMaintenance;
  }
  if (node == "GrantStmt" || node == "GrantRoleStmt" || node == "AlterDefaultPrivilegesStmt") {
    return Kind::kGrant;
  }
  if (starts_with(node, "Create") || starts_with(node, "Alter") || starts_with(node, "Drop")) {
    return Kind::kDdl;  // CreateStmt, CreatedbStmt, AlterSystemStmt, DropOwnedStmt, ...
  }
  static constexpr std::string_view kOtherDdl[] = {
      "DefineStmt",        "CompositeTypeStmt",
      "IndexStmt",         "RuleStmt",
      "ViewStmt",          "RenameStmt",
      "CommentStmt",       "SecLabelStmt",
      "ReassignOwnedStmt", "ImportForeignSchemaStmt",
  };
  for (std::string_view d : kOtherDdl) {
    if (node == d) return Kind::kDdl;
  }
  return Kind::kOther;  // LISTEN, NOTIFY, LOCK, LOAD, SET CONSTRAINTS, ...
}

uint16_t op_of_kind(Kind k) {
  switch (k) {
    case Kind::kInsert:
      return kOpInsert;
    case Kind::kUpdate:
      return kOpUpdate;
    case Kind::kDelete:
      return kOpDelete;
    case Kind::kMerge:
      return kOpMerge;
    case Kind::kCopyTo:
      return kOpCopyPending;
    case Kind::kDdl:
      return kOpDdl;
    case Kind::kGrant:
      return kOpGrant;
    case Kind::kMaintenance:
      return kOpMaintenance;
    default:
      return kOpRead;
  }
}

Kind kind_of_nested_key(Key k) {
  switch (k) {
    case Key::kInsertStmt:
      return Kind::kInsert;
    case Key::kUpdateStmt:
      return Kind::kUpdate;
    case Key::kDeleteStmt:
      return Kind::kDelete;
    case Key::kMergeStmt:
      return Kind::kMerge;
    case Key::kCreateTableAsStmt:
      return Kind::kDdl;
    default:
      return Kind::kSelect;
  }
}

bool kind_writes(Kind k) {
  switch (k) {
    case Kind::kSelect:
    case Kind::kCopyTo:  // to a server file: see finish_statement
    case Kind::kTransaction:
    case Kind::kSet:
    case Kind::kShow:
    case Kind::kExplain:  // EXPLAIN ANALYZE of a write: the nested kind says so
    case Kind::kPrepare:  // the inner statement's facts decide
    case Kind::kDiscard:
    case Kind::kDeallocate:
    case Kind::kClose:
    case Kind::kFetch:
      return false;
    default:  // EXECUTE unresolved, CALL, DO, maintenance and `other` may write: fail closed
      return true;
  }
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == ';')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view slice(std::string_view query, int64_t loc, int64_t len) {
  if (loc < 0 || static_cast<uint64_t>(loc) > query.size()) return {};
  std::string_view rest = query.substr(static_cast<size_t>(loc));
  if (len > 0 && static_cast<uint64_t>(len) < rest.size()) rest = rest.substr(0, len);
  return trim(rest);
}

// Field names are compared with fixed-size memcmp: the compiler turns each into one or two
// integer compares. This runs for every key of the tree.
template <size_t N>
bool is(std::string_view k, const char (&lit)[N]) {
  return std::memcmp(k.data(), lit, N - 1) == 0;
}

Key key_of(std::string_view k) {
  switch (k.size()) {
    case 3:
      if (is(k, "arg")) return Key::kArg;
      if (is(k, "rel")) return Key::kRel;
      break;
    case 4:
      if (is(k, "args")) return Key::kArgs;
      if (is(k, "kind")) return Key::kKind;
      if (is(k, "name")) return Key::kName;
      if (is(k, "sval")) return Key::kSval;
      if (is(k, "stmt")) return Key::kStmt;
      if (is(k, "List")) return Key::kList;
      break;
    case 5:
      if (is(k, "stmts")) return Key::kStmts;
      if (is(k, "items")) return Key::kItems;
      if (is(k, "query")) return Key::kQuery;
      break;
    case 6:
      if (is(k, "String")) return Key::kString;
      if (is(k, "isnull")) return Key::kIsnull;
      if (is(k, "A_Star")) return Key::kAStar;
      break;
    case 7:
      if (is(k, "relname")) return Key::kRelname;
      if (is(k, "A_Const")) return Key::kAConst;
      if (is(k, "objects")) return Key::kObjects;
      if (is(k, "is_from")) return Key::kIsFrom;
      break;
    case 8:
      if (is(k, "location")) return Key::kLocation;
      if (is(k, "funcname")) return Key::kFuncname;
      if (is(k, "TypeCast")) return Key::kTypeCast;
      if (is(k, "stmt_len")) return Key::kStmtLen;
      if (is(k, "relation")) return Key::kRelation;
      if (is(k, "FuncCall")) return Key::kFuncCall;
      if (is(k, "funccall")) return Key::kFunccall;
      if (is(k, "filename")) return Key::kFilename;
      break;
    case 9:
      if (is(k, "MergeStmt")) return Key::kMergeStmt;
      if (is(k, "ColumnRef")) return Key::kColumnRef;
      break;
    case 10:
      if (is(k, "schemaname")) return Key::kSchemaname;
      if (is(k, "intoClause")) return Key::kIntoClause;
      if (is(k, "removeType")) return Key::kRemoveType;
      if (is(k, "SelectStmt")) return Key::kSelectStmt;
      if (is(k, "InsertStmt")) return Key::kInsertStmt;
      if (is(k, "UpdateStmt")) return Key::kUpdateStmt;
      if (is(k, "DeleteStmt")) return Key::kDeleteStmt;
      if (is(k, "limitCount")) return Key::kLimitCount;
      if (is(k, "is_program")) return Key::kIsProgram;
      if (is(k, "portalname")) return Key::kPortalname;
      break;
    case 11:
      if (is(k, "whereClause")) return Key::kWhereClause;
      if (is(k, "catalogname")) return Key::kCatalogname;
      if (is(k, "ExecuteStmt")) return Key::kExecuteStmt;
      break;
    case 13:
      if (is(k, "stmt_location")) return Key::kStmtLocation;
      if (is(k, "lockingClause")) return Key::kLockingClause;
      break;
    case 17:
      if (is(k, "CreateTableAsStmt")) return Key::kCreateTableAsStmt;
      break;
    default:
      break;
  }
  return Key::kOther;
}

}  // namespace phigate::sql::detail
