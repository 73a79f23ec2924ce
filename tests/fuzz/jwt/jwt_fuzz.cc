// Fuzz target: arbitrary bytes as a bearer token through the verifier (size cap, JWS split, strict
// base64url, duplicate-key-rejecting JSON, claim checks). Must never crash or accept.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static phigate::TokenVerifier verifier(issuer(), "local", {{"g", {"r"}}});
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto r = verifier.verify(token, 1'800'000'000);
  // Random bytes can never carry a valid Ed25519 signature of this key.
  if (r.ok()) __builtin_trap();
  return 0;
}
