#pragma once
// The admin API's routing and request handling, free of sockets so it can be tested directly.
// A handler is a function of (method, path params, query, JSON body, verified identity) returning
// (status, JSON); adding an endpoint is one add() line.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.h"

namespace phigate {
class TokenVerifier;
namespace audit {
class Log;
}
}  // namespace phigate

namespace phigate::admin {

struct Call {
  std::string method;
  std::map<std::string, std::string> params;  // {name} segments of the route pattern
  std::map<std::string, std::string> query;   // decoded ?a=b&c=d (last one wins)
  const nlohmann::json& body;                 // an object ({} when the request had no body)
  const Identity& identity;                   // empty sub for public routes
  // Fields of an application/x-www-form-urlencoded body (SAML's HTTP-POST binding); the JSON
  // body is then {}.
  std::map<std::string, std::string> form = {};
  std::string_view raw_body = {};  // the body as received (RFC 8693 form for token exchange)
};

struct Reply {
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
  // {"error": code, "message": text}: every non-2xx answer has this shape.
  static Reply error(int status, std::string code, std::string message);
  // A non-JSON answer (SAML metadata, a redirect): sent as-is with this content type.
  std::string content_type = {};
  std::string raw = {};
  std::vector<std::pair<std::string, std::string>> headers = {};  // e.g. {"Location", url}
};

using Handler = std::function<Reply(const Call&)>;

class Router {
 public:
  // pattern: "/v1/approvals/{id}/approve"; a {name} segment matches one non-empty path segment.
  // public_route: no token needed (health); every other route requires a valid bearer token.
  void add(std::string method, std::string pattern, Handler h, bool public_route = false);

  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    bool public_route = false;
  };
  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    bool path_exists = false;  // some route has this path (with another method): 405
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

// One HTTP request as the server read it.
struct HttpRequest {
  std::string method;
  std::string target;         // origin-form: path and query
  std::string authorization;  // the Authorization header, as sent
  std::string content_type;
  std::string body;
  std::string client_addr;
};

// Authentication, body parsing, dispatch and the audit record of every call.
class AdminApi {
 public:
  AdminApi(const TokenVerifier& verifier, audit::Log* audit, std::string node_id);
  Router& router() { return router_; }
  Reply handle(const HttpRequest& req) const;

 private:
  Reply dispatch(const HttpRequest& req, Identity& who) const;
  const TokenVerifier& verifier_;
  audit::Log* audit_;
  std::string node_id_;
  Router router_;
};

// Percent-decoding of one path segment or query component; false on a malformed escape or a NUL.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);
// a=b&c=d into `out` (last one wins); false on a malformed escape or too many fields.
bool parse_urlencoded(std::string_view text, std::map<std::string, std::string>& out);

}  // namespace phigate::admin
