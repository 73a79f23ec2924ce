#include "net/stream.h"

namespace phigate::net {

// read_some and write_all are not coroutines: they hand back the operation itself, so awaiting
// one costs no frame of its own (four per proxied HTTP request otherwise).
awaitable<size_t> Stream::read_some(asio::mutable_buffer buf, error_code& ec) {
  if (tls_) return tls_->async_read_some(buf, asio::redirect_error(use_awaitable, ec));
  return sock_.async_read_some(buf, asio::redirect_error(use_awaitable, ec));
}

awaitable<size_t> Stream::write_all(asio::const_buffer buf, error_code& ec) {
  if (tls_) return asio::async_write(*tls_, buf, asio::redirect_error(use_awaitable, ec));
  return asio::async_write(sock_, buf, asio::redirect_error(use_awaitable, ec));
}

awaitable<void> Stream::tls_accept(ssl::context& ctx, error_code& ec) {
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, ctx);
  co_await tls_->async_handshake(ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
}

awaitable<void> Stream::tls_connect(ssl::context& ctx, const std::string& verify_host,
                                    error_code& ec) {
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(sock_, ctx);
  if (!verify_host.empty()) {
    tls_->set_verify_mode(ssl::verify_peer);
    tls_->set_verify_callback(ssl::host_name_verification(verify_host));
    // SNI, so servers behind a TLS router pick the right certificate.
    SSL_set_tlsext_host_name(tls_->native_handle(), verify_host.c_str());
  } else {
    tls_->set_verify_mode(ssl::verify_none);
  }
  co_await tls_->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
}

void Stream::close() {
  error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

std::string Stream::peer_address() const {
  error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  if (ec) return {};
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

bool Stream::peer_is_loopback() const {
  error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  if (ec) return false;
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

}  // namespace phigate::net
