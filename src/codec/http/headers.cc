#include "codec/http/headers.h"

#include <array>
#include <cstdio>
#include <vector>

#include "common/ascii.h"

namespace phigate::http {

namespace {

// RFC 9110 §7.6.1 lists Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and
// Upgrade; Trailer and the Proxy-Auth* pair are hop-by-hop in RFC 2616 §13.5.1 and still must not
// travel past the proxy that consumed them.
constexpr std::array<std::string_view, 9> kHopByHop = {
    "connection", "proxy-connection",    "keep-alive",        "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authorization", "proxy-authenticate"};

}  // namespace

HopFilter::HopFilter(const Fields& f) {
  // Fields named in Connection are hop-by-hop for this message only (§7.6.1).
  for (const Field& fl : f.list) {
    if (!iequals(fl.name, "connection")) continue;
    std::string_view v = fl.value;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view tok = trim_ows(v.substr(0, comma));
      // Never let Connection make phigate drop what it relies on for framing or identity.
      if (!tok.empty() && !iequals(tok, "host") && !iequals(tok, "content-length")) {
        if (count_ < first_.size()) {
          first_[count_++] = tok;
        } else {
          more_.push_back(tok);
        }
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
}

bool HopFilter::drops(std::string_view name) const {
  for (std::string_view h : kHopByHop)
    if (iequals(name, h)) return true;
  for (size_t i = 0; i < count_; ++i)
    if (iequals(name, first_[i])) return true;
  for (std::string_view n : more_)
    if (iequals(name, n)) return true;
  return false;
}

void strip_hop_by_hop(Fields& f) {
  HopFilter hop(f);
  std::erase_if(f.list, [&](const Field& fl) { return hop.drops(fl.name); });
}

void append_field(std::string_view name, std::string_view value, std::string& out) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

bool is_identity_field(std::string_view n) {
  static constexpr std::string_view kExact[] = {"x-forwarded-user",
                                                "x-forwarded-email",
                                                "x-forwarded-groups",
                                                "x-forwarded-preferred-username",
                                                "x-forwarded-access-token",
                                                "x-remote-user",
                                                "x-remote-group",
                                                "x-remote-groups",
                                                "x-remote-email",
                                                "remote-user",
                                                "x-user",
                                                "x-user-id",
                                                "x-username",
                                                "x-email",
                                                "x-authenticated-user",
                                                "x-authenticated-userid",
                                                "x-auth-user",
                                                "x-webauth-user",
                                                "x-client-dn",
                                                "x-ssl-client-dn",
                                                "x-ssl-client-cert",
                                                "x-client-cert",
                                                "x-forwarded-client-cert",
                                                "x-real-ip",
                                                "x-forwarded-for",
                                                "x-forwarded-host",
                                                "x-forwarded-proto",
                                                "x-forwarded-port",
                                                "forwarded",
                                                "x-original-forwarded-for"};
  static constexpr std::string_view kPrefix[] = {"x-auth-request-",
                                                 "x-phigate-",
                                                 "x-amzn-oidc-",
                                                 "x-goog-authenticated-",
                                                 "x-ms-client-principal",
                                                 "x-forwarded-user-",
                                                 "x-remote-user-",
                                                 "oidc_claim_",
                                                 "oidc-claim-"};
  for (std::string_view e : kExact)
    if (iequals(n, e)) return true;
  for (std::string_view p : kPrefix)
    if (istarts_with(n, p)) return true;
  return false;
}

bool is_path_override_field(std::string_view n) {
  static constexpr std::string_view kExact[] = {
      "x-original-url",     "x-rewrite-url",         "x-override-url",
      "x-original-uri",     "x-forwarded-uri",       "x-forwarded-path",
      "x-forwarded-prefix", "x-envoy-original-path", "x-original-path"};
  for (std::string_view e : kExact)
    if (iequals(n, e)) return true;
  return false;
}

size_t strip_identity_fields(Fields& f) {
  size_t before = f.list.size();
  std::erase_if(f.list, [](const Field& fl) { return is_identity_field(fl.name); });
  return before - f.list.size();
}

bool bearer_token(const Fields& f, std::string& token, bool& present) {
  size_t n = f.count("authorization");
  present = n > 0;
  if (n != 1) return false;  // two Authorization fields: ambiguous, refuse
  std::string_view v = trim_ows(*f.find("authorization"));
  // RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
  if (v.size() < 8 || !iequals(v.substr(0, 6), "bearer") || v[6] != ' ') return false;
  std::string_view t = trim_ows(v.substr(7));
  if (t.empty()) return false;
  for (char c : t) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  token.assign(t);
  return true;
}

bool is_secret_param(std::string_view name) {
  static constexpr std::string_view kSecret[] = {"token",
                                                 "access_token",
                                                 "refresh_token",
                                                 "id_token",
                                                 "api_key",
                                                 "apikey",
                                                 "key",
                                                 "password",
                                                 "passwd",
                                                 "pwd",
                                                 "secret",
                                                 "client_secret",
                                                 "auth",
                                                 "authorization",
                                                 "signature",
                                                 "sig",
                                                 "session",
                                                 "sessionid",
                                                 "code",
                                                 "assertion",
                                                 "x-amz-signature",
                                                 "x-amz-credential",
                                                 "x-amz-security-token"};
  for (std::string_view s : kSecret)
    if (iequals(name, s)) return true;
  // Anything that names itself a token/secret/password, e.g. "upstream_api_token".
  const std::string lower = ascii_lower(name);
  for (std::string_view w : {"token", "secret", "password", "passwd", "apikey", "api_key"})
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

std::vector<std::string> audit_query(std::string_view q) {
  std::vector<std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    if (!item.empty()) {
      size_t eq = item.find('=');
      std::string_view name = item.substr(0, eq);
      // The name as written may be percent-encoded ("acc%65ss_token"); decode it for the check.
      std::string decoded;
      for (size_t i = 0; i < name.size(); ++i) {
        auto hex = [](char c) {
          return c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : -1;
        };
        if (name[i] == '%' && i + 2 < name.size() && hex(name[i + 1]) >= 0 &&
            hex(name[i + 2]) >= 0) {
          decoded += static_cast<char>(hex(name[i + 1]) * 16 + hex(name[i + 2]));
          i += 2;
        } else {
          decoded += name[i] == '+' ? ' ' : name[i];
        }
      }
      if (eq != std::string_view::npos && is_secret_param(decoded)) {
        out.push_back(std::string(name) + "=[REDACTED]");
      } else {
        out.emplace_back(item);
      }
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

void append_status_line(int status, std::string& out) {
  // phigate speaks HTTP/1.1 to every client (an HTTP/1.0 client accepts it, RFC 9110 §6.2).
  char code[16];
  int n = snprintf(code, sizeof code, "HTTP/1.1 %d ", status);
  out.append(code, static_cast<size_t>(n));
  // The reason phrase is informational (RFC 9112 §4); phigate sends its own so nothing the
  // upstream chose (control bytes, length) reaches the client.
  out += reason_phrase(status);
  out += "\r\n";
}

void append_chunk(std::string_view data, std::string& out) {
  if (data.empty()) return;  // a zero-size chunk would end the body
  char hex[20];
  int n = snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  out.append(hex, static_cast<size_t>(n));
  out.append(data);
  out += "\r\n";
}

void append_last_chunk(std::string& out) { out += "0\r\n\r\n"; }

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 200   ? "Informational"
             : status < 300 ? "Success"
             : status < 400 ? "Redirection"
             : status < 500 ? "Client Error"
                            : "Server Error";
  }
}

std::string json_response(int status, std::string_view code, std::string_view message,
                          bool keep_alive, const Fields& more_fields, std::string_view extra_json) {
  std::string body = "{\"error\":" + json_string(code) + ",\"message\":" + json_string(message);
  if (!extra_json.empty()) {
    body += ',';
    body += extra_json;
  }
  body += "}\n";
  std::string out;
  append_status_line(status, out);
  for (const Field& f : more_fields.list) append_field(f.name, f.value, out);
  append_field("Content-Type", "application/json", out);
  append_field("Cache-Control", "no-store", out);
  append_field("Content-Length", std::to_string(body.size()), out);
  if (!keep_alive) append_field("Connection", "close", out);
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace phigate::http
