#pragma once
// Statement classification on libpg_query's parse tree (PostgreSQL's own grammar). A query string
// may hold several statements; each is classified. A parse failure is reported, never guessed.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::sql {

// Statement kinds (DESIGN.md §4 `statement:`). The `plumbing` kinds are what drivers send on
// their own (DESIGN.md §4): transaction, set, show, discard, deallocate, close and fetch.
enum class Kind {
  kSelect,  // SELECT, VALUES, TABLE, DECLARE CURSOR
  kInsert,
  kUpdate,
  kDelete,  // DELETE and TRUNCATE (whole-table delete: has_where is false)
  kMerge,
  kCopyTo,       // COPY ... TO STDOUT or a server file
  kCopyFrom,     // COPY ... FROM STDIN or a server file
  kCopyProgram,  // COPY ... TO/FROM PROGRAM: runs a shell command on the database host
  kDdl,          // CREATE/ALTER/DROP/COMMENT/..., SELECT INTO, CREATE TABLE AS
  kGrant,        // GRANT/REVOKE (privileges or roles), ALTER DEFAULT PRIVILEGES
  kTransaction,  // BEGIN/START/COMMIT/ROLLBACK/SAVEPOINT/RELEASE/PREPARE TRANSACTION...
  kSet,          // SET/RESET of ordinary settings
  kShow,
  kExplain,
  kCall,
  kDo,           // anonymous code block: opaque
  kPrepare,      // PREPARE name AS <stmt>: the facts are the inner statement's (inner_kind)
  kExecute,      // EXECUTE name: what runs is known only to the session that prepared it
  kMaintenance,  // VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT, REFRESH MATERIALIZED VIEW
  kDiscard,
  kDeallocate,
  kClose,  // CLOSE cursor
  kFetch,  // FETCH / MOVE on a cursor whose DECLARE was already decided
  kOther,  // LISTEN, NOTIFY, LOCK, LOAD, SET CONSTRAINTS, ...
};
inline constexpr int kKindCount = static_cast<int>(Kind::kOther) + 1;

// What a statement does to one table it names (bit set: a table can be read and updated).
enum TableOp : uint16_t {
  kOpRead = 1u << 0,
  kOpInsert = 1u << 1,
  kOpUpdate = 1u << 2,
  kOpDelete = 1u << 3,
  kOpMerge = 1u << 4,
  kOpTruncate = 1u << 5,
  kOpDdl = 1u << 6,  // created, altered, dropped, indexed, ...
  kOpGrant = 1u << 7,
  kOpLock = 1u << 8,
  kOpMaintenance = 1u << 9,
};
// "read,update" for a bit set.
std::string table_op_names(uint16_t ops);

const char* kind_name(Kind k);  // "select", "insert", ..., "ddl", "transaction", "set", ...

struct Statement {
  Kind kind = Kind::kOther;
  // True for the plumbing kinds above unless the statement changes identity: SET ROLE, SET SESSION
  // AUTHORIZATION, RESET ROLE/SESSION AUTHORIZATION, RESET ALL, SET of role/session_authorization,
  // or a SELECT calling set_config('role'|'session_authorization', ...).
  bool plumbing = false;
  bool changes_identity = false;
  // UPDATE/DELETE with a WHERE clause. When UPDATE/DELETEs are nested (data-modifying CTEs),
  // true only if every one of them has a WHERE.
  bool has_where = false;
  // Kinds of data-modifying statements nested below this one, other than `kind` itself: WITH d AS
  // (DELETE ...) SELECT, EXPLAIN ANALYZE UPDATE, COPY (DELETE ... RETURNING *) TO, SELECT INTO
  // inside EXPLAIN (ddl). They execute too, so policy must allow each of them as well.
  std::vector<Kind> nested_kinds;
  std::vector<std::string> tables;  // relation names as written, schema-qualified if written so
  std::vector<uint16_t> table_ops;  // parallel to tables: TableOp bits
  std::string text;                 // this statement's text (trimmed slice of the input)
  // Built-in functions called here that write or reach outside the database (nextval, setval,
  // lo_*, pg_read_file, pg_terminate_backend, dblink*, pg_notify, ...): the statement is then
  // not a plain read, whatever its kind (sql/hazards.h).
  std::vector<std::string> hazard_functions;
  // Non-empty when the statement changes a setting that alters how the server splits bytes into
  // tokens (client_encoding to SJIS/BIG5/..., standard_conforming_strings off, backslash_quote),
  // or might (set_config with a computed name): phigate refuses it whatever the rules say, since
  // its own parse would no longer match the server's. The text says why.
  std::string lexer_unsafe;
  // Non-empty when the statement sets a search_path that lists pg_catalog after another schema
  // (or one phigate cannot read): unqualified built-in names could then call another schema's
  // functions, so a read_only role refuses it (its function allowlist trusts those names).
  std::string shadows_builtins;

  // PREPARE/EXPLAIN/DECLARE: the kind of the wrapped statement; otherwise equal to `kind`. For an
  // EXECUTE the session fills it in from what it saw prepared under that name.
  Kind inner_kind = Kind::kOther;
  // PREPARE/EXECUTE/DEALLOCATE name; empty for DEALLOCATE ALL.
  std::string prepared_name;
  // DECLARE/FETCH/MOVE/CLOSE cursor name; empty for CLOSE ALL. declares_cursor: a DECLARE.
  std::string cursor_name;
  bool declares_cursor = false;
  // May change data, schema, files or server state when it runs: a write kind, a nested
  // data-modifying statement, a hazard function, SELECT ... FOR UPDATE/SHARE, COPY TO a server
  // file, an EXECUTE not yet resolved. Unlisted functions are tracked apart (impure_function).
  bool writes = false;
  bool has_limit = false;  // the top-level query has LIMIT / FETCH FIRST
  // EXECUTE nested in EXPLAIN or CREATE TABLE AS: runs a prepared statement phigate cannot see
  // here.
  bool nested_execute = false;
  // Column references as written ("a", "p.id", "*", "t.*"), each once, in tree order.
  std::vector<std::string> columns;
  // Functions called (FuncCall nodes), schema-qualified if written so, each once.
  std::vector<std::string> functions;
  // The first called function that is not on the built-in read-only allowlist (sql/functions.h);
  // empty when every function is. A read_only role treats such a statement as one that may write.
  std::string impure_function;
};

struct Classification {
  bool ok = false;
  std::string error;                  // parse error message when !ok
  std::vector<Statement> statements;  // empty + ok = empty query string
};

// Cached by exact query text in a per-thread LRU (the extended protocol re-sends the same text);
// the result is immutable and shared.
std::shared_ptr<const Classification> classify(std::string_view query);
// Uncached, for tests.
Classification classify_uncached(std::string_view query);

}  // namespace phigate::sql
