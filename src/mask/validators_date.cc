// DATE_OF_BIRTH: calendar dates in the usual written forms. A date alone is not PHI-specific
// (visit dates, lab dates), so detectors.cc only reports one with a context word such as "DOB" or
// "born" before it; this file only decides whether the text ending at `end` is a real date.
//
// Forms: 1980-04-02, 1980/4/2, 04/02/1980, 4-2-80, 02.04.1980 (month/day or day/month),
// April 2, 1980, Apr. 2nd 1980, 2 April 1980, 02-Apr-1980.
#include <string_view>

#include "mask/validators.h"
#include "mask/validators_kinds.h"

namespace phigate::mask::detail {
namespace {

bool valid_day(int month, int day, int year) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  if (month == 2 && day == 29 && year >= 0 &&
      !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return false;
  return true;
}

// The digit run ending at `end`: sets *begin and returns its value (capped), or -1 if none.
int run_back(std::string_view t, size_t end, size_t max_len, size_t* begin) {
  size_t b = end;
  while (b > 0 && end - b <= max_len && is_digit(t[b - 1])) --b;
  if (b == end || end - b > max_len) return -1;
  int v = 0;
  for (size_t i = b; i < end; ++i) v = v * 10 + (t[i] - '0');
  *begin = b;
  return v;
}

// Month name (full or three-letter, optional '.') ending at `end`; returns 1-12 or 0.
int month_back(std::string_view t, size_t end, size_t* begin) {
  static constexpr std::string_view kMonths[] = {"january",   "february", "march",    "april",
                                                 "may",       "june",     "july",     "august",
                                                 "september", "october",  "november", "december"};
  if (end > 0 && t[end - 1] == '.') --end;
  size_t b = end;
  while (b > 0 && end - b < 10 && is_alpha(t[b - 1])) --b;
  if (b == end || (b > 0 && is_alnum(t[b - 1]))) return 0;
  size_t n = end - b;
  for (int m = 0; m < 12; ++m) {
    std::string_view name = kMonths[m];
    if (n != name.size() && n != 3 && !(m == 8 && n == 4)) continue;  // "Sept"
    if (n > name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n && same; ++i) same = to_lower(t[b + i]) == name[i];
    if (same) {
      *begin = b;
      return m + 1;
    }
  }
  return 0;
}

bool year_ok(int year, size_t digits) {
  return digits == 2 || (digits == 4 && year >= 1880 && year <= 2099);
}

// "... <day>[st|nd|rd|th][,] <year>" after a month name, or "<day>[ -]<month>[ -]<year>".
bool named_month_date(std::string_view t, size_t year_begin, int year, Confirmed* out) {
  size_t p = year_begin;
  if (p == 0 || (t[p - 1] != ' ' && t[p - 1] != '-' && t[p - 1] != ',')) return false;
  while (p > 0 && year_begin - p < 2 && (t[p - 1] == ' ' || t[p - 1] == ',' || t[p - 1] == '-'))
    --p;
  size_t mb = 0;
  if (int month = month_back(t, p, &mb); month != 0) {  // "2 April 1980" / "02-Apr-1980"
    if (mb < 2 || (t[mb - 1] != ' ' && t[mb - 1] != '-')) return false;
    size_t db = 0;
    int day = run_back(t, mb - 1, 2, &db);
    if (day < 0 || !boundary_before(t, db) || !valid_day(month, day, year)) return false;
    *out = {db, 0.6f};
    return true;
  }
  // "April 2, 1980" / "Apr. 2nd 1980"
  size_t q = p;
  if (q >= 2 && is_alpha(t[q - 1]) && is_alpha(t[q - 2])) q -= 2;  // ordinal suffix
  size_t db = 0;
  int day = run_back(t, q, 2, &db);
  if (day < 0 || db < 2 || t[db - 1] != ' ') return false;
  int month = month_back(t, db - 1, &mb);
  if (month == 0 || !valid_day(month, day, year)) return false;
  *out = {mb, 0.6f};
  return true;
}

}  // namespace

bool confirm_date(std::string_view t, size_t end, Confirmed* out) {
  if (!boundary_after(t, end) && !(end < t.size() && t[end] == '.')) return false;
  size_t rb = 0;
  int last = run_back(t, end, 4, &rb);
  if (last < 0 || !(rb == 0 || !is_digit(t[rb - 1]))) return false;
  size_t last_len = end - rb;
  char sep = rb > 0 ? t[rb - 1] : '\0';
  bool numeric_sep = sep == '/' || sep == '-' || sep == '.';
  if (numeric_sep && rb >= 2) {
    size_t mb = 0;
    int mid = run_back(t, rb - 1, 2, &mb);
    if (mid >= 0 && mb >= 2 && t[mb - 1] == sep) {
      size_t fb = 0;
      int first = run_back(t, mb - 1, 4, &fb);
      size_t first_len = mb - 1 - fb;
      if (first >= 0 && boundary_before(t, fb)) {
        bool ok = false;
        if (first_len == 4 && last_len <= 2) {  // year-month-day
          ok = year_ok(first, 4) && valid_day(mid, last, first);
        } else if (first_len <= 2 && (last_len == 4 || last_len == 2)) {  // m/d/y or d/m/y
          int year = last_len == 4 ? last : -1;
          ok = year_ok(last, last_len) &&
               (valid_day(first, mid, year) || valid_day(mid, first, year));
        }
        if (ok) {
          *out = {fb, 0.6f};
          return true;
        }
      }
    }
  }
  if (last_len == 4 && year_ok(last, 4)) return named_month_date(t, rb, last, out);
  return false;
}

}  // namespace phigate::mask::detail
