#include "proxy/http_body_mask.h"

#include <algorithm>

#include "common/ascii.h"

namespace phigate::proxy {

namespace {

// The media type of a Content-Type, without parameters; compared case-insensitively (RFC 9110
// §8.3.1) instead of lowered into a new string once or twice per response.
std::string_view media_type(std::string_view ct) {
  return http::trim_ows(ct.substr(0, ct.find(';')));
}

bool is_markup(std::string_view t) {
  return iequals(t, "application/xml") || iequals(t, "text/xml") || iends_with(t, "+xml") ||
         iequals(t, "text/html") || iequals(t, "application/xhtml+xml");
}

}  // namespace

BodyMasker::Kind BodyMasker::kind_for_media_type(std::string_view content_type) {
  const std::string_view t = media_type(content_type);
  if (iequals(t, "application/json") || iequals(t, "application/x-ndjson") ||
      iequals(t, "application/jsonl") || iequals(t, "text/json") ||
      (istarts_with(t, "application/") && (iends_with(t, "+json") || iends_with(t, "+ndjson")))) {
    return Kind::kJson;
  }
  if (istarts_with(t, "text/") || iequals(t, "application/xml") || iends_with(t, "+xml") ||
      iequals(t, "application/x-www-form-urlencoded") || iequals(t, "application/javascript") ||
      iequals(t, "application/csv") || iequals(t, "application/graphql-response+json") ||
      t.empty()) {
    return Kind::kText;
  }
  return Kind::kNone;
}

bool BodyMasker::choose(const HttpResource& r, const http::Fields& f, bool has_body, Plan& plan,
                        std::string& why) {
  plan = Plan{};
  if (!r.mask || !has_body) return true;
  if (f.count("content-type") > 1) {
    why = "upstream sent more than one Content-Type";
    return false;
  }
  const std::string_view* ct = f.find("content-type");
  const std::string_view t = ct ? media_type(*ct) : std::string_view();
  const Kind kind = kind_for_media_type(t);  // no Content-Type: scanned as text
  if (kind == Kind::kNone) {
    // passthrough entries are lower-case (http_runtime.cc).
    if (std::any_of(r.passthrough.begin(), r.passthrough.end(),
                    [&](const std::string& p) { return iequals(p, t); }))
      return true;  // sent as it came
    why = "response media type '" + ascii_lower(t) +
          "' cannot be masked (allow it with http.mask.passthrough)";
    return false;
  }
  // Field rules (JSON paths, the FHIR profile) only reach JSON. The same fields also travel in
  // markup (a FHIR server answers `_format=xml` or `_format=html` with the same Patient), where
  // only detectors would run: a client could pick the format that leaves birthDate and names
  // unmasked. So with field rules a markup response is refused rather than half-masked.
  if (kind == Kind::kText && !r.json.rules.empty() && is_markup(t)) {
    why = "response media type '" + ascii_lower(t) +
          "' carries fields the resource's JSON field rules cannot mask (ask for JSON)";
    return false;
  }
  if (f.count("content-encoding") > 1) {
    why = "upstream sent more than one Content-Encoding";
    return false;
  }
  if (const std::string_view* ce = f.find("content-encoding")) {
    if (!BodyDecoder::parse_coding(*ce, plan.coding, why)) return false;
  }
  plan.kind = kind;
  return true;
}

BodyMasker::BodyMasker(const HttpResource& r, Plan plan) : kind_(plan.kind) {
  if (plan.kind == Kind::kNone) return;
  if (plan.coding != BodyDecoder::Coding::kIdentity) {
    BodyDecoder::Limits limits;
    limits.max_output = r.max_decoded;
    decoder_ = std::make_unique<BodyDecoder>(plan.coding, limits);
  }
  if (plan.kind == Kind::kJson) json_ = std::make_unique<mask::JsonStreamMasker>(r.json);
  if (plan.kind == Kind::kText) {
    text_ =
        std::make_unique<mask::TextStreamMasker>(r.json.engine, r.detector_action, r.json.hmac_key);
  }
}

bool BodyMasker::would_decode(const HttpResource& r, const http::Fields& f) {
  Plan plan;
  std::string why;
  return choose(r, f, true, plan, why) && plan.kind != Kind::kNone &&
         plan.coding != BodyDecoder::Coding::kIdentity;
}

bool BodyMasker::feed(std::string_view in, std::string& out) {
  if (decoder_) {
    decoded_.clear();
    if (!decoder_->feed(in, decoded_)) return false;
    in = decoded_;
  }
  if (json_) return json_->feed(in, out);
  if (text_) return text_->feed(in, out);
  out.append(in);
  return true;
}

bool BodyMasker::finish(std::string& out) {
  if (decoder_ && !decoder_->finish()) return false;
  if (json_) return json_->finish(out);
  if (text_) return text_->finish(out);
  return true;
}

const std::map<std::string, uint64_t>& BodyMasker::counts() const {
  static const std::map<std::string, uint64_t> kEmpty;
  if (json_) return json_->counts();
  if (text_) return text_->counts();
  return kEmpty;
}

std::string BodyMasker::error() const {
  if (decoder_ && !decoder_->error().empty()) return decoder_->error();
  return json_ ? json_->error() : "text masking failed";
}

}  // namespace phigate::proxy
