#pragma once
// Listeners: one io_context per thread, each with its own SO_REUSEPORT acceptor on the same
// address, so no lock sits on the accept path. The kernel picks the acceptor by a hash of the
// connection's addresses, which for a few long-lived connections (a pool, a load generator) often
// splits them unevenly: 10/6 over two threads leaves one core saturated while the other idles. So
// an accepted connection is then dealt round-robin across the threads, whichever acceptor took it
// (Envoy's connection balancing, by count rather than by live load).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "net/asio.h"

namespace phigate::net {

using ConnectionHandler = std::function<void(tcp::socket, asio::io_context&)>;

// "host:port" / "[v6]:port" -> host (brackets removed) and port; the host may be a name.
Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& host_port);
// As split_host_port, but the host must be an IP address (or "localhost") to bind to.
Result<tcp::endpoint> parse_endpoint(const std::string& host_port);

// The CPUs this process may run on (its affinity mask: taskset, a container's cpuset), ascending.
std::vector<int> allowed_cpus();

class Server {
 public:
  // threads <= 0: one per allowed CPU. pin_threads: io thread i runs only on the i-th allowed CPU
  // (modulo their count), the thread-per-core model made literal (gateway.cpu_affinity).
  explicit Server(int threads, bool pin_threads = false);
  ~Server();
  // Binds the address on every thread's context; returns the actual port (for port 0, every
  // acceptor binds the port the first one got).
  Result<uint16_t> listen(const std::string& host_port, ConnectionHandler handler);
  // Runs on each io thread after its event loop stopped, before the thread ends (set before
  // start): what a layer above keeps per thread and must not lose, such as audit records.
  void on_thread_exit(std::function<void()> fn) { on_exit_ = std::move(fn); }
  // Runs the contexts on their threads; the calling thread waits in wait().
  void start();
  void stop();
  void wait();
  std::vector<std::unique_ptr<asio::io_context>>& contexts() { return contexts_; }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::thread> threads_;
  std::function<void()> on_exit_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::atomic<uint64_t> next_context_{0};  // the round-robin deal, shared by every acceptor
  std::vector<int> pin_cpus_;              // empty: threads float
};

}  // namespace phigate::net
