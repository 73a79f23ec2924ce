#include "admin/router.h"

#include <spdlog/spdlog.h>

#include "audit/log.h"
#include "common/clock.h"
#include "identity/token_verifier.h"

namespace phigate::admin {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 1;  // skip the leading '/'
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr size_t kMaxQueryParams = 32;

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

// a=b&c=d (a query string or a form body): last one wins; false on a malformed escape or more
// than kMaxQueryParams fields.
bool parse_urlencoded(std::string_view qs, std::map<std::string, std::string>& out) {
  size_t pos = 0, n = 0;
  while (pos <= qs.size() && !qs.empty()) {
    size_t end = qs.find('&', pos);
    if (end == std::string_view::npos) end = qs.size();
    std::string_view kv = qs.substr(pos, end - pos);
    if (!kv.empty()) {
      if (++n > kMaxQueryParams) return false;
      size_t eq = kv.find('=');
      std::string k, v;
      if (!percent_decode(kv.substr(0, eq), k, true) ||
          (eq != std::string_view::npos && !percent_decode(kv.substr(eq + 1), v, true)))
        return false;
      out[std::move(k)] = std::move(v);
    }
    pos = end + 1;
  }
  return true;
}

Reply Reply::error(int status, std::string code, std::string message) {
  Reply r;
  r.status = status;
  r.body = {{"error", std::move(code)}, {"message", std::move(message)}};
  return r;
}

void Router::add(std::string method, std::string pattern, Handler h, bool public_route) {
  routes_.push_back(Route{std::move(method), split_path(pattern), std::move(h), public_route});
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (path.empty() || path[0] != '/') return m;
  std::vector<std::string> raw = split_path(path);
  for (const Route& r : routes_) {
    if (r.segments.size() != raw.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < raw.size() && ok; ++i) {
      const std::string& want = r.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        std::string v;
        ok =
            !raw[i].empty() && percent_decode(raw[i], v, false) && v.find('/') == std::string::npos;
        if (ok) params[want.substr(1, want.size() - 2)] = std::move(v);
      } else {
        ok = want == raw[i];
      }
    }
    if (!ok) continue;
    m.path_exists = true;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

AdminApi::AdminApi(const TokenVerifier& verifier, audit::Log* audit, std::string node_id)
    : verifier_(verifier), audit_(audit), node_id_(std::move(node_id)) {}

Reply AdminApi::handle(const HttpRequest& req) const {
  Identity who;
  Reply r = dispatch(req, who);
  if (audit_) {
    // Every call is on the record, refused ones too; bodies are not (they may hold reasons with
    // PHI, which the approval events already carry where needed).
    audit::Event e;
    e.time_ns = now_ns();
    e.type = "admin_request";
    e.node_id = node_id_;
    audit::set_identity(e, who);
    e.client_addr = req.client_addr;
    e.protocol = "admin";
    size_t q = req.target.find('?');
    e.action = req.method + " " + req.target.substr(0, q);
    e.status = std::to_string(r.status);
    e.decision = r.status < 400 ? "allow" : "deny";
    if (r.status >= 400) {
      e.error_code = r.body.value("error", "");
      e.message = r.body.value("message", "");
    }
    if (r.body.is_object() && r.body.contains("id") && r.body["id"].is_string())
      e.approval_id = r.body["id"].get<std::string>();
    audit_->append(std::move(e));
  }
  return r;
}

Reply AdminApi::dispatch(const HttpRequest& req, Identity& who) const {
  std::string_view target(req.target);
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto m = router_.match(req.method, path);
  if (!m.route) {
    if (m.path_exists)
      return Reply::error(405, "method_not_allowed", req.method + " is not allowed here");
    return Reply::error(404, "not_found", "no such endpoint");
  }
  if (!m.route->public_route) {
    std::string_view auth(req.authorization);
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() ||
        !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return Reply::error(401, "unauthorized", "a bearer token is required");
    std::string_view token = auth.substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    auto id = verifier_.verify(token, now_unix());
    if (!id)
      return Reply::error(401, "unauthorized",
                          "token rejected (" + id.error().code + "): " + id.error().message);
    who = std::move(*id);
  }
  std::map<std::string, std::string> query;
  if (q != std::string_view::npos && !parse_urlencoded(target.substr(q + 1), query))
    return Reply::error(400, "bad_request", "malformed query string");
  nlohmann::json body = nlohmann::json::object();
  std::map<std::string, std::string> form;
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  if (req.content_type.compare(0, kForm.size(), kForm) == 0) {
    if (!parse_urlencoded(req.body, form))
      return Reply::error(400, "bad_request", "malformed form body");
  } else if (!req.body.empty()) {
    body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Reply::error(400, "bad_json", "the body is not valid JSON");
    if (!body.is_object()) return Reply::error(400, "bad_json", "the body must be a JSON object");
  }
  Call call{req.method, std::move(m.params), std::move(query), body,
            who,        std::move(form),     req.body};
  try {
    return m.route->handler(call);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong type (handlers read fields with get<T>()).
    return Reply::error(400, "bad_request", std::string("malformed field: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {} failed: {}", req.method, path, e.what());
    return Reply::error(500, "internal", "internal error");
  }
}

}  // namespace phigate::admin
