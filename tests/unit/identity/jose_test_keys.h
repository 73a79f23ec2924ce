#pragma once
// Test-side JOSE signer: generates RSA, EC and Ed25519 keys with OpenSSL, publishes them as JWKs
// and signs arbitrary header/claims text with any JWS algorithm, so each attack test can forge
// exactly the token it needs.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/bytes.h"

namespace phigate::testing {

struct TestKey {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string kty, crv;  // crv for EC/OKP
  nlohmann::json jwk;    // public JWK, without kid/alg (tests add those)
};

inline std::string b64u(ByteSpan b) { return base64url_encode(b); }

inline Bytes bn_bytes(EVP_PKEY* p, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(p, name, &bn);
  size_t n = std::max<size_t>(pad, static_cast<size_t>(BN_num_bytes(bn)));
  Bytes out(n);
  BN_bn2binpad(bn, out.data(), static_cast<int>(n));
  BN_free(bn);
  return out;
}

inline TestKey make_rsa(int bits = 2048) {
  TestKey k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)),
               EVP_PKEY_free);
  k.kty = "RSA";
  k.jwk = {{"kty", "RSA"},
           {"n", b64u(bn_bytes(k.pkey.get(), OSSL_PKEY_PARAM_RSA_N))},
           {"e", b64u(bn_bytes(k.pkey.get(), OSSL_PKEY_PARAM_RSA_E))}};
  return k;
}

inline TestKey make_ec(const std::string& crv) {
  TestKey k;
  const char* group = crv == "P-256" ? "P-256" : "P-384";
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group), EVP_PKEY_free);
  k.kty = "EC";
  k.crv = crv;
  size_t len = crv == "P-256" ? 32 : 48;
  k.jwk = {{"kty", "EC"},
           {"crv", crv},
           {"x", b64u(bn_bytes(k.pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, len))},
           {"y", b64u(bn_bytes(k.pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, len))}};
  return k;
}

inline TestKey make_ed25519() {
  TestKey k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  k.kty = "OKP";
  k.crv = "Ed25519";
  uint8_t raw[32];
  size_t len = sizeof raw;
  EVP_PKEY_get_raw_public_key(k.pkey.get(), raw, &len);
  k.jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", b64u(ByteSpan(raw, len))}};
  return k;
}

// Raw JWS signature over `input` with `alg` (ES* as R||S, RFC 7518 §3.4).
inline Bytes jws_sign(const TestKey& k, const std::string& alg, std::string_view input) {
  const EVP_MD* md = nullptr;
  if (alg != "EdDSA") {
    std::string bits = alg.substr(2);
    md = bits == "256" ? EVP_sha256() : bits == "384" ? EVP_sha384() : EVP_sha512();
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md, nullptr, k.pkey.get());
  if (alg[0] == 'P') {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  auto in = as_bytes(input);
  EVP_DigestSign(ctx, nullptr, &len, in.data(), in.size());
  Bytes sig(len);
  EVP_DigestSign(ctx, sig.data(), &len, in.data(), in.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg[0] == 'E' && alg != "EdDSA") {
    size_t half = alg == "ES256" ? 32 : 48;
    const unsigned char* p = sig.data();
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    Bytes raw(2 * half);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw.data(), static_cast<int>(half));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw.data() + half, static_cast<int>(half));
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

inline std::string b64s(std::string_view s) { return base64url_encode(as_bytes(s)); }

// header.payload.signature over exactly these JSON texts.
inline std::string forge(const TestKey& k, const std::string& alg, const std::string& header_json,
                         const std::string& claims_json) {
  std::string input = b64s(header_json) + "." + b64s(claims_json);
  return input + "." + base64url_encode(jws_sign(k, alg, input));
}

}  // namespace phigate::testing
