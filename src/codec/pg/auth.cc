// Client side of PostgreSQL password authentication: §55.3 "SASL Authentication" with SCRAM-SHA-256
// (RFC 5802, RFC 7677) and §55.7 AuthenticationMD5Password.
#include "codec/pg/auth.h"

#include <mutex>

#include <map>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <vector>

#include "common/base64.h"
#include "common/crypto.h"

namespace phigate::pg {

namespace {

Error scram_error(std::string message) {
  return Error{"protocol", "invalid SCRAM message from server: " + std::move(message)};
}

bool md5_hex(std::string_view data, std::string& out) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = EVP_md5();
  if (md == nullptr || EVP_Digest(data.data(), data.size(), digest, &len, md, nullptr) != 1) {
    return false;
  }
  out = to_hex(ByteSpan(digest, len));
  return true;
}

// RFC 5802 §7: attributes are "<letter>=<value>" separated by commas; values cannot hold a comma.
std::vector<std::string_view> split_attributes(std::string_view msg) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = msg.find(',', start);
    out.push_back(msg.substr(start, comma == std::string_view::npos ? msg.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool is_attribute(std::string_view attr, char name) {
  return attr.size() >= 2 && attr[0] == name && attr[1] == '=';
}

// RFC 5802 §7 "extensions": further attributes are allowed if they are well formed.
bool valid_extension(std::string_view attr) {
  return attr.size() >= 2 &&
         ((attr[0] >= 'a' && attr[0] <= 'z') || (attr[0] >= 'A' && attr[0] <= 'Z')) &&
         attr[1] == '=';
}

// RFC 5802 §7 "printable": %x21-2B / %x2D-7E (any visible ASCII but the comma).
bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

Sha256 hmac(ByteSpan key, std::string_view data) { return hmac_sha256(key, as_bytes(data)); }

}  // namespace

// §55.7 AuthenticationMD5Password: the reply is "md5" + md5hex(md5hex(password + user) + salt).
std::string md5_password(std::string_view user, std::string_view password, ByteSpan salt4) {
  std::string inner, outer;
  std::string buf(password);
  buf.append(user);
  if (!md5_hex(buf, inner)) return {};
  inner.append(as_sv(salt4));
  if (!md5_hex(inner, outer)) return {};
  OPENSSL_cleanse(buf.data(), buf.size());
  return "md5" + outer;
}

ScramClient::ScramClient(std::string password, std::string nonce)
    : password_(std::move(password)), nonce_(std::move(nonce)) {
  if (nonce_.empty()) {
    // RFC 5802 §5.1: a nonce unique per exchange; 18 random bytes as PostgreSQL's libpq uses.
    uint8_t raw[18];
    random_bytes(raw, sizeof raw);
    nonce_ = base64_encode(ByteSpan(raw, sizeof raw));
  }
}

ScramClient::~ScramClient() {
  OPENSSL_cleanse(password_.data(), password_.size());
  if (!salted_password_.empty()) OPENSSL_cleanse(salted_password_.data(), salted_password_.size());
}

// RFC 5802 §5.1 saslname: "=" and "," are escaped as "=3D" and "=2C".
void ScramClient::set_username(std::string_view user) {
  username_.clear();
  for (char c : user) {
    if (c == '=') {
      username_ += "=3D";
    } else if (c == ',') {
      username_ += "=2C";
    } else {
      username_ += c;
    }
  }
}

// RFC 5802 §7 client-first-message: gs2-header "n,," (no channel binding, no authzid) followed by
// client-first-message-bare. §55.3: PostgreSQL takes the user from the startup packet, so the SCRAM
// user name stays empty unless set_username was called.
std::string ScramClient::client_first() {
  client_first_bare_ = "n=" + username_ + ",r=" + nonce_;
  auth_message_.clear();
  return "n,," + client_first_bare_;
}

// RFC 5802 §3 and §7: server-first-message = r=<nonce>,s=<salt>,i=<count>[,extensions]; the reply
// is c=biws,r=<nonce>,p=<ClientKey XOR HMAC(H(ClientKey), AuthMessage)>.
namespace {

// PBKDF2 with >= 4096 iterations costs milliseconds of CPU, on every upstream login; a server
// keeps the same salt and iteration count for a role until its password changes, so the result
// is memoised (as pgbouncer does). Keys are an HMAC under a per-process random key, so the cache
// holds nothing a memory dump would not already reveal (phigate holds the password itself).
struct SaltCache {
  std::mutex mu;
  std::map<std::string, Bytes> entries;  // key: hex HMAC(password, salt, iterations)
};

SaltCache& salt_cache() {
  static SaltCache cache;
  return cache;
}

const Bytes& cache_key_secret() {
  static const Bytes secret = [] {
    Bytes b(32);
    random_bytes(b.data(), b.size());
    return b;
  }();
  return secret;
}

}  // namespace

bool salted_password_cached(const std::string& password, const Bytes& salt, uint32_t iterations,
                            Bytes& out) {
  Bytes material(password.begin(), password.end());
  material.push_back(0);
  material.insert(material.end(), salt.begin(), salt.end());
  for (int shift = 24; shift >= 0; shift -= 8) material.push_back(uint8_t(iterations >> shift));
  std::string key = to_hex(hmac_sha256(cache_key_secret(), material));
  OPENSSL_cleanse(material.data(), material.size());
  SaltCache& cache = salt_cache();
  {
    std::lock_guard lk(cache.mu);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end()) {
      out = it->second;
      return true;
    }
  }
  out.assign(32, 0);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    return false;
  }
  std::lock_guard lk(cache.mu);
  if (cache.entries.size() >= 64) cache.entries.clear();  // a few roles per gateway; stay bounded
  cache.entries.emplace(std::move(key), out);
  return true;
}

Result<std::string> ScramClient::client_final(std::string_view server_first) {
  if (client_first_bare_.empty()) {
    return Error{"protocol", "SCRAM exchange out of order: client_first was not sent"};
  }
  auto attrs = split_attributes(server_first);
  // RFC 5802 §7: a leading m= announces a mandatory extension this client cannot honour.
  if (!attrs.empty() && is_attribute(attrs[0], 'm')) {
    return scram_error("unsupported mandatory extension");
  }
  if (attrs.size() < 3 || !is_attribute(attrs[0], 'r') || !is_attribute(attrs[1], 's') ||
      !is_attribute(attrs[2], 'i')) {
    return scram_error("expected r=, s= and i= attributes");
  }
  for (size_t i = 3; i < attrs.size(); ++i) {
    if (!valid_extension(attrs[i])) return scram_error("malformed extension attribute");
  }
  std::string_view nonce = attrs[0].substr(2), salt_b64 = attrs[1].substr(2),
                   iter_text = attrs[2].substr(2);
  // RFC 5802 §5.1: the server appends its own part to our nonce. A nonce that does not start with
  // ours, or adds nothing, means a replayed or forged exchange.
  if (nonce.size() <= nonce_.size() || nonce.substr(0, nonce_.size()) != nonce_ ||
      !printable(nonce)) {
    return scram_error("nonce does not extend the client nonce");
  }
  auto salt = base64_decode(salt_b64);
  if (!salt || salt->empty()) return scram_error("salt is not valid base64");
  if (iter_text.empty() || iter_text.size() > 10) return scram_error("invalid iteration count");
  uint64_t iterations = 0;
  for (char c : iter_text) {
    if (c < '0' || c > '9') return scram_error("invalid iteration count");
    iterations = iterations * 10 + uint64_t(c - '0');
  }
  // RFC 7677 §4: at least 4096 iterations; the upper cap bounds the CPU a server can demand.
  if (iterations < kMinIterations || iterations > kMaxIterations) {
    return scram_error("iteration count " + std::string(iter_text) + " outside [" +
                       std::to_string(kMinIterations) + ", " + std::to_string(kMaxIterations) +
                       "]");
  }

  // RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), Hi being PBKDF2-HMAC-SHA-256.
  // Normalize is SASLprep (RFC 4013), which PostgreSQL applies to the password when it is valid
  // UTF-8 without prohibited characters. It is the identity for ASCII (control characters make it
  // fail, and PostgreSQL then uses the raw bytes, as here), so only a non-ASCII password that is
  // not already NFKC-normal would differ; upstream credentials are generated secrets, so it is
  // omitted.
  if (!salted_password_cached(password_, *salt, iterations, salted_password_)) {
    salted_password_.clear();
    return Error{"crypto", "PBKDF2 failed"};
  }

  // "biws" is base64("n,,"), the gs2 header of client_first (no channel binding).
  std::string final_without_proof = "c=biws,r=" + std::string(nonce);
  auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + final_without_proof;

  Sha256 client_key = hmac(salted_password_, "Client Key");
  Sha256 stored_key = sha256(ByteSpan(client_key));
  Sha256 client_signature = hmac(stored_key, auth_message_);
  Sha256 proof{};
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ client_signature[i];
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return final_without_proof + ",p=" + base64_encode(proof);
}

// RFC 5802 §7 server-final-message = (e=<error> | v=<ServerSignature>)[,extensions], with
// ServerSignature := HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage).
Status ScramClient::verify_server_final(std::string_view server_final) {
  if (auth_message_.empty() || salted_password_.empty()) {
    return Error{"protocol", "SCRAM exchange out of order: client_final was not completed"};
  }
  auto attrs = split_attributes(server_final);
  if (is_attribute(attrs[0], 'e')) {
    return Error{"auth",
                 "upstream refused SCRAM authentication: " + std::string(attrs[0].substr(2))};
  }
  if (!is_attribute(attrs[0], 'v')) return scram_error("expected v= in server-final-message");
  for (size_t i = 1; i < attrs.size(); ++i) {
    if (!valid_extension(attrs[i])) return scram_error("malformed extension attribute");
  }
  auto signature = base64_decode(attrs[0].substr(2));
  if (!signature || signature->size() != 32) return scram_error("server signature is not valid");
  Sha256 server_key = hmac(salted_password_, "Server Key");
  Sha256 expected = hmac(server_key, auth_message_);
  OPENSSL_cleanse(server_key.data(), server_key.size());
  // A server that cannot prove it knows the password's verifier is not the configured upstream.
  if (!equal_ct(*signature, expected)) {
    return Error{"auth", "upstream server signature does not match: server is not authentic"};
  }
  return ok_status();
}

}  // namespace phigate::pg
