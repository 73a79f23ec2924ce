#pragma once
// Chooses how a response body is masked from its head, and runs the streaming masker. What cannot
// be masked is refused (the adapter answers 502), never passed on: compressed bodies (phigate asks
// the upstream for `Accept-Encoding: identity`, so an upstream that compresses anyway is
// misbehaving) and media types that are neither JSON nor text, unless the resource lists them in
// http.mask.passthrough.
#include <map>
#include <memory>
#include <string>

#include "codec/http/message.h"
#include "mask/json_stream.h"
#include "proxy/http_runtime.h"

namespace phigate::proxy {

class BodyMasker {
 public:
  enum class Kind { kNone, kJson, kText };
  // kNone: send the body as it is (masking off, no body, or a passthrough type). False with `why`
  // when the body must be refused.
  static bool choose(const HttpResource& r, const http::Fields& response_fields, bool has_body,
                     Kind& kind, std::string& why);
  // application/json, application/*+json, application/x-ndjson, ... (parameters ignored).
  static Kind kind_for_media_type(std::string_view content_type);

  BodyMasker(const HttpResource& r, Kind kind);
  bool feed(std::string_view in, std::string& out);
  bool finish(std::string& out);
  const std::map<std::string, uint64_t>& counts() const;
  std::string error() const;

 private:
  Kind kind_;
  std::unique_ptr<mask::JsonStreamMasker> json_;
  std::unique_ptr<mask::TextStreamMasker> text_;
};

}  // namespace phigate::proxy
