// `phigate token exchange`: RFC 8693 token exchange, against the running gateway's admin API
// (POST /v1/token/exchange) or, with --local, offline with the data_dir's issuer key.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/identity_setup.h"
#include "common/clock.h"
#include "identity/http_client.h"
#include "identity/jwt.h"
#include "identity/token_exchange.h"
#include "policy/snapshot.h"

namespace phigate::cli {

namespace {

TokenExchangeRequest to_request(const TokenExchangeArgs& a) {
  TokenExchangeRequest req;
  req.grant_type = std::string(kGrantTypeTokenExchange);
  req.subject_token = a.subject_token;
  req.subject_token_type = std::string(kTokenTypeJwt);
  std::string scope;
  for (const auto& r : split_csv(a.roles)) scope += (scope.empty() ? "role:" : " role:") + r;
  req.scope = scope;
  for (const auto& r : a.resources) {
    for (const auto& one : split_csv(r)) req.resource.push_back(one);
  }
  req.ttl = a.ttl;
  req.task_id = a.task;
  req.workflow_id = a.workflow;
  return req;
}

int print_result(int status, const std::string& body, bool json) {
  auto reply = parse_json_object_strict(body);
  if (!reply) {
    std::cerr << "token exchange failed: HTTP " << status << " with an unreadable reply\n";
    return 1;
  }
  if (status != 200 || !reply->contains("access_token")) {
    std::string error = reply->value("error", "error");
    std::string description = reply->value("error_description", "");
    std::cerr << "token exchange refused: " << error
              << (description.empty() ? "" : ": " + description) << "\n";
    return 1;
  }
  if (json) {
    std::cout << body << "\n";
  } else {
    std::cout << (*reply)["access_token"].get<std::string>() << "\n";
  }
  return 0;
}

int exchange_locally(const Config& config, const TokenExchangeRequest& req, bool json) {
  auto identity = setup_identity_offline(config);
  if (!identity) {
    std::cerr << "cannot load the local issuer key: " << identity.error().message << "\n";
    return 1;
  }
  auto snap = PolicySnapshot::compile(config, 1);
  if (!snap) {
    std::cerr << "policy does not compile: " << snap.error().message << "\n";
    return 2;
  }
  std::shared_ptr<const PolicySnapshot> policy = *snap;
  TokenExchangeContext ctx;
  ctx.verifier = identity->verifier.get();
  ctx.issuer = identity->local.get();
  ctx.can_access = [policy](const Identity& id, std::string_view resource) {
    return policy->can_access(id, resource);
  };
  auto reply = handle_token_exchange(req, ctx, now_unix());
  return print_result(reply.status, reply.body, json);
}

}  // namespace

int cmd_token_exchange(const std::string& config_path, const TokenExchangeArgs& args, bool json) {
  if (args.subject_token.empty()) {
    std::cerr << "--subject-token (or PHIGATE_TOKEN) is required\n";
    return 2;
  }
  TokenExchangeRequest req = to_request(args);
  if (args.local) {
    auto config = load_or_report(config_path);
    if (!config) return 2;
    return exchange_locally(*config, req, json);
  }
  std::string base = args.admin;
  if (base.empty()) {
    auto config = load_or_report(config_path);
    if (!config) return 2;
    if (config->gateway.listen.admin.empty()) {
      std::cerr << "no admin address: set gateway.listen.admin, pass --admin URL, or use --local\n";
      return 2;
    }
    base = "http://" + config->gateway.listen.admin;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpRequest http;
  http.method = "POST";
  http.url = base + "/v1/token/exchange";
  http.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  // The subject token is also the caller's credential for the admin API.
                  {"Authorization", "Bearer " + args.subject_token}};
  http.body = encode_token_exchange_form(req);
  HttpOptions opts;
  opts.ca_file = args.ca_file;
  opts.timeout = std::chrono::seconds(15);
  auto reply = http_request_blocking(std::move(http), opts);
  if (!reply) {
    std::cerr << "cannot reach the admin API at " << base << ": " << reply.error().message << "\n";
    return 1;
  }
  return print_result(reply->status, reply->body, json);
}

}  // namespace phigate::cli
