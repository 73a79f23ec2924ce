#pragma once
// Client side of PostgreSQL password authentication (§55.3 SASL Authentication, RFC 5802/7677
// SCRAM-SHA-256, and the legacy MD5 scheme), used by phigate to log in upstream with its own
// credentials. I/O-free: the caller moves the strings over the wire.
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace phigate::pg {

// "md5" + hex(md5(hex(md5(password + user)) + salt)) (§55.7 AuthenticationMD5Password). Returns an
// empty string if the OpenSSL build has no MD5 (FIPS mode).
std::string md5_password(std::string_view user, std::string_view password, ByteSpan salt4);

// SCRAM's SaltedPassword (PBKDF2-HMAC-SHA-256), memoised per (password, salt, iterations).
bool salted_password_cached(const std::string& password, const Bytes& salt, uint32_t iterations,
                            Bytes& out);

class ScramClient {
 public:
  // `nonce` empty = generate 18 random bytes, base64; tests pass a fixed one.
  ScramClient(std::string password, std::string nonce = {});
  ~ScramClient();  // wipes the password and derived keys
  ScramClient(ScramClient&&) = default;
  ScramClient& operator=(ScramClient&&) = default;
  ScramClient(const ScramClient&) = delete;
  ScramClient& operator=(const ScramClient&) = delete;
  // SCRAM user name for client_first (escaped per RFC 5802 §5.1). PostgreSQL ignores it and takes
  // the startup user, so phigate leaves it empty; RFC test vectors need it. Call before
  // client_first.
  void set_username(std::string_view user);
  // client-first-message ("n,,n=,r=<nonce>"); sent in SASLInitialResponse with "SCRAM-SHA-256".
  std::string client_first();
  // Consumes server-first-message, returns client-final-message (with proof). Fails on a nonce that
  // does not extend ours, iteration count < 4096, or malformed attributes.
  Result<std::string> client_final(std::string_view server_first);
  // Checks the server signature in server-final-message ("v=..."); failure means a rogue server.
  Status verify_server_final(std::string_view server_final);

  // Iteration counts above this are refused: a rogue or misconfigured server could otherwise make
  // client_final spend seconds of an event-loop thread in PBKDF2.
  static constexpr uint32_t kMinIterations = 4096;
  static constexpr uint32_t kMaxIterations = 1000000;

 private:
  std::string password_;
  std::string username_;  // already escaped
  std::string nonce_;
  std::string client_first_bare_;
  std::string auth_message_;
  Bytes salted_password_;
};

}  // namespace phigate::pg
