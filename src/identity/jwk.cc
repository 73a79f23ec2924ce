#include "identity/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>

#include "common/base64.h"
#include "identity/jwt.h"

namespace phigate {

using nlohmann::json;

void PkeyFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

namespace {

// RSA moduli above this are refused: verifying with them costs more CPU than any real IdP needs
// and would let a hostile JWKS make every verification slow.
constexpr int kMaxRsaBits = 8192;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Error bad(std::string message) { return make_error("malformed_jwks", std::move(message)); }
Error skip(std::string message) { return make_error("skip", std::move(message)); }

// A required base64url member, strictly decoded.
Result<Bytes> member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return bad(std::string("JWK member \"") + name + "\" is missing");
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return bad(std::string("JWK member \"") + name + "\" is not strict base64url");
  }
  return std::move(*bytes);
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(pkey, PkeyFree{});
}

Result<std::shared_ptr<EVP_PKEY>> rsa_key(const json& jwk) {
  auto n = member(jwk, "n");
  if (!n.ok()) return n.error();
  auto e = member(jwk, "e");
  if (!e.ok()) return e.error();
  // RFC 7518 §6.3.1.1: n is unsigned big-endian without leading zero octets (one is tolerated by
  // many encoders, so only the size is bounded here; OpenSSL normalises the value).
  if (n->size() > kMaxRsaBits / 8 + 1 || e->size() > 8) return bad("RSA key size out of range");
  BnPtr bn_n(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) return bad("RSA key members are invalid");
  // An even or tiny exponent is not an RSA public key anyone generates.
  if (!BN_is_odd(bn_e.get()) || BN_num_bits(bn_e.get()) < 2) return bad("RSA exponent invalid");
  int bits = BN_num_bits(bn_n.get());
  if (bits > kMaxRsaBits) return bad("RSA modulus too large");
  if (bits < kMinRsaBits) return skip("RSA key shorter than 2048 bits");
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return bad("RSA key could not be built");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto pkey = params ? from_params("RSA", params.get()) : nullptr;
  if (!pkey) return bad("RSA key could not be built");
  return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> ec_key(const json& jwk, const std::string& crv) {
  const char* group = crv == "P-256" ? "prime256v1" : "secp384r1";
  const size_t len = crv == "P-256" ? 32 : 48;
  auto x = member(jwk, "x");
  if (!x.ok()) return x.error();
  auto y = member(jwk, "y");
  if (!y.ok()) return y.error();
  // RFC 7518 §6.2.1.2/3: each coordinate is exactly the full field size.
  if (x->size() != len || y->size() != len) return bad("EC coordinates have the wrong length");
  Bytes point;
  point.reserve(1 + 2 * len);
  point.push_back(0x04);  // SEC 1 uncompressed point
  point.insert(point.end(), x->begin(), x->end());
  point.insert(point.end(), y->begin(), y->end());
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return bad("EC key could not be built");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto pkey = params ? from_params("EC", params.get()) : nullptr;
  if (!pkey) return bad("EC point is invalid");
  // Invalid-curve attacks: the point must lie on the named curve.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return bad("EC point is not on the curve");
  return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> okp_key(const json& jwk) {
  auto x = member(jwk, "x");
  if (!x.ok()) return x.error();
  if (x->size() != 32) return bad("Ed25519 key must be 32 bytes");
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x->data(), x->size());
  if (!p) return bad("Ed25519 key is invalid");
  return std::shared_ptr<EVP_PKEY>(p, PkeyFree{});
}

const EVP_MD* digest_for(std::string_view alg) {
  std::string_view bits = alg.substr(2);
  if (bits == "256") return EVP_sha256();
  if (bits == "384") return EVP_sha384();
  if (bits == "512") return EVP_sha512();
  return nullptr;
}

// RFC 7518 §3.4: R and S as fixed-size big-endian integers, concatenated. OpenSSL wants DER.
std::optional<Bytes> ecdsa_raw_to_der(ByteSpan raw, size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return std::nullopt;
  Bytes der(static_cast<size_t>(n));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != n) return std::nullopt;
  return der;
}

}  // namespace

bool is_supported_alg(std::string_view alg) {
  return std::find(std::begin(kAsymmetricAlgs), std::end(kAsymmetricAlgs), alg) !=
         std::end(kAsymmetricAlgs);
}

bool Jwk::allows(std::string_view alg) const {
  return std::find(algs.begin(), algs.end(), alg) != algs.end();
}

std::vector<const Jwk*> JwkSet::candidates(std::string_view kid, std::string_view alg) const {
  std::vector<const Jwk*> out;
  for (const auto& k : keys) {
    if ((kid.empty() || k.kid == kid) && k.allows(alg)) out.push_back(&k);
  }
  return out;
}

bool JwkSet::has_kid(std::string_view kid) const {
  return std::any_of(keys.begin(), keys.end(), [&](const Jwk& k) { return k.kid == kid; });
}

namespace {

Result<Jwk> parse_jwk_object(const json& jwk) {
  if (!jwk.is_object()) return bad("JWK is not an object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return bad("JWK has no \"kty\"");
  Jwk out;
  out.kty = kty_it->get<std::string>();
  if (auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string() || !is_printable_claim(kid->get_ref<const std::string&>())) {
      return bad("JWK \"kid\" must be a printable string");
    }
    out.kid = kid->get<std::string>();
  }
  if (auto use = jwk.find("use"); use != jwk.end() && (!use->is_string() || *use != "sig")) {
    return skip("not a signature key");
  }
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::find(ops->begin(), ops->end(), "verify") == ops->end()) {
      return skip("key_ops does not include verify");
    }
  }
  for (const char* priv : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(priv)) return skip("JWK carries private key material");
  }

  std::vector<std::string> natural;
  std::shared_ptr<EVP_PKEY> pkey;
  if (out.kty == "RSA") {
    natural = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    auto k = rsa_key(jwk);
    if (!k.ok()) return k.error();
    pkey = std::move(*k);
  } else if (out.kty == "EC" || out.kty == "OKP") {
    auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !crv_it->is_string()) return bad("JWK has no \"crv\"");
    const std::string crv = crv_it->get<std::string>();
    if (out.kty == "EC" && (crv == "P-256" || crv == "P-384")) {
      natural = {crv == "P-256" ? "ES256" : "ES384"};
      auto k = ec_key(jwk, crv);
      if (!k.ok()) return k.error();
      pkey = std::move(*k);
    } else if (out.kty == "OKP" && crv == "Ed25519") {
      natural = {"EdDSA"};
      auto k = okp_key(jwk);
      if (!k.ok()) return k.error();
      pkey = std::move(*k);
    } else {
      return skip("unsupported curve");
    }
  } else {
    return skip("unsupported key type");  // "oct" (HMAC secrets) lands here: never usable
  }

  if (auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return bad("JWK \"alg\" must be a string");
    const std::string& a = alg->get_ref<const std::string&>();
    // The JWK's own alg narrows the key to exactly that algorithm, and must agree with kty/crv.
    if (std::find(natural.begin(), natural.end(), a) == natural.end()) {
      return skip("JWK alg does not match its key type or is not supported");
    }
    natural = {a};
  }
  out.algs = std::move(natural);
  out.pkey = std::move(pkey);
  return out;
}

}  // namespace

Result<Jwk> parse_jwk(std::string_view json_text) {
  auto j = parse_json_object_strict(json_text);
  if (!j) return bad("JWK is not a valid JSON object");
  return parse_jwk_object(*j);
}

Result<JwkSet> parse_jwks(std::string_view document) {
  if (document.size() > kMaxJwksBytes) return bad("JWKS document is too large");
  auto doc = parse_json_object_strict(document);
  if (!doc) return bad("JWKS is not a valid JSON object (or has duplicate members)");
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return bad("JWKS has no \"keys\" array");
  if (keys->size() > kMaxJwksKeys) return bad("JWKS holds too many keys");
  JwkSet set;
  for (const auto& entry : *keys) {
    auto k = parse_jwk_object(entry);
    if (k.ok()) {
      set.keys.push_back(std::move(*k));
    } else if (k.error().code != "skip") {
      return k.error();
    }
  }
  return set;
}

bool verify_jws_signature(std::string_view alg, const Jwk& key, std::string_view signing_input,
                          ByteSpan signature) {
  if (!key.pkey || !key.allows(alg) || !is_supported_alg(alg)) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == "EdDSA" ? nullptr : digest_for(alg);
  if (alg != "EdDSA" && md == nullptr) return false;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) != 1) return false;

  Bytes der;
  ByteSpan sig = signature;
  if (alg[0] == 'R' || alg[0] == 'P') {
    if (EVP_PKEY_get_base_id(key.pkey.get()) != EVP_PKEY_RSA) return false;
    if (alg[0] == 'P') {
      // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
        return false;
      }
    } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return false;
    }
  } else if (alg[0] == 'E' && alg != "EdDSA") {
    if (EVP_PKEY_get_base_id(key.pkey.get()) != EVP_PKEY_EC) return false;
    auto d = ecdsa_raw_to_der(signature, alg == "ES256" ? 32 : 48);
    if (!d) return false;
    der = std::move(*d);
    sig = der;
  } else if (EVP_PKEY_get_base_id(key.pkey.get()) != EVP_PKEY_ED25519) {
    return false;
  }
  auto input = as_bytes(signing_input);
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), input.data(), input.size()) == 1;
}

}  // namespace phigate
