#pragma once
// approvals.notify webhooks: a JSON POST per approval event to every configured URL (http or
// https), retried with exponential backoff. Runs on the admin io_context, so a slow or dead
// receiver never holds up a session; deliveries beyond a bound are dropped with an error in the
// process log rather than growing memory.
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/asio.h"

namespace phigate::admin {

struct WebhookUrl {
  bool tls = false;
  std::string host, port, target;  // target: path and query, "/" at least
};
// Accepts http://host[:port][/path] and https://...; host may be [v6]. No userinfo.
Result<WebhookUrl> parse_webhook_url(const std::string& url);

struct RetryPolicy {
  int attempts = 6;
  std::chrono::milliseconds first_delay{250};  // doubled after every failed attempt
  std::chrono::milliseconds max_delay{30000};
  std::chrono::milliseconds attempt_timeout{10000};
  size_t max_in_flight = 1000;
};

class Notifier {
 public:
  // Invalid URLs are reported by config validation; here they are logged and skipped.
  Notifier(net::asio::io_context& ctx, const std::vector<std::string>& urls, RetryPolicy p = {});
  ~Notifier();
  // Thread-safe. payload["event"] names the event (sent as X-Phigate-Event too).
  void send(nlohmann::json payload);

 private:
  net::awaitable<void> deliver(WebhookUrl url, std::string event, std::string delivery,
                               std::string body);
  net::awaitable<int> attempt(const WebhookUrl& url, const std::string& event,
                              const std::string& delivery, const std::string& body,
                              std::string& error);

  net::asio::io_context& ctx_;
  std::vector<WebhookUrl> urls_;
  RetryPolicy policy_;
  std::unique_ptr<net::ssl::context> tls_;
  std::atomic<size_t> in_flight_{0};
};

}  // namespace phigate::admin
