#pragma once
// `masking:` profile config -> compiled mask::MaskProfile (DESIGN.md §4).
#include <memory>
#include <vector>

#include "mask/profile.h"
#include "policy/config.h"

namespace phigate {

// Compiles one profile. On failure returns null and appends line-numbered errors. With
// `read_secrets` false the HMAC key is a placeholder (config check validates shape only); with it
// true a missing key file or variable is an error.
std::shared_ptr<const mask::MaskProfile> compile_masking_profile(const MaskingProfileConfig& p,
                                                                 bool read_secrets,
                                                                 std::vector<ConfigError>& errors);

}  // namespace phigate
