#pragma once
// POST /v1/token/exchange (RFC 8693; DESIGN.md §6): a workflow's token in, a narrower per-task
// token out. Public at the router: the subject token in the form is the credential, verified by
// the exchange itself.
#include <string>

#include "admin/router.h"
#include "identity/local_issuer.h"
#include "identity/token_verifier.h"
#include "policy/snapshot.h"

namespace phigate::admin {

void add_token_exchange_route(Router& router, const TokenVerifier& verifier,
                              std::shared_ptr<const LocalIssuer> issuer, const PolicyHolder& policy,
                              audit::Log* log, std::string node_id);

}  // namespace phigate::admin
