#include "cli/time_arg.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "common/duration.h"

namespace phigate::cli {
namespace {

constexpr int64_t kNs = 1'000'000'000;

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

Error bad(std::string_view text) {
  return make_error("invalid", "cannot read \"" + std::string(text) +
                                   "\" as a time: use 2024-05-01, 2024-05-01T12:30:00Z, unix "
                                   "seconds, \"now\" or a duration ago such as 7d");
}

}  // namespace

Result<int64_t> parse_time_arg(std::string_view text, int64_t now_ns) {
  if (text == "now") return now_ns;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
    if (ec != std::errc() || secs > INT64_MAX / kNs) return bad(text);
    return secs * kNs;
  }
  if (text.size() >= 10 && text[4] == '-' && text[7] == '-') {
    std::tm tm{};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!digits(text, 0, 4, y) || !digits(text, 5, 2, mo) || !digits(text, 8, 2, d)) {
      return bad(text);
    }
    int64_t frac_ns = 0, offset_s = 0;
    size_t at = 10;
    if (at < text.size()) {
      if ((text[at] != 'T' && text[at] != ' ') || !digits(text, at + 1, 2, h) ||
          at + 3 >= text.size() || text[at + 3] != ':' || !digits(text, at + 4, 2, mi)) {
        return bad(text);
      }
      at += 6;
      if (at < text.size() && text[at] == ':') {
        if (!digits(text, at + 1, 2, s)) return bad(text);
        at += 3;
      }
      if (at < text.size() && text[at] == '.') {
        int64_t scale = kNs / 10;
        for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
          frac_ns += (text[at] - '0') * scale;
          scale /= 10;
        }
      }
      if (at < text.size() && text[at] == 'Z') {
        ++at;
      } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        int oh = 0, om = 0;
        if (!digits(text, at + 1, 2, oh) || at + 3 >= text.size() || text[at + 3] != ':' ||
            !digits(text, at + 4, 2, om)) {
          return bad(text);
        }
        offset_s = (text[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        at += 6;
      }
      if (at != text.size()) return bad(text);
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad(text);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
    return secs * kNs + frac_ns;
  }
  auto dur = parse_duration(text);
  if (!dur) return bad(text);
  return now_ns - static_cast<int64_t>(dur->count()) * 1'000'000;
}

std::string format_time(int64_t unix_ns) {
  int64_t secs = unix_ns / kNs, ms = (unix_ns % kNs) / 1'000'000;
  if (ms < 0) {
    secs -= 1;
    ms += 1000;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace phigate::cli
