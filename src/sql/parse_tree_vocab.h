#pragma once
// The vocabulary of libpg_query's JSON parse tree that the streaming scan reacts to: node and field
// names, statement kinds by node name, statement text slices. Internal to phigate_sql.
#include <cstdint>
#include <string_view>

#include "common/ascii.h"
#include "sql/classify.h"

namespace phigate::sql::detail {

bool starts_with(std::string_view s, std::string_view prefix);
// Settings whose change switches the upstream identity the rest of the session runs as.
bool is_identity_setting(std::string_view name);
// Maps a top-level parse node name to its kind. Node names are PostgreSQL's (parsenodes.h).
Kind kind_of_node(std::string_view node, bool has_into);
// The table operation of a RangeVar that is a direct field of a statement body of this kind
// (kOpCopyPending for COPY until its direction is known).
inline constexpr uint16_t kOpCopyPending = 1u << 15;
uint16_t op_of_kind(Kind k);
// The kind of a nested statement body by the key it sits under (InsertStmt, ...; select otherwise).
enum class Key : uint8_t;
Kind kind_of_nested_key(Key k);
// Whether a statement of this kind may write by its kind alone (before nested statements,
// functions, locking clauses and COPY targets are looked at).
bool kind_writes(Kind k);
// This statement's text: stmt_location/stmt_len are byte offsets into the input (len 0: to the
// end), trimmed of blanks and trailing semicolons.
std::string_view slice(std::string_view query, int64_t loc, int64_t len);

// The keys the scan reacts to. The statement node names come last, in byte order (the order the
// DOM's std::map gave them), so `key - kCreateTableAsStmt` ranks them.
enum class Key : uint8_t {
  kOther,
  kAConst,
  kArg,
  kArgs,
  kCatalogname,
  kFuncname,
  kIntoClause,
  kIsnull,
  kItems,
  kKind,
  kList,
  kLocation,
  kName,
  kObjects,
  kRelname,
  kRemoveType,
  kSchemaname,
  kStmt,
  kStmtLen,
  kStmtLocation,
  kStmts,
  kString,
  kSval,
  kTypeCast,
  kWhereClause,
  // Added for the full classifier (kinds, table operations, columns, functions, limits).
  kRelation,
  kRel,
  kQuery,
  kFuncCall,  // the FuncCall node wrapper
  kFunccall,  // CallStmt.funccall
  kColumnRef,
  kAStar,
  kLimitCount,
  kLockingClause,
  kIsFrom,
  kIsProgram,
  kFilename,
  kExecuteStmt,
  kPortalname,
  kCreateTableAsStmt,
  kDeleteStmt,
  kInsertStmt,
  kMergeStmt,
  kSelectStmt,
  kUpdateStmt
};

Key key_of(std::string_view k);

// What a container is to its parent, for the facts that span several levels. Everything at or
// below a statement's top node body is "active" and gets the generic per-object checks as well.
enum class Role : uint8_t {
  kNone,
  kRoot,      // {"version":..., "stmts":[...]}
  kStmts,     // the stmts array
  kRaw,       // {"stmt":{...}, "stmt_location":n, "stmt_len":n}
  kStmtNode,  // {"SelectStmt":{...}}: the chosen key's value is the body
  kBody,
  kNested,  // object under InsertStmt/UpdateStmt/... below the body
  // set_config(<first arg>, ...): funcname's last String and the shape of args[0].
  kFuncname,
  kFuncnameElem,
  kFuncnameString,
  kArgs,
  kArg0,
  kCast,     // args[0].TypeCast
  kCastArg,  // args[0].TypeCast.arg
  kAConst,
  kSval,
  // DROP TABLE/VIEW/...: objects[].List.items[].String.sval
  kDropObjects,
  kDropObject,
  kDropList,
  kDropItems,
  kDropItem,
  kDropString,
  // PREPARE/EXPLAIN/DECLARE/COPY .query: the wrapper whose one key names the inner statement.
  kInnerWrapper,
  kColumnRef,  // a ColumnRef node: its String svals and A_Star keys spell the column
};

}  // namespace phigate::sql::detail
