#include "common/percent.h"
#include "identity/token_exchange.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "identity/jwt.h"
#include "identity/local_issuer.h"
#include "identity/token_verifier.h"

namespace phigate {

using nlohmann::json;

namespace {

constexpr size_t kMaxFormBytes = 64 * 1024;
constexpr size_t kMaxIdLength = 256;
constexpr size_t kMaxItems = 64;

Error invalid_request(std::string why) { return make_error("invalid_request", std::move(why)); }

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<std::chrono::seconds> parse_ttl(std::string_view text) {
  if (text.empty()) return invalid_request("ttl is empty");
  int64_t secs = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (secs <= 0) return invalid_request("ttl must be positive");
    return std::chrono::seconds(secs);
  }
  auto d = parse_duration(text);
  if (!d.ok()) return invalid_request("ttl is not a duration such as 5m");
  auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
  if (s.count() <= 0) return invalid_request("ttl must be at least one second");
  return s;
}

Status check_id(std::string_view what, const std::string& v) {
  if (v.size() > kMaxIdLength || !is_printable_claim(v)) {
    return invalid_request(std::string(what) + " must be printable and at most 256 bytes");
  }
  return ok_status();
}

bool is_subject_type(std::string_view t) {
  return t == kTokenTypeJwt || t == kTokenTypeAccessToken || t == kTokenTypeIdToken;
}

// The subject's act chain as (top-level actor, earlier actors).
void act_of(const Identity& subject, std::string* act_sub, std::vector<std::string>* prior) {
  if (subject.act_sub.empty()) {
    // The subject acts for no one: it is the human (or the top of the chain) itself.
    *act_sub = subject.sub;
    return;
  }
  *act_sub = subject.act_sub;
  if (subject.act_chain.empty()) return;
  size_t pos = subject.act_chain.find('>');
  while (pos != std::string::npos) {
    size_t next = subject.act_chain.find('>', pos + 1);
    prior->push_back(subject.act_chain.substr(
        pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1));
    pos = next;
  }
}

}  // namespace

Result<ExchangedToken> exchange_token(const TokenExchangeRequest& req,
                                      const TokenExchangeContext& ctx, int64_t now_unix,
                                      Identity* subject_out) {
  if (ctx.verifier == nullptr || ctx.issuer == nullptr || !ctx.can_access) {
    return make_error("server_error", "token exchange is not configured");
  }
  if (req.grant_type != kGrantTypeTokenExchange) {
    return make_error("unsupported_grant_type",
                      "grant_type must be " + std::string(kGrantTypeTokenExchange));
  }
  if (req.subject_token.empty()) return invalid_request("subject_token is required");
  if (!is_subject_type(req.subject_token_type)) {
    return invalid_request("subject_token_type must be a jwt, access_token or id_token type");
  }
  if (!req.requested_token_type.empty() && req.requested_token_type != kTokenTypeJwt &&
      req.requested_token_type != kTokenTypeAccessToken) {
    return invalid_request("requested_token_type must be the jwt or access_token type");
  }
  if (!req.actor_token.empty() || !req.actor_token_type.empty()) {
    return invalid_request("actor tokens are not supported");
  }
  if (auto st = check_id("task_id", req.task_id); !st.ok()) return st.error();
  if (auto st = check_id("workflow_id", req.workflow_id); !st.ok()) return st.error();

  // The request's shape is checked before the subject token, so a malformed request never costs
  // a signature verification; the token is checked before any scope comparison.
  std::vector<std::string> want_roles, want_resources;
  size_t pos = 0;
  const std::string& scope = req.scope;
  while (pos < scope.size()) {
    size_t end = scope.find(' ', pos);
    if (end == std::string::npos) end = scope.size();
    std::string_view item(scope.data() + pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    if (item.substr(0, 5) == "role:" && item.size() > 5) {
      add_unique(want_roles, std::string(item.substr(5)));
    } else if (item.substr(0, 9) == "resource:" && item.size() > 9) {
      add_unique(want_resources, std::string(item.substr(9)));
    } else {
      return make_error("invalid_scope", "scope items are role:NAME or resource:NAME");
    }
  }
  for (const auto& r : req.resource) {
    if (r.empty()) return make_error("invalid_target", "resource is empty");
    add_unique(want_resources, r);
  }
  for (const auto& a : req.audience) {
    if (a != "phigate") return make_error("invalid_target", "audience must be phigate");
  }
  if (want_roles.size() > kMaxItems || want_resources.size() > kMaxItems) {
    return invalid_request("too many roles or resources requested");
  }
  for (const auto* list : {&want_roles, &want_resources}) {
    for (const auto& s : *list) {
      if (!is_printable_claim(s))
        return make_error("invalid_scope", "scope has control characters");
    }
  }
  std::chrono::seconds ttl = ctx.default_ttl;
  if (!req.ttl.empty()) {
    auto t = parse_ttl(req.ttl);
    if (!t.ok()) return t.error();
    ttl = *t;
  }

  auto subject = ctx.verifier->verify(req.subject_token, now_unix);
  if (!subject.ok()) {
    return invalid_request("subject_token rejected (" + subject.error().code +
                           "): " + subject.error().message);
  }
  if (subject_out != nullptr) *subject_out = *subject;

  // Roles: a subset of the subject's.
  std::vector<std::string> roles;
  if (want_roles.empty()) {
    roles = subject->roles;
  } else {
    for (const auto& r : want_roles) {
      if (!contains(subject->roles, r)) {
        return make_error("invalid_scope", "role \"" + r + "\" is not one of the subject's roles");
      }
      roles.push_back(r);
    }
  }
  if (roles.empty()) return make_error("invalid_scope", "the subject has no roles to delegate");

  // Resources: each reachable by the subject with the granted roles (and within the subject's
  // own resource narrowing, which can_access applies through Identity::resources).
  Identity probe = *subject;
  probe.roles = roles;
  std::optional<std::vector<std::string>> resources = subject->resources;
  if (!want_resources.empty()) {
    for (const auto& r : want_resources) {
      if (!ctx.can_access(probe, r)) {
        return make_error("invalid_target",
                          "resource \"" + r + "\" is not reachable with the granted roles");
      }
    }
    resources = want_resources;
  }

  // Workflow binding: a task token stays in its workflow.
  std::string workflow = req.workflow_id.empty() ? subject->workflow_id : req.workflow_id;
  if (!subject->workflow_id.empty() && workflow != subject->workflow_id) {
    return invalid_request("the subject token is bound to another workflow");
  }
  std::string task = req.task_id.empty() ? subject->task_id : req.task_id;

  // Lifetime: never beyond the subject's remaining life.
  int64_t remaining = subject->expires_at - now_unix;
  if (remaining <= 0) return invalid_request("the subject token has no lifetime left");
  int64_t life = std::min<int64_t>({ttl.count(), remaining, ctx.max_ttl.count()});

  IssueRequest issue;
  issue.sub = subject->sub;
  issue.groups = subject->groups;
  issue.ttl = std::chrono::seconds(life);
  issue.task_id = task;
  issue.workflow_id = workflow;
  act_of(*subject, &issue.act_sub, &issue.act_prior);
  if (issue.act_prior.size() + 1 >= 8) {
    return invalid_request("the subject's act chain is too deep to extend");
  }
  issue.roles = roles;
  issue.resources = resources;
  auto token = ctx.issuer->try_issue(issue, now_unix);
  if (!token.ok()) {
    if (token.error().code == "invalid_request") return token.error();
    return make_error("server_error", "the token could not be issued");
  }

  ExchangedToken out;
  out.access_token = std::move(*token);
  out.issued_token_type = req.requested_token_type.empty() ? std::string(kTokenTypeAccessToken)
                                                           : req.requested_token_type;
  out.expires_in = life;
  for (const auto& r : roles) out.scope += (out.scope.empty() ? "role:" : " role:") + r;
  if (resources) {
    for (const auto& r : *resources) out.scope += " resource:" + r;
  }
  out.subject = *subject;
  // Read the new token back through the verifier: the audit gets exactly what sessions will see
  // (issuer name, jti, act chain, narrowed roles), and a token that would not verify is never
  // handed out.
  auto issued = ctx.verifier->verify(out.access_token, now_unix);
  if (!issued.ok()) return make_error("server_error", "the issued token does not verify");
  out.identity = std::move(*issued);
  return out;
}

TokenExchangeReply handle_token_exchange(const TokenExchangeRequest& req,
                                         const TokenExchangeContext& ctx, int64_t now_unix) {
  TokenExchangeReply reply;
  Identity subject;
  auto r = exchange_token(req, ctx, now_unix, &subject);
  if (!subject.sub.empty()) reply.subject = subject;
  json body;
  if (r.ok()) {
    reply.issued = r->identity;
    // RFC 8693 §2.2.1; token_type "Bearer": the issued token is presented as a bearer token.
    body = {{"access_token", r->access_token},
            {"issued_token_type", r->issued_token_type},
            {"token_type", "Bearer"},
            {"expires_in", r->expires_in},
            {"scope", r->scope}};
  } else {
    reply.status = r.error().code == "server_error" ? 500 : 400;
    reply.error = r.error().code;
    reply.error_description = r.error().message;
    body = {{"error", r.error().code}, {"error_description", r.error().message}};
  }
  // Role/resource names come from the request and may hold invalid UTF-8; replace, never throw.
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;  // "%" needs two hex digits after it
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<TokenExchangeRequest> parse_token_exchange_form(std::string_view body) {
  if (body.size() > kMaxFormBytes) return invalid_request("request body is too large");
  TokenExchangeRequest req;
  std::vector<std::string> seen;
  size_t pos = 0;
  while (pos <= body.size() && !body.empty()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      auto key = form_decode(pair.substr(0, eq));
      auto value =
          form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      if (!key || !value) return invalid_request("request body is not valid form encoding");
      if (*key == "resource") {
        req.resource.push_back(std::move(*value));
      } else if (*key == "audience") {
        req.audience.push_back(std::move(*value));
      } else {
        std::string* field = nullptr;
        const std::pair<const char*, std::string*> known[] = {
            {"grant_type", &req.grant_type},
            {"subject_token", &req.subject_token},
            {"subject_token_type", &req.subject_token_type},
            {"requested_token_type", &req.requested_token_type},
            {"scope", &req.scope},
            {"actor_token", &req.actor_token},
            {"actor_token_type", &req.actor_token_type},
            {"task_id", &req.task_id},
            {"workflow_id", &req.workflow_id},
            {"ttl", &req.ttl}};
        for (const auto& [name, f] : known) {
          if (*key == name) field = f;
        }
        if (field != nullptr) {
          if (contains(seen, *key)) return invalid_request("parameter " + *key + " given twice");
          seen.push_back(*key);
          *field = std::move(*value);
        }
      }
    }
    if (amp == body.size()) break;
  }
  return req;
}

TokenExchangeReply handle_token_exchange_form(std::string_view body,
                                              const TokenExchangeContext& ctx, int64_t now_unix) {
  auto req = parse_token_exchange_form(body);
  if (!req.ok()) {
    TokenExchangeReply reply;
    reply.status = 400;
    reply.error = "invalid_request";
    reply.error_description = req.error().message;
    reply.body =
        json{{"error", "invalid_request"}, {"error_description", req.error().message}}.dump(
            -1, ' ', false, json::error_handler_t::replace);
    return reply;
  }
  return handle_token_exchange(*req, ctx, now_unix);
}

std::string encode_token_exchange_form(const TokenExchangeRequest& req) {
  std::string out;
  auto add = [&](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += percent_encode(v);
  };
  add("grant_type", req.grant_type);
  add("subject_token", req.subject_token);
  add("subject_token_type", req.subject_token_type);
  add("requested_token_type", req.requested_token_type);
  add("scope", req.scope);
  for (const auto& r : req.resource) add("resource", r);
  for (const auto& a : req.audience) add("audience", a);
  add("task_id", req.task_id);
  add("workflow_id", req.workflow_id);
  add("ttl", req.ttl);
  return out;
}

}  // namespace phigate
