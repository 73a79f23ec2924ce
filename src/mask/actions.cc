#include "mask/actions.h"

#include <algorithm>

#include "common/crypto.h"

namespace phigate::mask {
namespace {

// Counts UTF-8 code points by their lead bytes, so partial masking never splits a character.
bool is_lead(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }

void append_partial(std::string_view v, std::string& out) {
  size_t chars = 0;
  for (char c : v) chars += is_lead(c);
  size_t keep_from = chars > 4 ? chars - 4 : chars;  // values of ≤ 4 chars are masked entirely
  size_t index = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (is_lead(v[i])) ++index;
    if (index > keep_from) {
      out.push_back(v[i]);
    } else if (is_lead(v[i])) {
      out.push_back('*');
    }
  }
}

void append_hash(std::string_view v, std::string_view key, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  Sha256 mac = hmac_sha256(as_bytes(key), as_bytes(v));
  out.append("tok_");
  // 64 bits of the MAC: collisions among distinct values of one column stay negligible while the
  // token stays short enough for the column widths downstream jobs expect.
  for (size_t i = 0; i < 8; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xF]);
  }
}

void append_masked(std::string_view v, std::string_view name, const ActionOptions& o,
                   std::string& out) {
  switch (o.action) {
    case Action::kRedact:
      out.append(o.redact_prefix).append(name).append(o.redact_suffix);
      return;
    case Action::kPartial:
      append_partial(v, out);
      return;
    case Action::kHash:
      append_hash(v, o.hmac_key, out);
      return;
    case Action::kNull:
      return;
  }
}

}  // namespace

Result<Action> parse_action(std::string_view name) {
  if (name == "redact") return Action::kRedact;
  if (name == "partial") return Action::kPartial;
  if (name == "hash") return Action::kHash;
  if (name == "null") return Action::kNull;
  return make_error("mask_config", "unknown mask action \"" + std::string(name) +
                                       "\" (redact, partial, hash, null)");
}

Applied apply_findings(std::string_view text, std::span<const Finding> findings,
                       const ActionOptions& options, std::string& out) {
  out.clear();
  if (findings.empty()) {
    out.append(text);
    return Applied::kUnchanged;
  }
  if (options.action == Action::kNull) return Applied::kNull;
  size_t pos = 0;
  for (const Finding& f : findings) {
    // Defensive: a finding out of order or out of range is clamped rather than trusted, so the
    // output can never leak bytes of an overlapping finding or read past `text`.
    size_t b = std::max<size_t>(f.begin, pos);
    size_t e = std::min<size_t>(f.end, text.size());
    if (b >= e) continue;
    out.append(text.substr(pos, b - pos));
    append_masked(text.substr(b, e - b), f.name, options, out);
    pos = e;
  }
  out.append(text.substr(pos));
  return Applied::kMasked;
}

Applied apply_whole(std::string_view value, std::string_view name, const ActionOptions& options,
                    std::string& out) {
  out.clear();
  if (options.action == Action::kNull) return Applied::kNull;
  append_masked(value, name, options, out);
  return Applied::kMasked;
}

}  // namespace phigate::mask
