#include "identity/jwks_fetcher.h"

#include <spdlog/spdlog.h>

#include "identity/http_client.h"
#include "identity/jwt.h"

namespace phigate {

namespace asio = net::asio;
using net::awaitable;

RefreshGate::Decision RefreshGate::on_unknown_key(TimePoint now,
                                                  std::chrono::milliseconds min_interval) {
  if (in_flight_) return Decision::kJoin;
  if (last_start_ && now - *last_start_ < min_interval) return Decision::kRefuse;
  in_flight_ = true;
  last_start_ = now;
  return Decision::kStart;
}

bool RefreshGate::on_periodic(TimePoint now) {
  if (in_flight_) return false;
  in_flight_ = true;
  last_start_ = now;
  return true;
}

namespace {

std::string discovery_url(const std::string& issuer) {
  // Discovery §4: remove any terminating '/' from the issuer before appending.
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/.well-known/openid-configuration";
}

awaitable<Result<std::string>> get_json(std::string url, const OidcIssuerOptions& o,
                                        size_t max_body) {
  HttpRequest req;
  req.url = std::move(url);
  HttpOptions opts;
  opts.ca_file = o.ca_file;
  opts.timeout = o.fetch_timeout;
  opts.max_body = max_body;
  auto reply = co_await http_request(std::move(req), opts);
  if (!reply.ok()) co_return reply.error();
  if (reply->status != 200) {
    co_return make_error("bad_response", "HTTP status " + std::to_string(reply->status));
  }
  co_return std::move(reply->body);
}

}  // namespace

awaitable<Result<std::shared_ptr<const JwkSet>>> fetch_issuer_keys(OidcIssuerOptions o) {
  std::string jwks_uri = o.jwks_uri;
  if (jwks_uri.empty()) {
    std::string url = discovery_url(o.issuer);
    auto doc_text = co_await get_json(url, o, 256 * 1024);
    if (!doc_text.ok()) co_return make_error("discovery", "discovery: " + doc_text.error().message);
    auto doc = parse_json_object_strict(*doc_text);
    if (!doc) co_return make_error("discovery", "discovery document is not a valid JSON object");
    auto iss = doc->find("issuer");
    // §4.3: a document for another issuer could be an attacker's, or a misconfiguration that
    // would make every token fail later with a more confusing reason.
    if (iss == doc->end() || !iss->is_string() || *iss != o.issuer) {
      co_return make_error("discovery", "discovery document names a different issuer");
    }
    auto uri = doc->find("jwks_uri");
    if (uri == doc->end() || !uri->is_string()) {
      co_return make_error("discovery", "discovery document has no jwks_uri");
    }
    jwks_uri = uri->get<std::string>();
  }
  auto body = co_await get_json(jwks_uri, o, kMaxJwksBytes);
  if (!body.ok()) co_return make_error("jwks", "JWKS: " + body.error().message);
  auto set = parse_jwks(*body);
  if (!set.ok()) co_return make_error("jwks", "JWKS: " + set.error().message);
  co_return std::make_shared<const JwkSet>(std::move(*set));
}

struct JwksFetcher::Slot {
  std::shared_ptr<OidcIssuer> issuer;
  mutable std::mutex
      mu;  // guards gate, waiters, fetches (the refresh path only, never per request)
  RefreshGate gate;
  std::vector<std::function<void()>> waiters;
  uint64_t fetches = 0;
};

JwksFetcher::JwksFetcher(std::vector<std::shared_ptr<OidcIssuer>> issuers) {
  for (auto& i : issuers) {
    auto slot = std::make_unique<Slot>();
    slot->issuer = std::move(i);
    slots_.push_back(std::move(slot));
  }
}

JwksFetcher::~JwksFetcher() { stop(); }

JwksFetcher::Slot* JwksFetcher::find(const OidcIssuer* issuer) const {
  for (const auto& s : slots_) {
    if (s->issuer.get() == issuer) return s.get();
  }
  return nullptr;
}

void JwksFetcher::start() {
  if (started_ || slots_.empty()) return;
  started_ = true;
  work_.emplace(io_.get_executor());
  for (auto& s : slots_) {
    Slot* slot = s.get();
    asio::co_spawn(
        io_, [this, slot]() { return periodic(*slot); }, asio::detached);
  }
  thread_ = std::thread([this] { io_.run(); });
}

void JwksFetcher::stop() {
  if (!started_) return;
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  started_ = false;
  for (auto& s : slots_) {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(s->mu);
      waiters.swap(s->waiters);
      s->gate.on_finish();
    }
    for (auto& w : waiters) w();
  }
}

awaitable<void> JwksFetcher::fetch(Slot& slot) {
  // A named copy: GCC 12 mis-destroys temporaries that live across a co_await (DESIGN.md §8).
  OidcIssuerOptions options = slot.issuer->options();
  auto keys = co_await fetch_issuer_keys(std::move(options));
  if (keys.ok()) {
    spdlog::info("issuer {}: loaded {} signing key(s)", slot.issuer->options().name,
                 (*keys)->keys.size());
    slot.issuer->set_keys(std::move(*keys));
  } else {
    // The cached set (if any) stays: an IdP outage must not lock out tokens signed by keys it
    // published before.
    spdlog::warn("issuer {}: cannot refresh signing keys: {}", slot.issuer->options().name,
                 keys.error().message);
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(slot.mu);
    slot.gate.on_finish();
    ++slot.fetches;
    waiters.swap(slot.waiters);
  }
  for (auto& w : waiters) w();
}

awaitable<void> JwksFetcher::periodic(Slot& slot) {
  asio::steady_timer timer(io_);
  for (;;) {
    bool go;
    {
      std::lock_guard lock(slot.mu);
      go = slot.gate.on_periodic(std::chrono::steady_clock::now());
    }
    if (go) co_await fetch(slot);
    timer.expires_after(slot.issuer->options().refresh_interval);
    net::error_code ec;
    co_await timer.async_wait(asio::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
  }
}

void JwksFetcher::launch(Slot& slot) {
  Slot* s = &slot;
  asio::co_spawn(
      io_, [this, s]() { return fetch(*s); }, asio::detached);
}

bool JwksFetcher::request_refresh(const OidcIssuer* issuer, std::function<void()> done) {
  Slot* slot = find(issuer);
  if (slot == nullptr || !started_) return false;
  RefreshGate::Decision d;
  {
    std::lock_guard lock(slot->mu);
    d = slot->gate.on_unknown_key(std::chrono::steady_clock::now(),
                                  issuer->options().min_refresh_interval);
    if (d != RefreshGate::Decision::kRefuse && done) slot->waiters.push_back(std::move(done));
  }
  if (d == RefreshGate::Decision::kRefuse) return false;
  if (d == RefreshGate::Decision::kStart) launch(*slot);
  return true;
}

Status JwksFetcher::fetch_all_blocking() {
  for (auto& s : slots_) {
    asio::io_context io;
    std::optional<Result<std::shared_ptr<const JwkSet>>> out;
    auto options = s->issuer->options();
    asio::co_spawn(
        io,
        [&out, options]() -> awaitable<void> {
          OidcIssuerOptions copy = options;
          auto r = co_await fetch_issuer_keys(std::move(copy));
          out.emplace(std::move(r));
        },
        asio::detached);
    io.run();
    if (!out || !out->ok()) {
      std::string why = out ? out->error().message : "fetch did not complete";
      return make_error("jwks", "issuer " + options.name + ": " + why);
    }
    s->issuer->set_keys(std::move(out->value()));
  }
  return ok_status();
}

uint64_t JwksFetcher::fetch_count(const OidcIssuer* issuer) const {
  Slot* slot = find(issuer);
  if (slot == nullptr) return 0;
  std::lock_guard lock(slot->mu);
  return slot->fetches;
}

}  // namespace phigate
