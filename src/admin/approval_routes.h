#pragma once
// The approval and access-window endpoints of the admin API (DESIGN.md §2 src/admin/).
#include "admin/approval_service.h"
#include "admin/router.h"

namespace phigate::admin {

// GET  /v1/approvals[?state=pending&kind=statement|access]   list what the caller may see
// GET  /v1/approvals/{id}
// POST /v1/approvals/{id}/approve   {"reason": "..."} optional
// POST /v1/approvals/{id}/deny      {"reason": "..."} required
// POST /v1/access/requests          {"resource","role","duration":"1h","reason"}  -> 201
// GET  /v1/access/requests[?state=...]
void add_approval_routes(Router& router, ApprovalService& service);

// Error codes of the service mapped to HTTP statuses.
Reply service_error(const Error& e);

}  // namespace phigate::admin
