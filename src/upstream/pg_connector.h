#pragma once
// Logs in to an upstream PostgreSQL with phigate's own credentials (§55.2.1 Start-up, §55.3 SASL)
// and hands back a ready connection: the client never sees or supplies the upstream password.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "net/stream.h"

namespace phigate::upstream {

struct PgTarget {
  std::string host;
  uint16_t port = 5432;
  std::string database;
  std::string user;
  std::string password;
  std::string tls_mode = "prefer";  // disable | prefer | require | verify-full
  std::string ca_file;              // verify-full: CA bundle (empty = system default paths)
  // Settings the client asked for that are safe to pass on (application_name, client_encoding, …).
  std::vector<std::pair<std::string, std::string>> options;
};

struct PgConnection {
  std::unique_ptr<net::Stream> stream;
  std::vector<std::pair<std::string, std::string>> parameters;  // ParameterStatus, in order
  int32_t backend_pid = 0;
  int32_t backend_key = 0;
  char tx_status = 'I';
  Bytes leftover;  // bytes read past ReadyForQuery (normally none)
};

// Error codes: "connect", "tls", "auth" (message carries the server's error text), "protocol".
net::awaitable<Result<PgConnection>> connect_pg(net::asio::any_io_executor ex, PgTarget target);

// CancelRequest to the upstream backend (§55.2.7); best effort, like libpq's PQcancel.
net::awaitable<void> send_cancel(net::asio::any_io_executor ex, std::string host, uint16_t port,
                                 int32_t pid, int32_t key);

// Reads a resource's upstream password from credentials.password_env / password_file.
Result<std::string> read_secret(const std::string& env_name, const std::string& file);

}  // namespace phigate::upstream
