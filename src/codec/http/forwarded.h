#pragma once
// The `Forwarded` field phigate sets on requests it forwards (RFC 7239). Parameter values are a
// token or an HTTP quoted-string (RFC 7239 §4, RFC 9110 §5.6.2 and §5.6.4): inside the quotes only
// `"` and `\` are backslash-escaped; control characters cannot be carried at all, so a value with
// one (other than HTAB) is left out rather than escaped or passed raw.
#include <optional>
#include <string>
#include <string_view>

namespace phigate::http {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c);
bool is_token(std::string_view s);

// `s` as an RFC 9110 quoted-string ("..." with `"` and `\` escaped). nullopt when `s` holds a
// control character (0x00-0x1F except HTAB, or 0x7F): there is no way to quote those.
std::optional<std::string> quoted_string(std::string_view s);

// A Forwarded parameter value: `s` itself when it is a non-empty token, else its quoted-string;
// nullopt when it cannot be represented (control characters).
std::optional<std::string> forwarded_value(std::string_view s);

// One forwarded-element: `for=<node>;proto=<proto>[;host=<host>]`. An IPv6 client address is
// bracketed and quoted (RFC 7239 §6: `for="[2001:db8::1]"`); an empty address is `unknown`.
// `host` (the client's Host field; may be null) is left out when it cannot be represented.
std::string forwarded_element(std::string_view client_ip, std::string_view proto,
                              const std::string* host);
// The same element appended to `out`, with no string of its own (the proxy writes one per
// request).
void append_forwarded_element(std::string_view client_ip, std::string_view proto,
                              const std::string_view* host, std::string& out);

}  // namespace phigate::http
