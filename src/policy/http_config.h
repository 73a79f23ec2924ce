#pragma once
// The `http:` section of a `type: http` resource (DESIGN.md §4 is silent on it; documented in
// docs of the HTTP proxy): response masking, upstream timeout, audit body capture.
//
//   http:
//     mask:
//       profile: fhir                      # ready field rules (see proxy/http_mask_profile.cc)
//       detectors: [US_SSN, EMAIL_ADDRESS] # content detectors on every string; default: all
//       detector_action: redact            # redact | partial | hash | null
//       fields: [ { path: "$.patient[*].ssn", action: redact } ]
//       passthrough: [image/png]           # content types sent unmasked (default: refused)
//       max_value: 262144                  # longest string masked whole; longer -> "[OVERSIZE]"
//       hmac_key_env: MASK_KEY             # for action hash (or hmac_key_file)
//       accept_compressed: false           # true: ask for gzip/deflate (decoded to mask)
//       max_decoded: 0                     # bytes a compressed body may decode to; 0 = no limit
//                                          # (a ratio over 100:1 past 1 MiB is always refused)
//     upstream_timeout: 30s                # connect, response head, and each body read
//     capture_bodies: 4096                 # bytes of the (masked) bodies kept in audit; 0 = off
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace phigate {

struct HttpMaskFieldConfig {
  std::string path;  // JSON path, e.g. "$.patient[*].ssn"
  std::string action = "redact";
  std::string label;  // redaction text; default: the last member name
  int line = 0;
};

struct HttpMaskConfig {
  bool enabled = false;  // the resource has a `mask:` section
  std::string profile;   // "" or "fhir"
  std::vector<std::string> detectors;
  bool detectors_set = false;  // `detectors: []` turns content detection off
  std::string detector_action = "redact";
  std::vector<HttpMaskFieldConfig> fields;
  std::vector<std::string> passthrough;
  uint64_t max_value = 256 * 1024;
  std::string hmac_key_env, hmac_key_file;
  // Compressed responses (proxy/http_inflate.h): gzip and deflate bodies are decoded to be
  // masked. By default the upstream is asked for identity; accept_compressed asks for
  // `gzip, deflate` instead (less upstream bandwidth, more phigate CPU).
  bool accept_compressed = false;
  uint64_t max_decoded = 0;
};

struct HttpResourceConfig {
  HttpMaskConfig mask;
  std::chrono::milliseconds upstream_timeout{30000};
  uint64_t capture_bodies = 0;
};

}  // namespace phigate
