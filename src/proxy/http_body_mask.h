#pragma once
// Chooses how a response body is masked from its head, and runs the streaming masker. What cannot
// be masked is refused (the adapter answers 502), never passed on: bodies in a Content-Encoding
// other than gzip or deflate (those are decoded first, proxy/http_inflate.h, and sent to the client
// identity-coded) and media types that are neither JSON nor text, unless the resource lists them
// in http.mask.passthrough (sent as they came, compressed or not).
#include <map>
#include <memory>
#include <string>

#include "codec/http/message.h"
#include "mask/json_stream.h"
#include "proxy/http_inflate.h"
#include "proxy/http_runtime.h"

namespace phigate::proxy {

class BodyMasker {
 public:
  enum class Kind { kNone, kJson, kText };
  // How a response body goes to the client: masked as `kind` after decoding `coding`, or as it
  // came (kind kNone: masking off, no body, or a passthrough type, whatever its coding).
  struct Plan {
    Kind kind = Kind::kNone;
    BodyDecoder::Coding coding = BodyDecoder::Coding::kIdentity;
  };
  // False with `why` when the body must be refused (a type that cannot be masked, a coding that
  // cannot be decoded, repeated Content-Type or Content-Encoding).
  static bool choose(const HttpResource& r, const http::Fields& response_fields, bool has_body,
                     Plan& plan, std::string& why);
  // application/json, application/*+json, application/x-ndjson, ... (parameters ignored).
  static Kind kind_for_media_type(std::string_view content_type);

  explicit BodyMasker(const HttpResource& r, Plan plan);
  bool decodes() const { return decoder_ != nullptr; }
  // Whether a body with these fields would be decoded to be masked (a HEAD response describes
  // the GET one: its Content-Encoding goes too).
  static bool would_decode(const HttpResource& r, const http::Fields& fields);
  bool feed(std::string_view in, std::string& out);
  bool finish(std::string& out);
  const std::map<std::string, uint64_t>& counts() const;
  std::string error() const;

 private:
  Kind kind_;
  std::unique_ptr<mask::JsonStreamMasker> json_;
  std::unique_ptr<mask::TextStreamMasker> text_;
  std::unique_ptr<BodyDecoder> decoder_;
  std::string decoded_;  // one piece of decoded body, reused
};

}  // namespace phigate::proxy
