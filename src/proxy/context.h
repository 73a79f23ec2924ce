#pragma once
// What every session shares: immutable or thread-safe services, wired once in main.cc.
#include <chrono>
#include <memory>
#include <string>

#include "audit/blob_store.h"
#include "audit/log.h"
#include "identity/token_verifier.h"
#include "net/asio.h"
#include "policy/approval_gate.h"
#include "policy/grants.h"
#include "policy/snapshot.h"
#include "proxy/cancel_registry.h"

namespace phigate::proxy {

class HttpRuntimeHolder;

struct GatewayContext {
  PolicyHolder* policy = nullptr;
  const TokenVerifier* verifier = nullptr;
  audit::Log* audit = nullptr;
  net::ssl::context* client_tls = nullptr;  // null: no client-facing TLS configured
  CancelRegistry* cancels = nullptr;
  // Holds `review` requests for a human; null: no approval service, so review is a denial.
  ApprovalGate* approvals = nullptr;
  // Per-resource HTTP runtime (upstream TLS, expanded inject_headers, maskers); null: no http.
  HttpRuntimeHolder* http = nullptr;
  // Result capture (audit.capture): the first rows/bytes of each result go to `blobs`; null or
  // zero limits turn it off. HTTP body capture (http.capture_bodies per resource) uses `blobs`
  // too, whatever audit.capture says.
  audit::BlobStore* blobs = nullptr;
  size_t capture_rows = 0, capture_bytes = 0;
  // JIT access windows (roles granted per identity and resource until expiry); null: none.
  const GrantHolder* grants = nullptr;
  std::string node_id;
  bool strict_audit = true;
  bool allow_remote_cleartext = false;
  // From accept to ReadyForQuery: TLS handshake, token, upstream login.
  std::chrono::milliseconds startup_timeout{15000};
};

}  // namespace phigate::proxy
