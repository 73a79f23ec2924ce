#pragma once
// Statement classification on libpg_query's parse tree (PostgreSQL's own grammar). A query string
// may hold several statements; each is classified. A parse failure is reported, never guessed.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::sql {

// First, simple kinds (the full classifier arrives with the SQL-policy issue). `plumbing` kinds
// are what drivers send on their own (DESIGN.md §4): transaction, set, show, discard, deallocate
// and close.
enum class Kind {
  kSelect,
  kInsert,
  kUpdate,
  kDelete,
  kDdl,
  kTransaction,  // BEGIN/START/COMMIT/ROLLBACK/SAVEPOINT/RELEASE/PREPARE TRANSACTION...
  kSet,          // SET/RESET of ordinary settings
  kShow,
  kDiscard,
  kDeallocate,
  kClose,  // CLOSE cursor
  kFetch,  // FETCH / MOVE on a cursor whose DECLARE was already decided
  kOther,
};

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
