#pragma once
// Session settings that change how the server splits bytes into tokens. phigate classifies the
// text with PostgreSQL's grammar assuming UTF-8 and standard_conforming_strings=on; if the server
// lexes the same bytes differently, a statement phigate saw as one string literal can be two
// statements upstream. Such settings are refused rather than followed.
#include <string>
#include <string_view>
#include <vector>

namespace phigate::sql {

// True for encodings whose multi-byte characters never contain ASCII bytes (UTF8, LATIN*, EUC_*,
// WIN125x, KOI8, ...) and for an empty value (the server default). False for the client-only
// encodings SJIS, BIG5, GBK, UHC, GB18030, JOHAB and SHIFT_JIS_2004 under any of their aliases.
bool client_encoding_is_safe(std::string_view name);

// client_encoding (also spelled NAMES), standard_conforming_strings, backslash_quote — matched the
// way PostgreSQL matches names (case and punctuation ignored).
bool is_lexer_setting(std::string_view name);

// True when setting `name` to `value` (nullptr = RESET/DEFAULT) leaves lexing as phigate assumes.
// Covers client_encoding, standard_conforming_strings and backslash_quote; other names are safe.
bool setting_is_lexer_safe(std::string_view name, const std::string_view* value);

// search_path decides which function an unqualified name calls. PostgreSQL searches pg_catalog
// first unless the path names it explicitly later; then another schema's `lower` or `count` would
// shadow the built-in one that phigate's read-only allowlist (sql/functions.h) trusts.
bool is_search_path(std::string_view name);
// `items`: the path's values as SET gives them (each may itself be a comma-separated list, as in
// SET search_path = 'a, b'). False when pg_catalog is listed after any other schema.
bool search_path_is_safe(const std::vector<std::string>& items);

}  // namespace phigate::sql
