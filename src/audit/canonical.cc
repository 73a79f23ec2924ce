#include "audit/canonical.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include "audit/canonical_plain.h"
#include "common/crypto.h"

namespace phigate::audit {
namespace {

using nlohmann::json;

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if none starts there.
// Table 3-7 of the Unicode standard, which is also what nlohmann's serializer accepts.
size_t utf8_seq_len(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    return k < s.size() && at(k) >= lo && at(k) <= hi;
  };
  uint8_t b = at(i);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (b == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;  // no surrogates
  if (b == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b >= 0xF1 && b <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

// Hand-written encoder: nlohmann's object building costs ~4.5 us per record; this one writes each
// key as a literal of known length and copies a string value in one piece when it holds nothing to
// escape (the common case), so a typical record costs a few hundred ns on the audit writer thread.
// The output is byte-identical to nlohmann's compact dump of the same object (tests compare the
// two), which is also what Python's json.dumps(sort_keys=True, separators=(",", ":"),
// ensure_ascii=False) gives.
class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out), start_(out.size()) {}

  void raw(std::string_view s) { out_.append(s); }
  size_t pos() const { return out_.size() - start_; }

  // `k` is the literal `"name":` (with a leading comma for every field but the first).
  void field(std::string_view k, std::string_view v) {
    out_.append(k);
    str(v);
  }
  // Optional fields (appended after the first release) are left out while empty, so older records
  // encode exactly as they did.
  void optional(std::string_view k, std::string_view v) {
    if (!v.empty()) field(k, v);
  }
  void field(std::string_view k, uint64_t v) {
    out_.append(k);
    append_num(v);
  }
  void field(std::string_view k, int64_t v) {
    out_.append(k);
    append_num(v);
  }
  void field(std::string_view k, const std::vector<std::string>& v) {
    out_.append(k);
    str_array(v);
  }
  void field(std::string_view k, const std::map<std::string, uint64_t>& v) {
    out_.append(k);
    masked(v);
  }

 private:
  // Bytes that are neither plain ASCII to copy as is: controls, `"`, `\` and anything >= 0x80
  // (which must be checked for well-formed UTF-8).
  static bool plain(std::string_view s) { return canonical_detail::plain(s); }
  void str(std::string_view s) {
    if (plain(s)) {
      out_ += '"';
      out_.append(s);
      out_ += '"';
    } else if (is_valid_utf8(s)) {
      escaped(s);
    } else {
      escaped(sanitize_utf8(s));
    }
  }
  void str_array(const std::vector<std::string>& v) {
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ',';
      str(v[i]);
    }
    out_ += ']';
  }
  void masked(const std::map<std::string, uint64_t>& m) {
    bool clean = true;
    for (const auto& kv : m) clean = clean && is_valid_utf8(kv.first);
    if (clean) return counts(m);
    // Sanitizing may reorder keys or make two equal: re-sort, and sum the counts of keys that
    // collide so nothing is lost and the result does not depend on insertion order.
    std::map<std::string, uint64_t> fixed;
    for (const auto& [k, v] : m) fixed[sanitize_utf8(k)] += v;
    counts(fixed);
  }

  template <class T>
  void append_num(T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void counts(const std::map<std::string, uint64_t>& m) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) out_ += ',';
      first = false;
      str(k);  // keys are valid UTF-8 here
      out_ += ':';
      append_num(v);
    }
    out_ += '}';
  }
  // JSON string escaping as nlohmann (ensure_ascii=false) does it: `"` `\` and the short escapes,
  // other C0 controls as \u00xx with lowercase hex, everything else (valid UTF-8) raw.
  void escaped(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    size_t run = 0;  // start of the pending run of bytes that need no escaping
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.substr(run, i - run));
      run = i + 1;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          out_ += "\\u00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 15];
      }
    }
    out_.append(s.substr(run));
    out_ += '"';
  }

  std::string& out_;
  size_t start_;
};

// Every field in sorted key order, for any writer W (Encoder, Sizer, PlainWriter): one list, so
// the fast and the general path cannot disagree on keys or order. `hash` (when given) sits between
// "groups" and "issuer"; returns w.pos() at that point, where the hash field goes (or went).
template <class W>
size_t fields(const Event& e, const std::string* hash, W& w) {
  using namespace std::literals;
  w.raw("{"sv);
  // act_chain sorts first but is optional, so act_sub carries the comma only after it.
  w.optional("\"act_chain\":"sv, e.act_chain);
  w.field(e.act_chain.empty() ? "\"act_sub\":"sv : ",\"act_sub\":"sv, e.act_sub);
  w.field(",\"action\":"sv, e.action);
  // Appended fields are omitted when empty, so records written before them keep their hashes.
  w.optional(",\"approval_id\":"sv, e.approval_id);
  w.field(",\"approver\":"sv, e.approver);
  w.field(",\"bytes\":"sv, e.bytes);
  w.optional(",\"capture\":"sv, e.capture);
  w.field(",\"client_addr\":"sv, e.client_addr);
  w.optional(",\"client_tls\":"sv, e.client_tls);
  w.field(",\"client_user\":"sv, e.client_user);
  w.field(",\"decision\":"sv, e.decision);
  w.field(",\"duration_ns\":"sv, e.duration_ns);
  w.field(",\"error_code\":"sv, e.error_code);
  w.field(",\"groups\":"sv, e.groups);
  size_t hash_at = w.pos();
  if (hash) w.field(",\"hash\":"sv, *hash);
  w.field(",\"issuer\":"sv, e.issuer);
  w.field(",\"jti\":"sv, e.jti);
  w.field(",\"masked\":"sv, e.masked);
  w.field(",\"message\":"sv, e.message);
  w.field(",\"node_id\":"sv, e.node_id);
  w.field(",\"parameters\":"sv, e.parameters);
  w.field(",\"prev_hash\":"sv, e.prev_hash);
  w.field(",\"protocol\":"sv, e.protocol);
  w.field(",\"ref_seq\":"sv, e.ref_seq);
  w.field(",\"resource\":"sv, e.resource);
  w.field(",\"roles\":"sv, e.roles);
  w.field(",\"rows\":"sv, e.rows);
  w.field(",\"rule\":"sv, e.rule);
  w.field(",\"seq\":"sv, e.seq);
  w.field(",\"session_id\":"sv, e.session_id);
  w.field(",\"statement_kind\":"sv, e.statement_kind);
  w.field(",\"status\":"sv, e.status);
  w.field(",\"sub\":"sv, e.sub);
  w.field(",\"task_id\":"sv, e.task_id);
  w.field(",\"time_ns\":"sv, e.time_ns);
  w.field(",\"type\":"sv, e.type);
  w.optional(",\"upstream_tls\":"sv, e.upstream_tls);
  w.field(",\"workflow_id\":"sv, e.workflow_id);
  w.raw("}"sv);
  return hash_at;
}

// Appends the record (with `hash` when given) to `out`; returns the offset, from the start of
// what it appended, where the hash field goes (or went).
size_t encode(const Event& e, const std::string* hash, std::string& out) {
  const size_t start = out.size();
  canonical_detail::Sizer sizer;
  fields(e, hash, sizer);
  if (sizer.all_plain()) {
    // One resize (the bound is exact but for numbers), raw writes, then trim to what was written.
    out.resize(start + sizer.size());
    canonical_detail::PlainWriter w(out.data() + start);
    size_t hash_at = fields(e, hash, w);
    out.resize(static_cast<size_t>(w.end() - out.data()));
    return hash_at;
  }
  out.reserve(start + sizer.size() + sizer.size() / 2);
  Encoder w(out);
  return fields(e, hash, w);
}

constexpr size_t kFieldCount = 32;  // every mandatory Event member except `hash`

// Present only when non-empty (see Encoder::optional).
struct OptionalField {
  const char* key;
  std::string Event::*member;
};
constexpr OptionalField kOptionalFields[] = {
    {"act_chain", &Event::act_chain},       {"approval_id", &Event::approval_id},
    {"capture", &Event::capture},           {"client_tls", &Event::client_tls},
    {"upstream_tls", &Event::upstream_tls},
};

bool get(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get_ref<const std::string&>();
  return true;
}

bool get(const json& j, const char* key, uint64_t& out) {
  auto it = j.find(key);
  // nlohmann parses every non-negative integer literal as unsigned; negative ones and floats fail.
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<uint64_t>();
  return true;
}

bool get(const json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(u);
  } else {
    out = it->get<int64_t>();
  }
  return true;
}

bool get(const json& j, const char* key, std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return false;
  out.clear();
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_string()) return false;
    out.push_back(v.get<std::string>());
  }
  return true;
}

bool get(const json& j, const char* key, std::map<std::string, uint64_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return false;
  out.clear();
  for (const auto& [k, v] : it->items()) {
    if (!v.is_number_unsigned()) return false;
    out.emplace(k, v.get<uint64_t>());
  }
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_seq_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string canonical_json(const Event& e) {
  std::string out;
  encode(e, nullptr, out);
  return out;
}

void append_json_line(const Event& e, std::string& out) { encode(e, &e.hash, out); }

ChainHasher::ChainHasher()
    : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}

ChainHasher::~ChainHasher() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

void ChainHasher::hash_hex(std::string_view prev_hash, std::string_view head, std::string_view tail,
                           char* hex) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Streaming the pieces avoids building "prev\ncanonical" in a temporary string, and the
  // pre-fetched digest skips OpenSSL 3's per-call algorithm lookup that EVP_Digest does.
  bool ok = md_ && ctx_ && EVP_DigestInit_ex(ctx_, md_, nullptr) == 1 &&
            EVP_DigestUpdate(ctx_, prev_hash.data(), prev_hash.size()) == 1 &&
            EVP_DigestUpdate(ctx_, "\n", 1) == 1 &&
            EVP_DigestUpdate(ctx_, head.data(), head.size()) == 1 &&
            EVP_DigestUpdate(ctx_, tail.data(), tail.size()) == 1 &&
            EVP_DigestFinal_ex(ctx_, d, &len) == 1 && len == 32;
  if (!ok) {  // allocation failure inside OpenSSL: fall back to the one-shot path
    std::string input;
    input.reserve(prev_hash.size() + 1 + head.size() + tail.size());
    input.append(prev_hash);
    input += '\n';
    input.append(head);
    input.append(tail);
    Sha256 h = sha256(std::string_view(input));
    std::copy(h.begin(), h.end(), d);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[d[i] >> 4];
    hex[2 * i + 1] = kHex[d[i] & 15];
  }
}

std::string ChainHasher::hash(std::string_view prev_hash, std::string_view head,
                              std::string_view tail) {
  std::string out(64, '\0');
  hash_hex(prev_hash, head, tail, out.data());
  return out;
}

void append_chained_line(Event& e, ChainHasher& hasher, std::string& out) {
  using namespace std::literals;
  constexpr std::string_view kKey = ",\"hash\":\""sv;
  constexpr size_t kHexLen = 64;
  const size_t start = out.size();
  // Plain (hex digits), so it neither escapes nor sends the record off the fast path.
  e.hash.assign(kHexLen, '0');
  const size_t hash_at = encode(e, &e.hash, out);
  const size_t value_at = start + hash_at + kKey.size();
  const size_t tail_at = value_at + kHexLen + 1;  // past the closing quote
  std::string_view line(out);
  // Into the placeholders' own memory: no hash string is allocated per record.
  hasher.hash_hex(e.prev_hash, line.substr(start, hash_at), line.substr(tail_at),
                  out.data() + value_at);
  e.hash.assign(out, value_at, kHexLen);
}

std::string chain_hash(const std::string& prev_hash, const std::string& canonical) {
  thread_local ChainHasher hasher;
  return hasher.hash(prev_hash, canonical);
}

std::string to_json_line(const Event& e) {
  std::string out;
  append_json_line(e, out);
  return out;
}

std::optional<Event> from_json_line(const std::string& line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Event e;
  size_t optional = 0;
  for (const auto& f : kOptionalFields) {
    if (!j.contains(f.key)) continue;
    // Present means non-empty: an empty one would not re-encode to the same bytes.
    if (!get(j, f.key, e.*f.member) || (e.*f.member).empty()) return std::nullopt;
    ++optional;
  }
  if (j.size() != kFieldCount + 1 + optional) return std::nullopt;
  // Every field must be present with its type; with the size check above this also rejects
  // unknown fields, which would otherwise sit in the record outside the hash.
  bool ok =
      get(j, "seq", e.seq) && get(j, "node_id", e.node_id) && get(j, "prev_hash", e.prev_hash) &&
      get(j, "hash", e.hash) && get(j, "time_ns", e.time_ns) &&
      get(j, "session_id", e.session_id) && get(j, "type", e.type) && get(j, "sub", e.sub) &&
      get(j, "issuer", e.issuer) && get(j, "jti", e.jti) && get(j, "task_id", e.task_id) &&
      get(j, "workflow_id", e.workflow_id) && get(j, "act_sub", e.act_sub) &&
      get(j, "groups", e.groups) && get(j, "roles", e.roles) &&
      get(j, "client_user", e.client_user) && get(j, "client_addr", e.client_addr) &&
      get(j, "resource", e.resource) && get(j, "protocol", e.protocol) &&
      get(j, "action", e.action) && get(j, "statement_kind", e.statement_kind) &&
      get(j, "parameters", e.parameters) && get(j, "decision", e.decision) &&
      get(j, "rule", e.rule) && get(j, "approver", e.approver) && get(j, "message", e.message) &&
      get(j, "ref_seq", e.ref_seq) && get(j, "status", e.status) && get(j, "rows", e.rows) &&
      get(j, "bytes", e.bytes) && get(j, "error_code", e.error_code) &&
      get(j, "duration_ns", e.duration_ns) && get(j, "masked", e.masked);
  if (!ok) return std::nullopt;
  return e;
}

}  // namespace phigate::audit
