#pragma once
// Pieces of `phigate login` (login_cmd.cc) that are worth testing on their own: PKCE (RFC 7636),
// the loopback callback check (state, RFC 6749 §10.12), form encoding, and the token file.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/percent.h"
#include "common/result.h"

namespace phigate::cli::login {

// 32 random bytes, base64url: 43 characters, the RFC 7636 §4.1 recommendation.
std::string pkce_verifier();
// BASE64URL(SHA256(ASCII(verifier))), RFC 7636 §4.2 "S256".
std::string pkce_challenge_s256(std::string_view verifier);
// Unguessable state / nonce values (128 bits, base64url).
std::string random_token();

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);

// The redirect's request-target ("/callback?code=..&state=.."). Returns the code when the state
// matches exactly. Error codes: "not_callback" (another path, e.g. /favicon.ico),
// "state_mismatch" (absent, repeated or different state: possibly forged, never used),
// "idp_error" (the IdP redirected with error=..., state matching), "no_code".
Result<std::string> callback_code(std::string_view target, std::string_view expected_state);

// $XDG_CONFIG_HOME/phigate/token, else $HOME/.config/phigate/token.
std::string default_token_path();

// Writes `token` + "\n" with mode 0600, creating missing parent directories with 0700. An
// existing file that is a symlink, not a regular file, not owned by us, or group/world-writable
// is refused (code "unsafe_file"): someone else could have planted it to read the token.
// The token is written to a temporary file in the same directory and renamed over the target.
Status write_token_file(const std::string& path, std::string_view token);

}  // namespace phigate::cli::login
