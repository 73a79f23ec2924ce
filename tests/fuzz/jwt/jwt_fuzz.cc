// Fuzz target: arbitrary bytes as a bearer token through the verifier (size cap, JWS split, strict
// base64url, duplicate-key-rejecting JSON, claim checks) for both the local issuer and an oidc
// issuer with a fixed key set, and as a JWK Set document (key parsing, curve checks). Must never
// crash or accept a token.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "identity/jwk.h"
#include "identity/oidc_issuer.h"
#include "identity/token_verifier.h"

namespace {
std::shared_ptr<const phigate::LocalIssuer> issuer() {
  static std::shared_ptr<const phigate::LocalIssuer> i = [] {
    auto dir = std::filesystem::temp_directory_path() / "phigate-jwt-fuzz";
    auto r = phigate::LocalIssuer::load_or_create(dir.string(), "fuzz");
    return r.ok() ? std::shared_ptr<const phigate::LocalIssuer>(r.value()) : nullptr;
  }();
  return i;
}

// One key of each type, so every signature path (RSA PKCS#1/PSS, ECDSA raw->DER, EdDSA) is reached.
constexpr std::string_view kJwks = R"({"keys":[
{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
{"kty":"RSA","kid":"rsa","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}]})";

phigate::TokenVerifier& oidc_verifier() {
  static phigate::TokenVerifier* v = [] {
    phigate::OidcIssuerOptions o;
    o.name = "fuzz-oidc";
    o.issuer = "https://idp.example";
    o.audience = "phigate";
    o.groups_claim = "realm_access.roles";
    auto is = std::make_shared<phigate::OidcIssuer>(o);
    auto set = phigate::parse_jwks(kJwks);
    // The fixed set must load whole, or the fuzzer would not reach every signature path.
    if (!set.ok() || set->keys.size() != 3) __builtin_trap();
    is->set_keys(std::make_shared<const phigate::JwkSet>(std::move(set.value())));
    auto* verifier = new phigate::TokenVerifier(nullptr, "", {{"g", {"r"}}});
    verifier->add_oidc_issuer(std::move(is));
    return verifier;
  }();
  return *v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static phigate::TokenVerifier verifier(issuer(), "local", {{"g", {"r"}}});
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Random bytes can never carry a valid signature of these keys.
  if (verifier.verify(input, 1'800'000'000).ok()) __builtin_trap();
  if (oidc_verifier().verify(input, 1'800'000'000).ok()) __builtin_trap();
  // As a key set: any outcome but a crash; a parsed key must be usable for what it claims.
  auto set = phigate::parse_jwks(input);
  if (set.ok()) {
    for (const auto& k : set->keys) {
      if (!k.pkey || k.algs.empty()) __builtin_trap();
      for (const auto& alg : k.algs) {
        if (phigate::verify_jws_signature(alg, k, "a.b", phigate::ByteSpan())) __builtin_trap();
      }
    }
  }
  (void)phigate::parse_jwk(input);
  return 0;
}
