#include "sql/settings.h"

#include <string>

namespace phigate::sql {

namespace {
// PostgreSQL compares encoding names ignoring case and every non-alphanumeric character
// (pg_char_to_encoding / clean_encoding_name), so "Shift-JIS" and "sjis" are one name.
std::string clean(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z')
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      out.push_back(c);
  }
  return out;
}

std::string lower_trim(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\'' || c == '"') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}
}  // namespace

bool client_encoding_is_safe(std::string_view name) {
  static constexpr std::string_view kUnsafe[] = {
      "sjis", "shiftjis", "mskanji",    "win932",  "windows932", "shiftjis2004",
      "big5", "win950",   "windows950", "gbk",     "win936",     "windows936",
      "uhc",  "win949",   "windows949", "gb18030", "johab",
  };
  std::string c = clean(name);
  for (auto u : kUnsafe)
    if (c == u) return false;
  return true;
}

bool is_lexer_setting(std::string_view name) {
  std::string n = clean(name);
  return n == "clientencoding" || n == "names" || n == "standardconformingstrings" ||
         n == "backslashquote";
}

bool setting_is_lexer_safe(std::string_view name, const std::string_view* value) {
  if (!is_lexer_setting(name) || !value) return true;  // RESET/DEFAULT: the checked start value
  std::string n = clean(name);
  if (n == "clientencoding" || n == "names") return client_encoding_is_safe(*value);
  std::string v = lower_trim(*value);
  if (n == "standardconformingstrings")
    return v == "on" || v == "true" || v == "1" || v == "yes" || v == "t" || v == "y";
  // backslash_quote only matters with standard_conforming_strings off, which is refused; still,
  // nothing but the default keeps phigate certain.
  return v == "safeencoding";
}

bool is_search_path(std::string_view name) { return clean(name) == "searchpath"; }

bool search_path_is_safe(const std::vector<std::string>& items) {
  // Split like PostgreSQL's SplitIdentifierString: commas between names, blanks trimmed, an
  // unquoted name folded to lower case, a double-quoted one taken as written.
  std::vector<std::string> names;
  for (const std::string& item : items) {
    std::string cur;
    bool quoted = false, was_quoted = false;
    auto flush = [&] {
      while (!cur.empty() && !was_quoted && (cur.back() == ' ' || cur.back() == '\t'))
        cur.pop_back();
      names.push_back(cur);
      cur.clear();
      was_quoted = false;
    };
    for (size_t i = 0; i < item.size(); ++i) {
      char c = item[i];
      if (quoted) {
        if (c == '"' && i + 1 < item.size() && item[i + 1] == '"') {
          cur += '"';
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          cur += c;
        }
      } else if (c == '"') {
        quoted = was_quoted = true;
      } else if (c == ',') {
        flush();
      } else if (!(cur.empty() && (c == ' ' || c == '\t'))) {
        cur += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
    }
    flush();
  }
  for (size_t i = 1; i < names.size(); ++i) {
    if (names[i] == "pg_catalog") return false;
  }
  return true;
}

}  // namespace phigate::sql
