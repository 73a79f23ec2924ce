#pragma once
// A connection that is plain TCP until it is upgraded to TLS (PostgreSQL negotiates TLS inside its
// own protocol, so the same socket changes layers mid-stream).
#include <memory>
#include <string>

#include "common/result.h"
#include "net/asio.h"

namespace phigate::net {

class Stream {
 public:
  explicit Stream(tcp::socket sock) : sock_(std::move(sock)) {}
  Stream(Stream&&) = default;

  bool is_tls() const { return tls_ != nullptr; }
  tcp::socket& socket() { return sock_; }
  asio::any_io_executor executor() { return sock_.get_executor(); }

  // Returns 0 with ec set on EOF or error.
  awaitable<size_t> read_some(asio::mutable_buffer buf, error_code& ec);
  // Returns the bytes written (all of them unless ec is set).
  awaitable<size_t> write_all(asio::const_buffer buf, error_code& ec);

  // TLS as the server side (client-facing termination).
  awaitable<void> tls_accept(ssl::context& ctx, error_code& ec);
  // TLS as the client side; `verify_host` non-empty = verify the chain and that name.
  awaitable<void> tls_connect(ssl::context& ctx, const std::string& verify_host, error_code& ec);

  void close();
  std::string peer_address() const;  // "ip:port" or "" if unknown
  bool peer_is_loopback() const;

 private:
  tcp::socket sock_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
};

}  // namespace phigate::net
