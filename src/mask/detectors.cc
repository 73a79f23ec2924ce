#include "mask/detectors.h"

#include <hs.h>

#include <algorithm>
#include <atomic>
#include <limits>

#include "mask/validators.h"

namespace phigate::mask {

using detail::Kind;

struct Engine::Pattern {
  uint16_t detector;
  Kind kind;
};

namespace {

struct Builtin {
  std::string_view name;
  Kind kind;
  const char* regex;  // shape only: the validator decides, and finds where the match starts
  unsigned flags;
};

// Patterns describe the END of an entity loosely (hyperscan reports ends); validators re-check.
constexpr Builtin kBuiltins[] = {
    {"US_SSN", Kind::kSsn, R"(\d{3}[- .]?\d{2}[- .]?\d{4})", 0},
    {"CREDIT_CARD", Kind::kCard, R"(\d(?:[- ]?\d){12,18})", 0},
    {"EMAIL_ADDRESS", Kind::kEmail, R"([A-Za-z0-9_%+\-]@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})", 0},
    {"PHONE_NUMBER", Kind::kPhoneUs, R"(\d{3}\)?[ .\-]?\d{3}[ .\-]?\d{4})", 0},
    {"PHONE_NUMBER", Kind::kPhoneE164, R"(\+[1-9]\d{7,14})", 0},
    {"US_NPI", Kind::kNpi, R"([12]\d{9})", 0},
    {"IP_ADDRESS", Kind::kIpv4, R"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})", 0},
    {"IP_ADDRESS", Kind::kIpv6, R"([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*[0-9A-Fa-f])",
     0},
    {"US_MBI", Kind::kMbi,
     R"([1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?)"
     R"([AC-HJKMNP-RT-Y]{2}\d{2})",
     HS_FLAG_CASELESS},
};

std::atomic<uint64_t> next_engine_id{1};

// One scratch per thread, grown by hs_alloc_scratch to fit every database this thread has used;
// `engine` remembers which database it was last checked against so a warm scan skips the call.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  uint64_t engine = 0;
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};
thread_local ThreadScratch tls_scratch;

struct ScanContext {
  const Engine* engine;
  std::string_view text;
  std::vector<Finding>* out;
};

}  // namespace

const std::vector<std::string_view>& builtin_detector_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const Builtin& b : kBuiltins)
      if (std::find(v.begin(), v.end(), b.name) == v.end()) v.push_back(b.name);
    return v;
  }();
  return names;
}

Engine::~Engine() {
  if (db_) hs_free_database(db_);
}

Result<std::shared_ptr<const Engine>> Engine::compile(const Profile& profile) {
  std::shared_ptr<Engine> e(new Engine());
  e->id_ = next_engine_id.fetch_add(1);
  e->threshold_ = profile.threshold;
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  auto add = [&](const char* regex, unsigned f, uint16_t detector, Kind kind) {
    ids.push_back(static_cast<unsigned>(e->patterns_.size()));
    e->patterns_.push_back({detector, kind});
    exprs.push_back(regex);
    flags.push_back(f);
  };
  for (const std::string& name : profile.detectors) {
    if (std::find(e->names_.begin(), e->names_.end(), name) != e->names_.end()) continue;
    auto detector = static_cast<uint16_t>(e->names_.size());
    bool known = false;
    for (const Builtin& b : kBuiltins) {
      if (b.name != name) continue;
      known = true;
      add(b.regex, b.flags, detector, b.kind);
    }
    if (!known) {
      std::string all;
      for (std::string_view n : builtin_detector_names())
        all += (all.empty() ? "" : ", ") + std::string(n);
      return make_error("mask_config", "unknown detector \"" + name + "\" (known: " + all + ")");
    }
    e->names_.push_back(name);
  }
  for (const CustomDetector& c : profile.custom) {
    if (c.name.empty() || c.regex.empty())
      return make_error("mask_config", "custom detector needs a name and a regex");
    if (std::find(e->names_.begin(), e->names_.end(), c.name) != e->names_.end())
      return make_error("mask_config", "duplicate detector name \"" + c.name + "\"");
    auto detector = static_cast<uint16_t>(e->names_.size());
    e->names_.push_back(c.name);
    // SOM only here: phigate cannot know a custom pattern's shape, so hyperscan must find starts.
    add(c.regex.c_str(), HS_FLAG_SOM_LEFTMOST, detector, Kind::kCustom);
  }
  if (e->names_.size() > std::numeric_limits<uint16_t>::max())
    return make_error("mask_config", "too many detectors");
  if (exprs.empty()) return std::shared_ptr<const Engine>(std::move(e));  // column rules only

  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &e->db_, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    std::string which;
    if (err && err->expression >= 0 && static_cast<size_t>(err->expression) < e->patterns_.size())
      which = " in detector \"" + e->names_[e->patterns_[err->expression].detector] + "\"";
    hs_free_compile_error(err);
    return make_error("mask_config", "cannot compile masking detectors" + which + ": " + msg);
  }
  // Allocate this thread's scratch now so a database hyperscan cannot run fails at load time.
  if (hs_alloc_scratch(e->db_, &tls_scratch.scratch) != HS_SUCCESS)
    return make_error("mask_config", "cannot allocate hyperscan scratch");
  tls_scratch.engine = e->id_;
  return std::shared_ptr<const Engine>(std::move(e));
}

int Engine::on_match(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int /*flags*/, void* ctx) {
  auto* c = static_cast<ScanContext*>(ctx);
  const Engine* e = c->engine;
  if (id >= e->patterns_.size()) return 0;
  const Pattern& p = e->patterns_[id];
  detail::Confirmed conf;
  if (p.kind == Kind::kCustom) {
    conf = {static_cast<size_t>(from), 1.0f};
  } else if (!detail::confirm(p.kind, c->text, static_cast<size_t>(to), &conf)) {
    return 0;
  }
  if (conf.score < e->threshold_ || conf.begin >= to) return 0;
  c->out->push_back(Finding{p.detector, e->names_[p.detector], static_cast<uint32_t>(conf.begin),
                            static_cast<uint32_t>(to), conf.score});
  return 0;
}

bool Engine::scan(std::string_view text, std::vector<Finding>& out) const {
  if (!db_) return true;
  if (text.size() >= std::numeric_limits<uint32_t>::max()) return false;
  if (tls_scratch.engine != id_) {
    if (hs_alloc_scratch(db_, &tls_scratch.scratch) != HS_SUCCESS) return false;
    tls_scratch.engine = id_;
  }
  const size_t first = out.size();
  ScanContext ctx{this, text, &out};
  if (hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, tls_scratch.scratch,
              &Engine::on_match, &ctx) != HS_SUCCESS) {
    out.resize(first);
    return false;
  }
  // Several patterns (and several ends of one pattern) can cover the same bytes: keep one
  // finding per region, the highest score, then the longest, so masking never double-edits.
  std::sort(out.begin() + first, out.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  size_t w = first;
  for (size_t r = first; r < out.size(); ++r) {
    const Finding f = out[r];
    if (w > first && f.begin < out[w - 1].end) {
      Finding& kept = out[w - 1];
      if (f.score > kept.score ||
          (f.score == kept.score && f.end - f.begin > kept.end - kept.begin))
        kept = f;
      continue;
    }
    out[w++] = f;
  }
  out.resize(w);
  return true;
}

}  // namespace phigate::mask
