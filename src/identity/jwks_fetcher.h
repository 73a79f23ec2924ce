#pragma once
// Keeps every OIDC issuer's JWK Set current from one background thread, so io threads never wait
// on an IdP: a fetch at start, a periodic re-fetch (key rotation), and an on-demand re-fetch when a
// token names a key id the cache does not hold, rate-limited per issuer so that tokens with random
// "kid" values cannot turn the gateway into a flood of requests to the IdP.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/result.h"
#include "identity/oidc_issuer.h"
#include "net/asio.h"

namespace phigate {

// What a verifier needs from a fetcher (an interface so tests can count and script refreshes).
class KeyRefresher {
 public:
  virtual ~KeyRefresher() = default;
  // A token named a key `issuer` does not hold. Returns false when no refresh will happen (one
  // started less than min_refresh_interval ago and has finished): the token then fails closed as
  // "unknown_key". Otherwise `done` runs on the fetcher's thread once the refresh in flight (this
  // one, or one already running, which is joined) has finished, successfully or not.
  virtual bool request_refresh(const OidcIssuer* issuer, std::function<void()> done) = 0;
};

// The rate limit, apart from any I/O so it can be tested with a scripted clock.
class RefreshGate {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  enum class Decision { kStart, kJoin, kRefuse };
  // An unknown kid: join a refresh in flight, start one if the last start is at least
  // `min_interval` ago (or there was none), refuse otherwise. kStart marks a refresh in flight.
  Decision on_unknown_key(TimePoint now, std::chrono::milliseconds min_interval);
  // A periodic refresh: starts unless one is in flight.
  bool on_periodic(TimePoint now);
  void on_finish() { in_flight_ = false; }
  bool in_flight() const { return in_flight_; }

 private:
  bool in_flight_ = false;
  std::optional<TimePoint> last_start_;
};

// Discovery (OpenID Connect Discovery 1.0 §4): GET <issuer>/.well-known/openid-configuration, whose
// "issuer" must equal the configured issuer exactly (§4.3) and whose "jwks_uri" names the key
// set; or the configured jwks_uri directly. Then GET and parse the JWK Set (identity/jwk.h).
net::awaitable<Result<std::shared_ptr<const JwkSet>>> fetch_issuer_keys(OidcIssuerOptions options);

class JwksFetcher : public KeyRefresher {
 public:
  explicit JwksFetcher(std::vector<std::shared_ptr<OidcIssuer>> issuers);
  ~JwksFetcher() override;
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Starts the background thread: every issuer is fetched now and then every refresh_interval.
  void start();
  // Stops the thread; refreshes still waited on are reported done (their tokens fail closed).
  void stop();
  bool request_refresh(const OidcIssuer* issuer, std::function<void()> done) override;
  // Fetches every issuer once on the calling thread (CLI tools); the first error, if any.
  Status fetch_all_blocking();
  // Completed fetches for `issuer` (successful or not), for tests and metrics.
  uint64_t fetch_count(const OidcIssuer* issuer) const;

 private:
  struct Slot;
  Slot* find(const OidcIssuer* issuer) const;
  void launch(Slot& slot);  // on any thread; runs the fetch on io_
  net::awaitable<void> fetch(Slot& slot);
  net::awaitable<void> periodic(Slot& slot);

  std::vector<std::unique_ptr<Slot>> slots_;
  net::asio::io_context io_;
  std::optional<net::asio::executor_work_guard<net::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> started_{false};
};

}  // namespace phigate
