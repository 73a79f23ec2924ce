#pragma once
// Field handling of a proxy (RFC 9110 §7.6): hop-by-hop fields, the fields phigate sets itself and
// the client-supplied identity fields an upstream might trust. Pure functions on Fields.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_text.h"
#include "codec/http/message.h"

namespace phigate::http {

// RFC 9110 §7.6.1: Connection, the fields it names, and the classic hop-by-hop set (Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate,
// Proxy-Authorization). Framing fields (Content-Length) are left for the caller to re-set.
// HopFilter answers per name, so a proxy can write the fields it forwards straight from the
// received head instead of copying it and erasing (views into `f`: keep `f` alive).
class HopFilter {
 public:
  explicit HopFilter(const Fields& f);
  bool drops(std::string_view name) const;

 private:
  // Tokens of Connection, except Host and Content-Length: the first few inline, since one is
  // built per message and Connection rarely names more than "keep-alive" or "close".
  std::array<std::string_view, 8> first_{};
  size_t count_ = 0;
  std::vector<std::string_view> more_;
};
void strip_hop_by_hop(Fields& f);

// One "name: value" line of a head (the caller has checked both).
void append_field(std::string_view name, std::string_view value, std::string& out);
// "HTTP/1.1 200 OK" and CRLF, with phigate's own reason phrase.
void append_status_line(int status, std::string& out);

// Fields that carry an identity asserted by whoever sent them (X-Forwarded-User, X-Remote-User,
// X-Auth-Request-*, X-Phigate-*, ...). An upstream behind phigate must only ever see the ones
// phigate sets, so every client-supplied one is dropped. Returns how many were dropped.
size_t strip_identity_fields(Fields& f);
bool is_identity_field(std::string_view name);

// Fields some frameworks take as the request's real path (X-Original-URL and X-Rewrite-URL:
// IIS URL Rewrite, Symfony, Zend; X-Forwarded-Uri/-Path/-Prefix: Traefik, Spring, Authelia).
// Sent by a client they would route around the path rules phigate judged, so they are dropped.
bool is_path_override_field(std::string_view name);

// `Authorization: Bearer <token>` (RFC 6750 §2.1). Returns false when the field is absent, not
// Bearer, or malformed; `present` says whether any Authorization field was there.
bool bearer_token(const Fields& f, std::string& token, bool& present);

// A query string with the values of secret-looking parameters (token, access_token, api_key,
// password, secret, ...) replaced by "[REDACTED]", split into "name=value" items for the audit.
std::vector<std::string> audit_query(std::string_view query);
bool is_secret_param(std::string_view name);

// Chunked coding (RFC 9112 §7.1): one chunk, and the last chunk with no trailers.
void append_chunk(std::string_view data, std::string& out);
void append_last_chunk(std::string& out);

// A complete response with a JSON body {"error": code, "message": msg, ...extra}, which phigate
// says itself (refusals, upstream failures). `extra_json` is inserted verbatim as more members
// (already-encoded `"k":v` pairs, comma-separated) and may be empty. `keep_alive` false adds
// Connection: close. `more_fields` are added before the framing fields.
std::string json_response(int status, std::string_view code, std::string_view message,
                          bool keep_alive, const Fields& more_fields = {},
                          std::string_view extra_json = {});

const char* reason_phrase(int status);

}  // namespace phigate::http
