// COPY TO STDOUT rows (text and CSV formats, PostgreSQL docs "COPY — File Formats"): split one
// CopyData row into fields, unescape each, mask it like a DataRow value, and escape it again. A
// field nothing matched is copied through byte for byte.
#include "proxy/pg_masking.h"

namespace phigate::proxy {

namespace {

// Where one raw field lies in the row, and whether it is the NULL marker.
struct RawField {
  uint32_t begin = 0, end = 0;
  bool null = false;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Text format: backslash sequences (\b \f \n \r \t \v \digits \xhh, else the char itself).
void unescape_text(std::string_view s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 == s.size()) {
      out.push_back(c);
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x': {
        int v = 0, digits = 0;
        while (digits < 2 && i + 1 < s.size() && hex_value(s[i + 1]) >= 0) {
          v = v * 16 + hex_value(s[++i]);
          ++digits;
        }
        out.push_back(digits ? static_cast<char>(v) : 'x');
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', digits = 1;
          while (digits < 3 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7') {
            v = v * 8 + (s[++i] - '0');
            ++digits;
          }
          out.push_back(static_cast<char>(v));
        } else {
          out.push_back(e);
        }
    }
  }
}

void unescape_csv(std::string_view s, const CopyPlan& p, std::string& out) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool has_next = i + 1 < s.size();
    if (!quoted) {
      if (c == p.quote)
        quoted = true;
      else
        out.push_back(c);
    } else if (p.escape != p.quote && c == p.escape && has_next) {
      out.push_back(s[++i]);
    } else if (c == p.quote) {
      if (p.escape == p.quote && has_next && s[i + 1] == p.quote)
        out.push_back(s[++i]);  // "" inside quotes is one quote
      else
        quoted = false;
    } else {
      out.push_back(c);
    }
  }
}

void escape_text(std::string_view s, char delimiter, Bytes& out) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out.push_back('\\');
        out.push_back('\\');
        break;
      case '\n':
        out.push_back('\\');
        out.push_back('n');
        break;
      case '\r':
        out.push_back('\\');
        out.push_back('r');
        break;
      case '\t':
        out.push_back('\\');
        out.push_back('t');
        break;
      default:
        if (c == delimiter) out.push_back('\\');
        out.push_back(static_cast<uint8_t>(c));
    }
  }
}

void escape_csv(std::string_view s, const CopyPlan& p, Bytes& out) {
  bool quote = s.empty() || s == p.null_string ||
               s.find_first_of(std::string{p.delimiter, p.quote, '\r', '\n', p.escape}) !=
                   std::string_view::npos;
  if (!quote) {
    out.insert(out.end(), s.begin(), s.end());
    return;
  }
  out.push_back(static_cast<uint8_t>(p.quote));
  for (char c : s) {
    if (c == p.quote || c == p.escape) out.push_back(static_cast<uint8_t>(p.escape));
    out.push_back(static_cast<uint8_t>(c));
  }
  out.push_back(static_cast<uint8_t>(p.quote));
}

// Splits a row (without its line end) at unescaped/unquoted delimiters.
template <class F>
bool split_row(std::string_view row, const CopyPlan& p, F field) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    char c = row[i];
    if (!p.csv) {
      if (c == '\\') {
        ++i;
        continue;
      }
    } else if (quoted) {
      if (c == p.escape && p.escape != p.quote && i + 1 < row.size()) {
        ++i;
        continue;
      }
      if (c == p.quote) {
        // A doubled quote (escape == quote) stays inside the quotes.
        if (p.escape == p.quote && i + 1 < row.size() && row[i + 1] == p.quote) {
          ++i;
          continue;
        }
        quoted = false;
      }
      continue;
    } else if (c == p.quote) {
      quoted = true;
      continue;
    }
    if (c == p.delimiter) {
      field(start, i);
      start = i + 1;
    }
  }
  if (quoted) return false;
  field(start, row.size());
  return true;
}

}  // namespace

RowMasker::Outcome RowMasker::copy_row(const CopyPlan& plan, ByteSpan data, Bytes& out) {
  if (!profile_) return Outcome::kUnchanged;
  std::string_view row = as_sv(data);
  std::string_view eol;
  if (!row.empty() && row.back() == '\n') {
    row.remove_suffix(1);
    eol = "\n";
    if (!row.empty() && row.back() == '\r') {
      row.remove_suffix(1);
      eol = "\r\n";
    }
  }
  // Fields: unescaped values joined (NUL-separated) for one scan; offsets in starts_.
  thread_local std::vector<RawField> raw;
  raw.clear();
  bool ok = split_row(row, plan, [&](size_t b, size_t e) {
    raw.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e), false});
  });
  if (!ok) return fail("malformed COPY row (unterminated quote)");
  if (!plan.rules.empty() && !plan.header && raw.size() != plan.rules.size())
    return fail("COPY row has " + std::to_string(raw.size()) + " fields, expected " +
                std::to_string(plan.rules.size()));
  joined_.clear();
  starts_.resize(raw.size() + 1);
  fields_.clear();
  bool any_rule = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string_view f = row.substr(raw[i].begin, raw[i].end - raw[i].begin);
    // NULL: the marker as written, unquoted (a quoted CSV field equal to it is a value).
    raw[i].null = f == plan.null_string;
    joined_.push_back('\0');
    starts_[i] = static_cast<uint32_t>(joined_.size());
    if (!raw[i].null) {
      if (plan.csv)
        unescape_csv(f, plan, joined_);
      else
        unescape_text(f, joined_);
    }
    if (!raw[i].null && !plan.rules.empty() && !plan.header && plan.rules[i] >= 0) any_rule = true;
  }
  starts_[raw.size()] = static_cast<uint32_t>(joined_.size() + 1);
  findings_.clear();
  if (profile_->has_detectors() && !joined_.empty() && !profile_->engine().scan(joined_, findings_))
    return fail("the masking scan failed");
  if (findings_.empty() && !any_rule) return Outcome::kUnchanged;

  out.clear();
  out.push_back('d');
  out.insert(out.end(), 4, 0);
  size_t fi = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (i) out.push_back(static_cast<uint8_t>(plan.delimiter));
    std::string_view original = row.substr(raw[i].begin, raw[i].end - raw[i].begin);
    const uint32_t vb = starts_[i], ve = starts_[i + 1] - 1;
    std::string_view value(joined_.data() + vb, ve - vb);
    const int rule = plan.rules.empty() || plan.header ? -1 : plan.rules[i];
    bool masked = false, null = raw[i].null;
    if (!null && rule >= 0) {
      ++rule_counts_[static_cast<size_t>(rule)];
      const auto ru = static_cast<size_t>(rule);
      masked = true;
      null = mask::apply_whole(value, profile_->rule_glob(ru), profile_->rule_options(ru),
                               value_) == mask::Applied::kNull;
    } else if (!null) {
      local_.clear();
      while (fi < findings_.size() && findings_[fi].end <= vb) ++fi;
      for (size_t k = fi; k < findings_.size() && findings_[k].begin < ve; ++k) {
        mask::Finding f = findings_[k];
        f.begin = std::max(f.begin, vb) - vb;
        f.end = std::min(f.end, ve) - vb;
        local_.push_back(f);
        count_detector(f.detector);
      }
      if (!local_.empty()) {
        masked = true;
        null = mask::apply_findings(value, local_, profile_->detector_options(), value_) ==
               mask::Applied::kNull;
      }
    }
    if (!masked) {
      out.insert(out.end(), original.begin(), original.end());
    } else if (null) {
      out.insert(out.end(), plan.null_string.begin(), plan.null_string.end());
    } else if (plan.csv) {
      escape_csv(value_, plan, out);
    } else {
      escape_text(value_, plan.delimiter, out);
    }
  }
  out.insert(out.end(), eol.begin(), eol.end());
  uint32_t len = static_cast<uint32_t>(out.size() - 1);
  out[1] = uint8_t(len >> 24);
  out[2] = uint8_t(len >> 16);
  out[3] = uint8_t(len >> 8);
  out[4] = uint8_t(len);
  return Outcome::kRewritten;
}

}  // namespace phigate::proxy
