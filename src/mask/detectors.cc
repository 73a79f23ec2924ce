#include "mask/detectors.h"

#include <hs.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/ascii.h"
#include "mask/scanner.h"
#include "mask/validators.h"

namespace phigate::mask {

using detail::Kind;

struct Engine::Pattern {
  uint16_t detector;
  Kind kind;        // kCustom (SOM) or kDeny
  uint32_t length;  // deny term length: its start is end - length
  bool word_begin;  // deny term starts / ends with an alphanumeric: require a word boundary
  bool word_end;
  float score;
};

struct Engine::Detector {
  std::vector<std::string> context;  // lower-case whole words
  uint64_t first[4] = {0, 0, 0, 0};  // bitset of the words' first bytes: the window scan's filter
  bool needs_context = false;
  // Distinct first letters of the words, for the SIMD window search; simd_ok is false when a word
  // starts with a non-letter or there are too many distinct first letters.
  char letters[8] = {};
  int nletters = 0;
  bool simd_ok = true;
  void add(std::string w) {
    auto c = static_cast<unsigned char>(w[0]);
    if (!may_start(w[0])) {
      if (!detail::is_alpha(w[0]) || nletters == 8) {
        simd_ok = false;
      } else {
        letters[nletters++] = w[0];
      }
    }
    first[c >> 6] |= uint64_t{1} << (c & 63);
    context.push_back(std::move(w));
  }
  bool may_start(char ch) const {
    auto c = static_cast<unsigned char>(ch);
    return (first[c >> 6] >> (c & 63)) & 1;
  }
};

namespace {

struct Builtin {
  std::string_view name;
  Kind kinds[2];
  int nkinds;
  std::string_view context;  // space-separated lower-case words (Presidio's public lists as facts)
  bool needs_context;
};

constexpr Builtin kBuiltins[] = {
    {"US_SSN", {Kind::kSsn}, 1, "ssn ssns ss# social security", false},
    {"CREDIT_CARD", {Kind::kCard}, 1, "card credit visa mastercard amex discover cc", false},
    {"EMAIL_ADDRESS", {Kind::kEmail}, 1, "email e-mail mail", false},
    {"PHONE_NUMBER",
     {Kind::kPhoneUs, Kind::kPhoneE164},
     2,
     "phone tel telephone cell cellphone mobile fax call contact",
     false},
    {"US_NPI", {Kind::kNpi}, 1, "npi provider", false},
    {"IP_ADDRESS", {Kind::kIpv4, Kind::kIpv6}, 2, "ip ipv4 ipv6 address host", false},
    {"US_MBI", {Kind::kMbi}, 1, "mbi medicare beneficiary", false},
    {"MEDICAL_LICENSE",
     {Kind::kDea},
     1,
     "dea license licence medical prescriber registration",
     false},
    {"ABA_ROUTING", {Kind::kAba}, 1, "aba routing rtn transit bank", false},
    {"IBAN", {Kind::kIban}, 1, "iban bank account", false},
    {"US_PASSPORT", {Kind::kPassport}, 1, "passport travel document", true},
    {"DATE_OF_BIRTH", {Kind::kDate}, 1, "dob d.o.b birth born birthday birthdate", true},
};

std::atomic<uint64_t> next_engine_id{1};

// One scratch per thread, grown by hs_alloc_scratch to fit every database this thread has used;
// `engine` remembers which database it was last checked against so a warm scan skips the call.
// The other members are this thread's reusable buffers for scan_fields: no allocation per row
// once they have grown.
struct Tagged {
  uint32_t field;
  Finding f;
};
struct ThreadState {
  hs_scratch_t* scratch = nullptr;
  uint64_t engine = 0;
  std::string joined;
  std::vector<uint32_t> starts;
  std::vector<Tagged> hits;
  std::vector<uint32_t> rescan;
  std::vector<Finding> merge;
  std::string padded;  // hs_run's copy of a value that ends near a page boundary
  ~ThreadState() {
    if (scratch) hs_free_scratch(scratch);
  }
};
thread_local ThreadState tls;

// Whole word `w` (lower case) at t[i..], case-insensitively.
bool word_at(std::string_view t, size_t i, std::string_view w) {
  if (i + w.size() > t.size()) return false;
  if (i > 0 && detail::is_alnum(t[i - 1])) return false;
  for (size_t k = 0; k < w.size(); ++k)
    if (detail::to_lower(t[i + k]) != w[k]) return false;
  size_t e = i + w.size();
  return e >= t.size() || !detail::is_alnum(t[e]) || !detail::is_alnum(w.back());
}

}  // namespace

struct Engine::HsContext {
  const Engine* engine;
  std::string_view text;
  const uint32_t* starts;  // field k is text[starts[k], starts[k+1] - 1); the byte after is '\n'
  size_t nfields;
  uint32_t field_offset;  // added to the field index of every hit (single-field rescans)
  std::vector<Tagged>* hits;
  std::vector<uint32_t>* rescan;  // fields a match crossed into: scanned again alone
};

const std::vector<std::string_view>& builtin_detector_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const Builtin& b : kBuiltins) v.push_back(b.name);
    return v;
  }();
  return names;
}

Engine::Engine() : builtins_(std::make_unique<detail::BuiltinSet>()) {}

Engine::~Engine() {
  if (db_) hs_free_database(db_);
}

Result<std::shared_ptr<const Engine>> Engine::compile(const Profile& profile) {
  std::shared_ptr<Engine> e(new Engine());
  e->id_ = next_engine_id.fetch_add(1);
  e->threshold_ = profile.threshold;
  e->context_window_ = std::min<uint32_t>(profile.context_window, 4096);
  e->context_boost_ = profile.context_boost;
  e->exact_scores_ = profile.exact_scores;
  auto add_context = [&](Detector& d, std::string_view words) {
    size_t pos = 0;
    while (pos < words.size()) {
      size_t sp = words.find(' ', pos);
      if (sp == std::string_view::npos) sp = words.size();
      if (sp > pos) d.add(ascii_lower(words.substr(pos, sp - pos)));
      pos = sp + 1;
    }
  };
  for (const std::string& name : profile.detectors) {
    if (std::find(e->names_.begin(), e->names_.end(), name) != e->names_.end()) continue;
    auto it = std::find_if(std::begin(kBuiltins), std::end(kBuiltins),
                           [&](const Builtin& b) { return b.name == name; });
    if (it == std::end(kBuiltins)) {
      std::string all;
      for (std::string_view n : builtin_detector_names())
        all += (all.empty() ? "" : ", ") + std::string(n);
      return make_error("mask_config", "unknown detector \"" + name + "\" (known: " + all + ")");
    }
    auto index = static_cast<uint16_t>(e->names_.size());
    for (int k = 0; k < it->nkinds; ++k) e->builtins_->enable(it->kinds[k], index);
    Detector d;
    d.needs_context = it->needs_context;
    if (profile.builtin_context) add_context(d, it->context);
    e->names_.push_back(name);
    e->detectors_.push_back(std::move(d));
    e->has_builtins_ = true;
  }
  for (size_t k = 0; k < detail::kKindCount; ++k) {
    auto kind = static_cast<Kind>(k);
    if (e->builtins_->on(kind) && kind != Kind::kEmail && kind != Kind::kIpv6)
      e->builtins_->digits = true;
  }

  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  auto new_detector = [&](const std::string& name) -> Result<uint16_t> {
    if (name.empty())
      return make_error("mask_config", "a custom detector or deny list needs a name");
    if (std::find(e->names_.begin(), e->names_.end(), name) != e->names_.end())
      return make_error("mask_config", "duplicate detector name \"" + name + "\"");
    e->names_.push_back(name);
    e->detectors_.emplace_back();
    return static_cast<uint16_t>(e->names_.size() - 1);
  };
  for (const CustomDetector& c : profile.custom) {
    if (c.regex.empty())
      return make_error("mask_config", "custom detector \"" + c.name + "\" needs a regex");
    auto d = new_detector(c.name);
    if (!d) return d.error();
    e->patterns_.push_back({*d, Kind::kCustom, 0, false, false, c.score});
    exprs.push_back(c.regex);
    // SOM only here: phigate cannot know a custom pattern's shape, so hyperscan must find starts.
    // MULTILINE: scan_fields joins a row's fields with '\n', so ^ and $ must hold at each field's
    // edges (for a single value this only widens ^/$ to its lines: more masking, never less).
    flags.push_back(HS_FLAG_SOM_LEFTMOST | HS_FLAG_MULTILINE);
    // \A, \z and \Z would still mean the whole joined buffer: such a profile scans per field.
    if (c.regex.find("\\A") != std::string::npos || c.regex.find("\\z") != std::string::npos ||
        c.regex.find("\\Z") != std::string::npos)
      e->per_field_hs_ = true;
  }
  for (const DenyList& l : profile.deny_lists) {
    auto d = new_detector(l.name);
    if (!d) return d.error();
    for (const std::string& term : l.terms) {
      if (term.empty() || term.find_first_of("\r\n") != std::string::npos)
        return make_error("mask_config",
                          "deny list \"" + l.name + "\" has an empty or multi-line term");
      std::string hex;  // every byte escaped: the term is a literal, never a regex
      static constexpr char kHex[] = "0123456789abcdef";
      for (unsigned char ch : term) {
        hex += "\\x";
        hex += kHex[ch >> 4];
        hex += kHex[ch & 0xF];
      }
      e->patterns_.push_back({*d, Kind::kDeny, static_cast<uint32_t>(term.size()),
                              detail::is_alnum(term.front()), detail::is_alnum(term.back()), 1.0f});
      exprs.push_back(std::move(hex));
      flags.push_back(HS_FLAG_CASELESS);
    }
  }
  for (const ContextWords& cw : profile.context) {
    auto it = std::find(e->names_.begin(), e->names_.end(), cw.detector);
    if (it == e->names_.end())
      return make_error("mask_config", "context words for \"" + cw.detector +
                                           "\", which the profile does not use");
    Detector& d = e->detectors_[static_cast<size_t>(it - e->names_.begin())];
    for (const std::string& w : cw.words)
      if (!w.empty()) d.add(ascii_lower(w));
  }
  for (size_t i = 0; i < e->detectors_.size(); ++i)
    if (e->detectors_[i].needs_context && e->detectors_[i].context.empty())
      return make_error("mask_config", "detector \"" + e->names_[i] + "\" needs context words");
  if (e->names_.size() > std::numeric_limits<uint16_t>::max() - 1)
    return make_error("mask_config", "too many detectors");
  if (exprs.empty()) return std::shared_ptr<const Engine>(std::move(e));

  std::vector<const char*> cexprs;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < exprs.size(); ++i) {
    cexprs.push_back(exprs[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(cexprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &e->db_, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    std::string which;
    if (err && err->expression >= 0 && static_cast<size_t>(err->expression) < e->patterns_.size())
      which = " in detector \"" + e->names_[e->patterns_[err->expression].detector] + "\"";
    hs_free_compile_error(err);
    return make_error("mask_config", "cannot compile masking detectors" + which + ": " + msg);
  }
  // Allocate this thread's scratch now so a database hyperscan cannot run fails at load time.
  if (hs_alloc_scratch(e->db_, &tls.scratch) != HS_SUCCESS)
    return make_error("mask_config", "cannot allocate hyperscan scratch");
  tls.engine = e->id_;
  return std::shared_ptr<const Engine>(std::move(e));
}

int Engine::on_match(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int /*flags*/, void* ctx) {
  auto* c = static_cast<HsContext*>(ctx);
  const Engine* e = c->engine;
  if (id >= e->patterns_.size() || to > c->text.size()) return 0;
  const Pattern& p = e->patterns_[id];
  if (p.kind == Kind::kDeny) {
    if (to < p.length) return 0;
    from = to - p.length;
    if (p.word_begin && from > 0 && detail::is_alnum(c->text[from - 1])) return 0;
    if (p.word_end && to < c->text.size() && detail::is_alnum(c->text[to])) return 0;
  }
  if (from >= to) return 0;
  // The field holding the match's last byte.
  const uint32_t* s = std::upper_bound(c->starts, c->starts + c->nfields, to - 1) - 1;
  auto field = static_cast<uint32_t>(s - c->starts);
  if (to > c->starts[field + 1] - 1) return 0;  // ends on the separator: not a match in any field
  if (from < *s) {
    // Started in an earlier field: with SOM leftmost, an in-field start for this end could be
    // hidden behind it, so this field is scanned again on its own.
    c->rescan->push_back(field);
    return 0;
  }
  c->hits->push_back({field + c->field_offset, Finding{p.detector,
                                                       {},
                                                       static_cast<uint32_t>(from - *s),
                                                       static_cast<uint32_t>(to - *s),
                                                       p.score}});
  return 0;
}

bool Engine::hs_run(std::string_view text, HsContext& ctx) const {
  // No pattern matches empty input (hyperscan rejects such patterns at compile time), and
  // hs_scan refuses a null pointer, which an empty value (a NULL column) may well have.
  if (text.empty()) return true;
  if (tls.engine != id_) {
    if (hs_alloc_scratch(db_, &tls.scratch) != HS_SUCCESS) return false;
    tls.engine = id_;
  }
  // Hyperscan 5.4's AVX-512 block scan reads a byte or two past the end of its input for some
  // lengths (checked on this code's CPU: an input that ends right before a PROT_NONE page faults
  // at lengths 31 and 32). Past a view there is usually more of its buffer, but a buffer can end
  // where a mapping ends, so a view ending within kOverread bytes of a page boundary is scanned
  // from a padded copy; anywhere else the bytes read past it are on the same, mapped page. Every
  // page boundary is a 4 KiB one, whatever the page size. Offsets are unchanged by the copy.
  constexpr uintptr_t kPage = 4096, kOverread = 64;
  const char* data = text.data();
  const auto end = reinterpret_cast<uintptr_t>(data) + text.size();
  if ((kPage - end % kPage) % kPage < kOverread) {
    tls.padded.assign(text);
    tls.padded.append(kOverread, '\0');
    data = tls.padded.data();
  }
  return hs_scan(db_, data, static_cast<unsigned>(text.size()), 0, tls.scratch, &Engine::on_match,
                 &ctx) == HS_SUCCESS;
}

bool Engine::context_near(std::string_view text, const Finding& f) const {
  const Detector& d = detectors_[f.detector];
  size_t i = f.begin > context_window_ ? f.begin - context_window_ : 0;
  auto word_here = [&](size_t p) {
    char c = detail::to_lower(text[p]);
    if (!d.may_start(c) || (p > 0 && detail::is_alnum(text[p - 1]))) return false;
    for (const std::string& word : d.context)
      if (word[0] == c && p + word.size() <= f.begin && word_at(text, p, word)) return true;
    return false;
  };
#if defined(__SSE2__)
  // 16 bytes at a time: OR 0x20 lower-cases exactly the ASCII letters, so one compare per
  // distinct first letter finds every candidate start; only those are checked word by word.
  if (d.simd_ok) {
    const __m128i lower = _mm_set1_epi8(0x20);
    for (; i + 16 <= f.begin; i += 16) {
      __m128i v =
          _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i)), lower);
      __m128i m = _mm_setzero_si128();
      for (int k = 0; k < d.nletters; ++k)
        m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(d.letters[k])));
      for (unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(m)); bits; bits &= bits - 1)
        if (word_here(i + static_cast<unsigned>(__builtin_ctz(bits)))) return true;
    }
  }
#endif
  for (; i < f.begin; ++i)
    if (word_here(i)) return true;
  return false;
}

namespace {

bool by_begin(const Finding& a, const Finding& b) {
  return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
}

// Both segments arrive nearly sorted (built-ins in anchor order, hyperscan hits in end order):
// insertion sort is linear then. A segment that turns out badly ordered (a custom regex with long
// matches) falls back to std::sort.
void sort_segment(std::vector<Finding>& v, size_t lo, size_t hi) {
  size_t budget = 8 * (hi - lo) + 64;
  for (size_t i = lo + 1; i < hi; ++i) {
    Finding x = v[i];
    size_t j = i;
    while (j > lo && by_begin(x, v[j - 1])) {
      v[j] = v[j - 1];
      --j;
      if (--budget == 0) {
        v[j] = x;
        std::sort(v.begin() + static_cast<ptrdiff_t>(lo), v.begin() + static_cast<ptrdiff_t>(hi),
                  by_begin);
        return;
      }
    }
    v[j] = x;
  }
}

}  // namespace

void Engine::finish(std::string_view text, std::vector<Finding>& out, size_t first,
                    size_t mid) const {
  // Context is looked up lazily: only where it decides something (a context-only detector, a
  // score below the threshold, two detectors claiming the same bytes). A finding whose context
  // was not looked up carries score + kUnchecked until the end of this function.
  constexpr float kUnchecked = 2.0f;
  auto resolve = [&](Finding& f) {
    if (f.score < 1.5f) return;
    f.score -= kUnchecked;
    if (context_near(text, f)) f.score = std::min(1.0f, f.score + context_boost_);
  };
  size_t w = first, new_mid = first;
  for (size_t r = first; r < out.size(); ++r) {
    if (r == mid) new_mid = w;
    Finding f = out[r];
    const Detector& d = detectors_[f.detector];
    if (!d.context.empty() && f.score < 1.0f) {
      if (d.needs_context || f.score < threshold_ || exact_scores_) {
        bool near = context_near(text, f);
        if (d.needs_context && !near) continue;
        if (near) f.score = std::min(1.0f, f.score + context_boost_);
      } else {
        f.score += kUnchecked;
      }
    }
    if (f.score < threshold_) continue;
    f.name = names_[f.detector];
    out[w++] = f;
  }
  if (mid >= out.size()) new_mid = w;
  mid = new_mid;
  out.resize(w);
  if (w - first == 1) {  // nothing to sort or merge: the usual case for a short value
    if (out[first].score > 1.5f) out[first].score -= kUnchecked;
    return;
  }
  // Several detectors (and several anchors of one) can cover the same bytes: keep one finding per
  // region, the highest score, then the longest, so masking never double-edits.
  sort_segment(out, first, mid);
  sort_segment(out, mid, out.size());
  if (mid > first && mid < out.size() && by_begin(out[mid], out[mid - 1])) {
    std::vector<Finding>& m = tls.merge;  // reused: no allocation once grown
    m.clear();
    std::merge(out.begin() + static_cast<ptrdiff_t>(first),
               out.begin() + static_cast<ptrdiff_t>(mid), out.begin() + static_cast<ptrdiff_t>(mid),
               out.end(), std::back_inserter(m), by_begin);
    std::copy(m.begin(), m.end(), out.begin() + static_cast<ptrdiff_t>(first));
  }
  w = first;
  for (size_t r = first; r < out.size(); ++r) {
    Finding f = out[r];
    if (w > first && f.begin < out[w - 1].end) {
      Finding& kept = out[w - 1];
      resolve(kept);
      resolve(f);
      if (f.score > kept.score ||
          (f.score == kept.score && f.end - f.begin > kept.end - kept.begin)) {
        // The winner must still cover everything the loser covered: masking the union is the
        // only safe answer when two detectors disagree about an entity's extent.
        uint32_t end = std::max(kept.end, f.end), begin = std::min(kept.begin, f.begin);
        kept = f;
        kept.begin = begin;
        kept.end = end;
      } else {
        kept.end = std::max(kept.end, f.end);
      }
      continue;
    }
    out[w++] = f;
  }
  out.resize(w);
  for (size_t r = first; r < w; ++r)
    if (out[r].score > 1.5f) out[r].score -= kUnchecked;
}

bool Engine::scan(std::string_view text, std::vector<Finding>& out) const {
  if (text.size() >= std::numeric_limits<uint32_t>::max() - 1) return false;
  // A short value the built-in anchors prove clean (a JSON body's names, ids, notes) skips the
  // block pass and finish(); never with custom or deny patterns, which can match anything.
  auto pre = detail::Prefilter::kMaybe;
  if (!db_ && text.size() <= 1024) {
    pre = detail::may_find_builtins(text, *builtins_);
    if (pre == detail::Prefilter::kNothing) return true;
  }
  const size_t first = out.size();
  if (pre == detail::Prefilter::kOnlyAt)
    detail::find_emails(text, *builtins_, out);
  else if (has_builtins_)
    detail::find_builtins(text, *builtins_, out, pre != detail::Prefilter::kNoDigitMatch);
  size_t mid = out.size();
  if (db_) {
    tls.hits.clear();
    tls.rescan.clear();
    uint32_t starts[2] = {0, static_cast<uint32_t>(text.size()) + 1};
    HsContext c{this, text, starts, 1, 0, &tls.hits, &tls.rescan};
    if (!hs_run(text, c)) {
      out.resize(first);
      return false;
    }
    mid = out.size();
    for (const Tagged& h : tls.hits) out.push_back(h.f);
  }
  finish(text, out, first, mid);
  return true;
}

bool Engine::scan_fields(std::span<const std::string_view> fields, RowFindings& out) const {
  out.findings.clear();
  out.offsets.clear();
  out.offsets.push_back(0);
  tls.hits.clear();
  if (db_ && per_field_hs_) {
    for (size_t k = 0; k < fields.size(); ++k) {
      uint32_t one[2] = {0, static_cast<uint32_t>(fields[k].size()) + 1};
      HsContext c1{this, fields[k], one, 1, static_cast<uint32_t>(k), &tls.hits, &tls.rescan};
      if (!hs_run(fields[k], c1)) return false;
    }
  } else if (db_ && !fields.empty()) {
    std::string& joined = tls.joined;
    std::vector<uint32_t>& starts = tls.starts;
    joined.clear();
    starts.clear();
    size_t total = 0;
    for (std::string_view f : fields) total += f.size() + 1;
    if (total >= std::numeric_limits<uint32_t>::max()) return false;
    for (std::string_view f : fields) {
      starts.push_back(static_cast<uint32_t>(joined.size()));
      joined.append(f);
      joined.push_back('\n');
    }
    starts.push_back(static_cast<uint32_t>(joined.size()));
    tls.rescan.clear();
    HsContext c{this,
                std::string_view(joined).substr(0, joined.size() - 1),
                starts.data(),
                fields.size(),
                0,
                &tls.hits,
                &tls.rescan};
    if (!hs_run(c.text, c)) return false;
    if (!tls.rescan.empty()) {
      std::sort(tls.rescan.begin(), tls.rescan.end());
      tls.rescan.erase(std::unique(tls.rescan.begin(), tls.rescan.end()), tls.rescan.end());
      std::vector<uint32_t> again;  // rare (a custom regex crossed fields): allocation is fine
      again.swap(tls.rescan);
      std::erase_if(tls.hits, [&](const Tagged& h) {
        return std::binary_search(again.begin(), again.end(), h.field);
      });
      for (uint32_t k : again) {
        std::string_view f = fields[k];
        uint32_t one[2] = {0, static_cast<uint32_t>(f.size()) + 1};
        HsContext c1{this, f, one, 1, k, &tls.hits, &tls.rescan};
        if (!hs_run(f, c1)) return false;
      }
      std::stable_sort(tls.hits.begin(), tls.hits.end(),
                       [](const Tagged& a, const Tagged& b) { return a.field < b.field; });
    }
  }
  size_t cursor = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const size_t first = out.findings.size();
    if (has_builtins_) detail::find_builtins(fields[i], *builtins_, out.findings);
    const size_t mid = out.findings.size();
    for (; cursor < tls.hits.size() && tls.hits[cursor].field == i; ++cursor)
      out.findings.push_back(tls.hits[cursor].f);
    finish(fields[i], out.findings, first, mid);
    out.offsets.push_back(static_cast<uint32_t>(out.findings.size()));
  }
  return true;
}

}  // namespace phigate::mask
