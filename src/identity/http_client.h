#pragma once
// A small HTTP/1.1 client (Boost.Beast over OpenSSL) for what identity/ fetches and posts: OIDC
// discovery documents, JWK Sets, and the admin token-exchange endpoint. Certificates are always
// verified (system store or a configured CA file, with host name check and SNI); plain http is
// allowed only to loopback hosts, so a key set can never be swapped on the network path.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "net/asio.h"

namespace phigate {

struct FetchUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};

// Accepts https://host[:port]/path and, only when host is a loopback address or "localhost",
// http://. Refuses userinfo ("user@"), fragments, whitespace and control characters.
// Error code "bad_url".
Result<FetchUrl> parse_fetch_url(std::string_view url);

struct HttpOptions {
  std::string ca_file;                      // empty: the system's default verify paths
  std::chrono::milliseconds timeout{5000};  // whole exchange: resolve, connect, TLS, request, reply
  size_t max_body = 1024 * 1024;
};

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// One request, no redirects followed (a redirect would be an unverified hop). Error codes:
// "bad_url", "network" (resolve/connect/TLS/IO/timeout, including certificate failures),
// "bad_response" (unparsable, body over max_body).
net::awaitable<Result<HttpReply>> http_request(HttpRequest req, HttpOptions opts);

// Runs http_request to completion on a private io_context (CLI tools and tests, never io threads).
Result<HttpReply> http_request_blocking(HttpRequest req, HttpOptions opts);

}  // namespace phigate
