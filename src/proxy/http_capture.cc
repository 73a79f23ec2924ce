#include "proxy/http_capture.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "audit/blob_store.h"
#include "audit/canonical.h"
#include "common/crypto.h"
#include "proxy/capture_text.h"

namespace phigate::proxy {

void HttpBodyCapture::start(uint64_t cap, std::string_view request_content_type) {
  cap_ = cap;
  status_ = 0;
  req_ = Side{};
  resp_ = Side{};
  if (cap_ == 0) return;
  req_.content_type = audit::sanitize_utf8(request_content_type);
}

void HttpBodyCapture::response_head(int status, std::string_view content_type) {
  if (cap_ == 0) return;
  status_ = status;
  resp_ = Side{};
  resp_.content_type = audit::sanitize_utf8(content_type);
}

void HttpBodyCapture::request_whole(std::string_view body) {
  if (cap_ == 0) return;
  std::string ct = std::move(req_.content_type);
  req_ = Side{};
  req_.content_type = std::move(ct);
  add(req_, body);
}

void HttpBodyCapture::drop_response() {
  if (cap_ == 0) return;
  status_ = 0;
  resp_ = Side{};
}

void HttpBodyCapture::add(Side& s, std::string_view piece) {
  if (cap_ == 0 || piece.empty()) return;
  s.seen = true;
  s.total += piece.size();
  if (s.data.size() >= cap_) return;
  if (s.data.capacity() == 0) s.data.reserve(std::min<uint64_t>(cap_, 64 * 1024));
  s.data.append(piece.substr(0, cap_ - s.data.size()));
}

std::string HttpBodyCapture::render() const {
  using nlohmann::json;
  if (cap_ == 0 || (!req_.seen && !resp_.seen)) return {};
  auto side = [&](const Side& s) {
    std::string_view v = s.data;
    const bool truncated = s.total > v.size();
    if (truncated) v = v.substr(0, utf8_prefix(v, v.size()));
    json body;
    if (printable_text(v)) {
      body = std::string(v);
    } else {
      ByteSpan raw(reinterpret_cast<const uint8_t*>(s.data.data()), s.data.size());
      body = "\\x" + to_hex(raw);
    }
    return json{{"content_type", s.content_type},
                {"body", std::move(body)},
                {"bytes", s.total},
                {"truncated", truncated}};
  };
  json blob = json::object();
  if (req_.seen) blob["request"] = side(req_);
  if (resp_.seen) {
    blob["response"] = side(resp_);
    blob["response"]["status"] = status_;
  }
  return blob.dump();
}

std::string HttpBodyCapture::store(audit::BlobStore* blobs, const std::string& session_id) const {
  if (cap_ == 0 || blobs == nullptr) return {};
  std::string blob = render();
  if (blob.empty()) return {};
  auto hash = blobs->put(blob);
  if (!hash) {
    spdlog::error("http session {}: body capture not stored: {}", session_id, hash.error().message);
    return {};
  }
  return std::move(*hash);
}

}  // namespace phigate::proxy
