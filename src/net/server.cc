#include "net/server.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace phigate::net {

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return make_error("address", "expected host:port");
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string_view digits = std::string_view(host_port).substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    return make_error("address", "bad port in '" + host_port + "'");
  if (port < 0 || port > 65535) return make_error("address", "port out of range");
  if (host.empty()) return make_error("address", "missing host in '" + host_port + "'");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<tcp::endpoint> parse_endpoint(const std::string& host_port) {
  auto hp = split_host_port(host_port);
  if (!hp) return hp.error();
  std::string host = hp->first == "localhost" ? "127.0.0.1" : hp->first;
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return make_error("address", "bad IP address '" + host + "'");
  return tcp::endpoint(addr, hp->second);
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

Server::Server(int threads, bool pin_threads) {
  const std::vector<int> cpus = allowed_cpus();
  // Counted from the affinity mask, not the machine: in a container limited to 2 of 16 CPUs, 16
  // io threads would only take turns.
  if (threads <= 0) {
    threads = cpus.empty() ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                           : static_cast<int>(cpus.size());
  }
  if (pin_threads) pin_cpus_ = cpus;
  for (int i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
}

Server::~Server() {
  stop();
  wait();
  acceptors_.clear();
}

namespace {
// A descriptor in transit between threads: closed if the hand-over never happens (the target
// context is stopped and its queued handlers destroyed).
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void release() { fd_ = -1; }

 private:
  int fd_;
};
}  // namespace

// Accepts on `own` and hands each connection to the next context in the round-robin deal. A
// connection dealt to another thread moves there as its descriptor (released from this context's
// reactor, assigned to the other's) and its handler runs on that thread.
static awaitable<void> accept_loop(tcp::acceptor& acc, asio::io_context& own,
                                   std::vector<std::unique_ptr<asio::io_context>>& contexts,
                                   std::atomic<uint64_t>& next, ConnectionHandler handler) {
  for (;;) {
    error_code ec;
    tcp::socket sock = co_await acc.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(own, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    asio::io_context& target =
        *contexts[next.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
    if (&target == &own) {
      handler(std::move(sock), own);
      continue;
    }
    const auto protocol = sock.local_endpoint(ec).protocol();
    const auto fd = ec ? -1 : sock.release(ec);
    if (ec) {  // the peer is already gone, or the descriptor cannot move: drop it
      sock.close(ec);
      continue;
    }
    asio::post(target, [&target, protocol, fd = OwnedFd(fd), handler]() mutable {
      error_code aec;
      tcp::socket moved(target);
      moved.assign(protocol, fd.get(), aec);
      if (aec) return;  // fd closes itself
      fd.release();
      handler(std::move(moved), target);
    });
  }
}

Result<uint16_t> Server::listen(const std::string& host_port, ConnectionHandler handler) {
  auto ep = parse_endpoint(host_port);
  if (!ep) return ep.error();
  tcp::endpoint bind_ep = *ep;
  uint16_t port = 0;
  for (auto& ctx : contexts_) {
    auto acc = std::make_unique<tcp::acceptor>(*ctx);
    error_code ec;
    acc->open(bind_ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) acc->bind(bind_ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("listen", "cannot listen on " + host_port + ": " + ec.message());
    if (port == 0) {
      port = acc->local_endpoint().port();
      bind_ep.port(port);
    }
    asio::co_spawn(*ctx, accept_loop(*acc, *ctx, contexts_, next_context_, handler),
                   asio::detached);
    acceptors_.push_back(std::move(acc));
  }
  return port;
}

void Server::start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    int cpu = pin_cpus_.empty() ? -1 : pin_cpus_[i % pin_cpus_.size()];
    threads_.emplace_back([c = contexts_[i].get(), cpu, i, exit = on_exit_] {
      // Named so that top -H, perf and /proc tell the io threads from the audit ones.
      pthread_setname_np(pthread_self(), ("io-" + std::to_string(i)).c_str());
      if (cpu >= 0) {
        // Pinned, the scheduler can no longer stack both io threads on one core (wake-affine
        // placement next to the client or upstream that woke them) while the other idles.
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
          spdlog::warn("io thread: cannot pin to CPU {} (error {}); it floats", cpu, rc);
      }
      c->run();
      if (exit) exit();
    });
  }
}

void Server::stop() {
  // Acceptors belong to their context's thread; they are closed after the threads are joined.
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
}

void Server::wait() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace phigate::net
