#pragma once
// What the HTTP adapter needs per `type: http` resource, built once per policy snapshot when the
// gateway starts or reloads (never per request): the parsed upstream URL, its TLS context,
// inject_headers with ${env:NAME} / ${file:PATH} expanded, and the compiled masking (detector
// engine + JSON path rules). Immutable once built; swapped as a whole like the snapshot.
#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/snapshot_holder.h"
#include "mask/json_stream.h"
#include "net/asio.h"
#include "policy/snapshot.h"
#include "upstream/http_connector.h"

namespace phigate::proxy {

struct HttpResource {
  const ResourceConfig* config = nullptr;  // points into the runtime's snapshot
  upstream::HttpTarget target;
  std::unique_ptr<net::ssl::context> tls;
  bool verify_tls = true;
  std::vector<std::pair<std::string, std::string>> inject;  // expanded: secrets, never logged
  bool mask = false;
  mask::JsonMaskConfig json;  // rules + engine (engine null when detectors are off)
  mask::Action detector_action = mask::Action::kRedact;
  std::vector<std::string> passthrough;  // lower-case media types sent unmasked
  bool accept_compressed = false;        // http.mask.accept_compressed
  uint64_t max_decoded = 0;              // http.mask.max_decoded (0: ratio limit only)
};

class HttpRuntime {
 public:
  // Fails with a message naming the resource (never a secret) when an env variable or file is
  // missing, a JSON path is malformed, a detector is unknown or TLS cannot be set up.
  static Result<std::shared_ptr<const HttpRuntime>> build(
      std::shared_ptr<const PolicySnapshot> snapshot);
  const PolicySnapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const PolicySnapshot>& snapshot_ptr() const { return snapshot_; }
  const HttpResource* find(std::string_view name) const;
  bool empty() const { return resources_.empty(); }

 private:
  std::shared_ptr<const PolicySnapshot> snapshot_;
  std::unordered_map<std::string, std::unique_ptr<HttpResource>> resources_;
};

// The FHIR profile's JSON path rules (http.mask.profile: fhir).
const std::vector<std::pair<std::string, std::string>>& fhir_profile_fields();

// ${env:NAME} / ${file:PATH} references in `value` replaced (a file's trailing newlines dropped).
Result<std::string> expand_secret_refs(const std::string& value);

// Current runtime; the per-request path takes no lock (common/snapshot_holder.h).
class HttpRuntimeHolder : public SnapshotHolder<HttpRuntime> {
 public:
  using SnapshotHolder::SnapshotHolder;
};

}  // namespace phigate::proxy
