#pragma once
// JSON Web Keys (RFC 7517) for verifying asymmetric JWS signatures (RFC 7518 §3, RFC 8037), and the
// JWS signature check itself, all through OpenSSL 3 EVP.
//
// The algorithm is bound to the key: each key carries the exact set of "alg" values it may verify,
// derived from kty/crv (RSA: RS*/PS*; EC P-256: ES256; EC P-384: ES384; OKP Ed25519: EdDSA) and
// narrowed to the JWK's own "alg" when it names one. A token whose header "alg" is not in that set
// is refused before any cryptography, so "none", HS256 keyed with the RSA public key, or an RSA
// key used for ES256 never reach OpenSSL.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace phigate {

// Every algorithm phigate verifies; HMAC ("HS*") and "none" are deliberately absent.
inline constexpr std::string_view kAsymmetricAlgs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                       "PS512", "ES256", "ES384", "EdDSA"};
bool is_supported_alg(std::string_view alg);

// Smallest RSA modulus accepted (NIST SP 800-131A); smaller keys are skipped when loading a JWKS.
inline constexpr int kMinRsaBits = 2048;
// A JWKS bigger than this, or with more keys, is refused whole (a hostile or broken endpoint).
inline constexpr size_t kMaxJwksBytes = 512 * 1024;
inline constexpr size_t kMaxJwksKeys = 64;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const;
};

struct Jwk {
  std::string kid;                // "" when the JWK has none
  std::string kty;                // RSA | EC | OKP
  std::vector<std::string> algs;  // the algorithms this key may verify
  std::shared_ptr<EVP_PKEY> pkey;
  bool allows(std::string_view alg) const;
};

struct JwkSet {
  std::vector<Jwk> keys;
  // Keys with this kid that allow `alg`; with an empty kid, every key that allows `alg`.
  std::vector<const Jwk*> candidates(std::string_view kid, std::string_view alg) const;
  bool has_kid(std::string_view kid) const;
};

// Parses a JWK Set document ({"keys":[...]}) with the strict JSON parser (duplicate members
// refused). Keys that cannot verify signatures are skipped, not errors, because IdPs publish
// encryption keys and new key types beside signing keys: "use" other than "sig", "key_ops" without
// "verify", unknown kty/crv, an "alg" phigate does not support, private members ("d", "p", ...:
// a JWKS that leaks a private key is someone's mistake, not a reason to trust it), RSA keys below
// kMinRsaBits. A document that is not a JSON object with a "keys" array, that is larger than
// kMaxJwksBytes or holds more than kMaxJwksKeys entries, or whose key members are not strict
// base64url is an error ("malformed_jwks").
Result<JwkSet> parse_jwks(std::string_view document);

// One JWK object (as parse_jwks reads each entry). Error "skip" for a key to ignore (see above),
// "malformed_jwks" for a broken one.
Result<Jwk> parse_jwk(std::string_view json_text);

// Verifies a JWS signature made with `alg` (which must be in key.algs) over `signing_input`.
// ES256/ES384 signatures are the raw R||S of RFC 7518 §3.4 (exactly 64/96 bytes) and are converted
// to DER for OpenSSL; PS* use MGF1 with the same hash and a salt as long as the hash (RFC 7518
// §3.5). Returns false on any mismatch or malformed signature; never throws.
bool verify_jws_signature(std::string_view alg, const Jwk& key, std::string_view signing_input,
                          ByteSpan signature);

}  // namespace phigate
