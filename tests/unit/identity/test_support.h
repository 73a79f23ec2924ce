#pragma once
// Helpers for identity tests: a private temp dir, and a forger that signs arbitrary header/claims
// text so each negative test isolates exactly one defect.
#include "../temp_dir.h"
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/bytes.h"
#include "identity/ed25519_key.h"

namespace phigate::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string b64(std::string_view s) { return base64url_encode(as_bytes(s)); }

inline std::string b64_decode_text(std::string_view s) {
  auto d = base64url_decode(s);
  return d ? std::string(as_sv(*d)) : std::string();
}

// header.payload.signature over exactly the given JSON texts (duplicates and all).
inline std::string sign_raw(const std::string& header_json, const std::string& claims_json,
                            const Ed25519Key& key) {
  std::string input = b64(header_json) + "." + b64(claims_json);
  return input + "." + base64url_encode(key.sign(as_bytes(input)));
}

inline std::string sign_json(const nlohmann::json& header, const nlohmann::json& claims,
                             const Ed25519Key& key) {
  return sign_raw(header.dump(), claims.dump(), key);
}

}  // namespace phigate::testing
