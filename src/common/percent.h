#pragma once
// Percent-encoding (RFC 3986 §2.1) for query strings, form bodies (application/x-www-form-
// urlencoded, with %20 for space) and path segments built by phigate's own clients.
#include <string>
#include <string_view>

namespace phigate {

// Unreserved characters (RFC 3986 §2.3: ALPHA DIGIT - . _ ~) stay; every other byte is %XX with
// upper-case hex. Locale-independent.
std::string percent_encode(std::string_view s);

}  // namespace phigate
