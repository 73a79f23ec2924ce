#pragma once
// Session settings that change how the server splits bytes into tokens. phigate classifies the
// text with PostgreSQL's grammar assuming UTF-8 and standard_conforming_strings=on; if the server
// lexes the same bytes differently, a statement phigate saw as one string literal can be two
// statements upstream. Such settings are refused rather than followed.
#include <string_view>

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

}  // namespace phigate::sql
