#include "audit/record_view.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace phigate::audit {
namespace {

enum Kind : uint8_t { kStr, kUint, kInt, kArr, kMap };

struct Key {
  std::string_view name;
  Kind kind;
  // Appended later (canonical.cc kOptionalFields): present only when non-empty.
  bool optional = false;
};

// canonical.cc's encode() order (sorted keys), `hash` included.
constexpr Key kKeys[] = {
    {"act_chain", kStr, true},
    {"act_sub", kStr},
    {"action", kStr},
    {"approval_id", kStr, true},
    {"approver", kStr},
    {"bytes", kUint},
    {"capture", kStr, true},
    {"client_addr", kStr},
    {"client_tls", kStr, true},
    {"client_user", kStr},
    {"decision", kStr},
    {"duration_ns", kInt},
    {"error_code", kStr},
    {"groups", kArr},
    {"hash", kStr},
    {"issuer", kStr},
    {"jti", kStr},
    {"masked", kMap},
    {"message", kStr},
    {"node_id", kStr},
    {"parameters", kArr},
    {"prev_hash", kStr},
    {"protocol", kStr},
    {"ref_seq", kUint},
    {"resource", kStr},
    {"roles", kArr},
    {"rows", kUint},
    {"rule", kStr},
    {"seq", kUint},
    {"session_id", kStr},
    {"statement_kind", kStr},
    {"status", kStr},
    {"sub", kStr},
    {"task_id", kStr},
    {"time_ns", kInt},
    {"type", kStr},
    {"upstream_tls", kStr, true},
    {"workflow_id", kStr},
};

constexpr ptrdiff_t index_of(std::string_view name) {
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    if (kKeys[i].name == name) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}
constexpr ptrdiff_t kSeqIndex = index_of("seq"), kTimeIndex = index_of("time_ns"),
                    kHashIndex = index_of("hash"), kPrevIndex = index_of("prev_hash"),
                    kNodeIndex = index_of("node_id"), kSessionIndex = index_of("session_id"),
                    kTypeIndex = index_of("type"), kSubIndex = index_of("sub"),
                    kResourceIndex = index_of("resource");
static_assert(kSeqIndex >= 0 && kTimeIndex >= 0 && kHashIndex >= 0 && kResourceIndex >= 0);
constexpr ptrdiff_t kRolesIndex = index_of("roles");
static_assert(kRolesIndex >= 0);

using Member = std::string_view RecordView::*;

// The RecordView member a session summary reads, by key index (nullptr: none), built once at
// compile time so the per-record walk only indexes an array.
constexpr std::array<Member, std::size(kKeys)> make_summary_members() {
  constexpr std::pair<std::string_view, Member> kFields[] = {
      {"decision", &RecordView::decision},
      {"status", &RecordView::status},
      {"issuer", &RecordView::issuer},
      {"task_id", &RecordView::task_id},
      {"workflow_id", &RecordView::workflow_id},
      {"act_sub", &RecordView::act_sub},
      {"client_addr", &RecordView::client_addr},
      {"client_user", &RecordView::client_user},
      {"protocol", &RecordView::protocol},
      {"client_tls", &RecordView::client_tls},
      {"upstream_tls", &RecordView::upstream_tls},
      {"capture", &RecordView::capture}};
  std::array<Member, std::size(kKeys)> out{};
  for (const auto& [name, member] : kFields) out[static_cast<size_t>(index_of(name))] = member;
  return out;
}
constexpr auto kSummaryMembers = make_summary_members();

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  size_t pos() const { return i_; }
  bool at_end() const { return i_ == s_.size(); }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // Whether the next field is `name` (after a comma unless it is the first field).
  bool at_key(bool first, std::string_view name) const {
    size_t j = i_;
    if (!first) {
      if (j >= s_.size() || s_[j] != ',') return false;
      ++j;
    }
    return s_.substr(j, 1) == "\"" && s_.substr(j + 1, name.size()) == name &&
           s_.substr(j + 1 + name.size(), 2) == "\":";
  }
  bool eat(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  // A JSON string; `body` gets the raw (escaped) contents. Escapes are not decoded or validated
  // here: a line that is not canonical fails the chain hash anyway.
  bool str(std::string_view& body, bool& escaped) {
    if (!eat('"')) return false;
    const size_t start = i_;
    const char* base = s_.data();
    for (;;) {
      const void* q = std::memchr(base + i_, '"', s_.size() - i_);
      if (!q) return false;
      size_t at = static_cast<size_t>(static_cast<const char*>(q) - base);
      // The quote ends the string unless an odd number of backslashes precede it.
      size_t bs = 0;
      while (at - bs > start && base[at - bs - 1] == '\\') ++bs;
      i_ = at + 1;
      if (bs % 2 == 0) {
        body = s_.substr(start, at - start);
        escaped = escaped || std::memchr(body.data(), '\\', body.size()) != nullptr;
        return true;
      }
    }
  }
  bool uint(uint64_t& out) {
    size_t start = i_;
    out = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      uint64_t d = static_cast<uint64_t>(s_[i_] - '0');
      if (out > (UINT64_MAX - d) / 10) return false;
      out = out * 10 + d;
      ++i_;
    }
    size_t n = i_ - start;
    return n > 0 && !(n > 1 && s_[start] == '0');
  }
  bool sint(int64_t& out) {
    bool neg = eat('-');
    uint64_t u = 0;
    if (!uint(u)) return false;
    if (neg) {
      if (u > static_cast<uint64_t>(INT64_MAX) + 1) return false;
      out = static_cast<int64_t>(0 - u);
    } else {
      if (u > static_cast<uint64_t>(INT64_MAX)) return false;
      out = static_cast<int64_t>(u);
    }
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool parse_record_view(std::string_view line, RecordView& out) {
  out = RecordView{};
  Cursor c(line);
  if (!c.eat('{')) return false;
  bool first = true;
  for (const Key& k : kKeys) {
    if (k.optional && !c.at_key(first, k.name)) continue;
    const size_t field_begin = c.pos();
    if (!first && !c.eat(',')) return false;
    first = false;
    if (!c.eat('"') || !c.eat(k.name) || !c.eat("\":")) return false;
    std::string_view s;
    bool esc = false;
    switch (k.kind) {
      case kStr:
        if (!c.str(s, esc)) return false;
        if (k.optional && s.empty()) return false;  // an empty optional field is omitted
        break;
      case kUint: {
        uint64_t u = 0;
        if (!c.uint(u)) return false;
        if (&k == &kKeys[kSeqIndex]) out.seq = u;
        break;
      }
      case kInt: {
        int64_t v = 0;
        if (!c.sint(v)) return false;
        if (&k == &kKeys[kTimeIndex]) out.time_ns = v;
        break;
      }
      case kArr: {
        const size_t arr_begin = c.pos();
        if (!c.eat('[')) return false;
        if (!c.eat(']')) {
          do {
            std::string_view item;
            bool e2 = false;
            if (!c.str(item, e2)) return false;
          } while (c.eat(','));
          if (!c.eat(']')) return false;
        }
        if (&k == &kKeys[kRolesIndex]) {
          out.roles = line.substr(arr_begin, c.pos() - arr_begin);
          out.summary_escaped = out.summary_escaped || out.roles.find('\\') != out.roles.npos;
        }
        break;
      }
      case kMap: {
        if (!c.eat('{')) return false;
        if (!c.eat('}')) {
          do {
            std::string_view key;
            bool e2 = false;
            uint64_t n = 0;
            if (!c.str(key, e2) || !c.eat(':') || !c.uint(n)) return false;
          } while (c.eat(','));
          if (!c.eat('}')) return false;
        }
        break;
      }
    }
    if (k.kind != kStr) continue;
    // Only the fields callers read are kept; `escaped` covers exactly those.
    std::string_view* dst = nullptr;
    switch (&k - kKeys) {
      case kHashIndex:
        dst = &out.hash;
        out.hash_field_begin = field_begin;
        out.hash_field_end = c.pos();
        break;
      case kPrevIndex:
        dst = &out.prev_hash;
        break;
      case kNodeIndex:
        dst = &out.node_id;
        break;
      case kSessionIndex:
        dst = &out.session_id;
        break;
      case kTypeIndex:
        dst = &out.type;
        break;
      case kSubIndex:
        dst = &out.sub;
        break;
      case kResourceIndex:
        dst = &out.resource;
        break;
      default:
        break;
    }
    if (dst) {
      *dst = s;
      out.escaped = out.escaped || esc;
      continue;
    }
    if (Member m = kSummaryMembers[static_cast<size_t>(&k - kKeys)]) {
      out.*m = s;
      out.summary_escaped = out.summary_escaped || esc;
    }
  }
  if (!c.eat('}') || !c.at_end()) return false;
  return is_hex64(out.hash) && is_hex64(out.prev_hash);
}

void record_chain_digest(std::string_view line, const RecordView& v, uint8_t out[32]) {
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  struct MdDeleter {
    void operator()(EVP_MD* m) const { EVP_MD_free(m); }
  };
  // Per thread: verification hashes every record, possibly on several threads at once. The digest
  // is fetched once (OpenSSL 3 looks the algorithm up on every EVP_sha256() init otherwise).
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  thread_local std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  unsigned int len = 0;
  std::string_view head = line.substr(0, v.hash_field_begin);
  std::string_view rest = line.substr(v.hash_field_end);
  bool ok = ctx && md && EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), v.prev_hash.data(), v.prev_hash.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), "\n", 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), head.data(), head.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), rest.data(), rest.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 && len == 32;
  // An OpenSSL allocation failure yields all zeros, which matches no hash: fails closed.
  if (!ok) std::fill(out, out + 32, uint8_t{0});
}

bool digest_equals_hex(const uint8_t d[32], std::string_view hex) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (hex.size() != 64) return false;
  for (int i = 0; i < 32; ++i) {
    if (hex[2 * i] != kHex[d[i] >> 4] || hex[2 * i + 1] != kHex[d[i] & 15]) return false;
  }
  return true;
}

}  // namespace phigate::audit
