#pragma once
// SAML login endpoints of the admin API (public: the person has no token yet; that is the point).
//   GET  /v1/saml/{issuer}/login[?relay=R]  302 to the IdP with an AuthnRequest (HTTP-Redirect)
//   POST /v1/saml/{issuer}/acs              the IdP's Response (HTTP-POST) -> a phigate token
//   GET  /v1/saml/{issuer}/metadata         this SP's metadata for the IdP administrator
#include <string>

#include "admin/router.h"
#include "identity/saml_login.h"

namespace phigate::admin {

void add_saml_routes(Router& router, SamlLogins& logins, audit::Log* log, std::string node_id);

}  // namespace phigate::admin
