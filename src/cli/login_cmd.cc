// `phigate login`: a person gets a token phigate accepts, from the issuer's IdP.
//
// OIDC: authorization code + PKCE (RFC 7636, S256) with a loopback redirect (RFC 8252 §7.3,
// http://127.0.0.1:PORT/callback on an ephemeral port), or the device authorization grant
// (RFC 8628) with --device or when the IdP has no authorization endpoint. The client is public
// (identity.issuers[].client_id, no secret): a secret shipped to every laptop protects nothing,
// PKCE is what binds the code to this process.
//
// Which token is stored: the one phigate itself verifies for this issuer. The access token is
// tried first (an RFC 9068 JWT whose aud is the configured audience is what an API gateway should
// receive); the id_token only when the access token is opaque or has another audience, and then
// only if its nonce is the one this login sent. Both go through the same TokenVerifier the gateway
// uses, so a token that would be refused at connect time is never saved.
//
// SAML: the admin server runs the SP (admin/saml_routes.cc); its ACS answers with a phigate token
// as JSON. The browser, not this process, receives it, so the person pastes it here (or pipes it
// on stdin); it is verified and stored like an OIDC token.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli.h"
#include "cli/identity_setup.h"
#include "cli/login.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "identity/http_client.h"
#include "identity/jwt.h"

extern char** environ;

namespace phigate::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Prompts go to stdout for a person; with --json stdout carries only the result object.
std::ostream& prompt_stream(bool json) { return json ? std::cerr : std::cout; }

struct Fail {
  int rc;
  std::string message;
};

// Best effort: a missing xdg-open (servers, containers) is not an error, the URL is printed.
void open_browser(const std::string& url) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  std::string prog = "xdg-open";
  char* argv[] = {prog.data(), const_cast<char*>(url.c_str()), nullptr};
  if (posix_spawnp(&pid, "xdg-open", &fa, nullptr, argv, environ) == 0) {
    // xdg-open returns once the browser is launched; not reaping it would leave a zombie.
    std::thread([pid] {
      int st = 0;
      ::waitpid(pid, &st, 0);
    }).detach();
  }
  posix_spawn_file_actions_destroy(&fa);
}

HttpOptions http_opts(const IssuerConfig& is) {
  HttpOptions o;
  o.ca_file = is.ca_file;
  o.timeout = std::chrono::seconds(15);
  return o;
}

Result<nlohmann::json> get_json(const std::string& url, const IssuerConfig& is) {
  HttpRequest req;
  req.url = url;
  req.headers = {{"Accept", "application/json"}};
  auto reply = http_request_blocking(std::move(req), http_opts(is));
  if (!reply) return reply.error();
  if (reply->status != 200) {
    return make_error("http", url + ": HTTP " + std::to_string(reply->status));
  }
  auto j = parse_json_object_strict(reply->body);
  if (!j) return make_error("bad_response", url + ": not a JSON object");
  return *j;
}

// A token endpoint reply: status and JSON object (error replies are JSON too, RFC 6749 §5.2).
Result<std::pair<int, nlohmann::json>> post_form(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
    const IssuerConfig& is) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = login::form_body(fields);
  auto reply = http_request_blocking(std::move(req), http_opts(is));
  if (!reply) return reply.error();
  auto j = parse_json_object_strict(reply->body);
  if (!j) {
    return make_error("bad_response",
                      url + ": HTTP " + std::to_string(reply->status) + " without a JSON object");
  }
  return std::make_pair(reply->status, std::move(*j));
}

std::string jstr(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string oauth_error(const nlohmann::json& j) {
  std::string e = jstr(j, "error"), d = jstr(j, "error_description");
  return (e.empty() ? std::string("error") : e) + (d.empty() ? "" : ": " + d);
}

std::string scope_of(const IssuerConfig& is) {
  if (is.scopes.empty()) return "openid";
  std::string s;
  for (const auto& x : is.scopes) s += (s.empty() ? "" : " ") + x;
  return s;
}

// ---- loopback redirect ---------------------------------------------------------------------

class Loopback {
 public:
  ~Loopback() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return make_error("io", "socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // never reachable from another host
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return make_error("io", "cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    return ok_status();
  }
  uint16_t port() const { return port_; }

  // Serves requests until one carries this login's state; forged or stray requests are answered
  // and ignored, so they cannot end (or hijack) the login. Error codes: "timeout", "idp_error".
  Result<std::string> wait_code(const std::string& state, Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return make_error("timeout", "no callback from the browser in time");
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (n <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string target = read_target(c);
      auto code = login::callback_code(target, state);
      if (code) {
        respond(c, 200, "Logged in. You can close this window and return to the terminal.");
      } else if (code.error().code == "not_callback") {
        respond(c, 404, "Not found.");
      } else if (code.error().code == "state_mismatch") {
        respond(c, 400, "Refused: this callback does not belong to the pending login.");
        std::cerr << "warning: refused a callback with a wrong state (not from this login)\n";
      } else {
        respond(c, 400, "Login failed: " + code.error().message);
      }
      ::close(c);
      if (code) return code;
      if (code.error().code == "idp_error" || code.error().code == "no_code") return code.error();
    }
  }

 private:
  // The request line's target; the rest of the request is not needed. Bounded in size and time.
  static std::string read_target(int c) {
    std::string buf;
    auto until = Clock::now() + std::chrono::seconds(5);
    char tmp[2048];
    while (buf.find("\r\n") == std::string::npos && buf.size() < 16384) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      buf.append(tmp, static_cast<size_t>(n));
    }
    auto eol = buf.find("\r\n");
    if (eol == std::string::npos) return "";
    std::string line = buf.substr(0, eol);
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 <= sp1 || line.substr(0, sp1) != "GET") return "";
    return line.substr(sp1 + 1, sp2 - sp1 - 1);
  }
  static void respond(int c, int status, const std::string& text) {
    std::string body = "<!doctype html><title>phigate login</title><p>" + text + "</p>\n";
    std::string head = "HTTP/1.1 " + std::to_string(status) +
                       (status == 200   ? " OK"
                        : status == 404 ? " Not Found"
                                        : " Bad Request") +
                       "\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
                       "Connection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n";
    std::string all = head + body;
    (void)::send(c, all.data(), all.size(), MSG_NOSIGNAL);
  }
  int fd_ = -1;
  uint16_t port_ = 0;
};

// ---- flows ----------------------------------------------------------------------------------

struct Tokens {
  nlohmann::json reply;  // the token endpoint's success object
  std::string nonce;     // the nonce the id_token must carry (auth code flow only)
};

Result<Tokens> auth_code_flow(const IssuerConfig& is, const nlohmann::json& meta,
                              const LoginArgs& args, Clock::time_point deadline) {
  Loopback lb;
  if (auto s = lb.open(); !s.ok()) return s.error();
  std::string redirect = "http://127.0.0.1:" + std::to_string(lb.port()) + "/callback";
  std::string verifier = login::pkce_verifier();
  std::string state = login::random_token(), nonce = login::random_token();
  std::string ep = jstr(meta, "authorization_endpoint");
  std::string url = ep + (ep.find('?') == std::string::npos ? "?" : "&") +
                    login::form_body({{"response_type", "code"},
                                      {"client_id", is.client_id},
                                      {"redirect_uri", redirect},
                                      {"scope", scope_of(is)},
                                      {"state", state},
                                      {"nonce", nonce},
                                      {"code_challenge", login::pkce_challenge_s256(verifier)},
                                      {"code_challenge_method", "S256"}});
  auto& out = prompt_stream(args.json);
  out << "Open this URL in a browser to log in to " << is.name << ":\n"
      << "authorization_url: " << url << "\n"
      << "Waiting for the browser to return to " << redirect << " ...\n"
      << std::flush;
  if (!args.no_browser) open_browser(url);
  auto code = lb.wait_code(state, deadline);
  if (!code) return code.error();
  auto reply = post_form(jstr(meta, "token_endpoint"),
                         {{"grant_type", "authorization_code"},
                          {"code", *code},
                          {"redirect_uri", redirect},
                          {"client_id", is.client_id},
                          {"code_verifier", verifier}},
                         is);
  if (!reply) return reply.error();
  if (reply->first != 200) {
    return make_error("token_endpoint", "code exchange refused: " + oauth_error(reply->second));
  }
  return Tokens{std::move(reply->second), nonce};
}

Result<Tokens> device_flow(const IssuerConfig& is, const nlohmann::json& meta,
                           const LoginArgs& args, Clock::time_point deadline) {
  std::string ep = jstr(meta, "device_authorization_endpoint");
  if (ep.empty()) return make_error("unsupported", "the IdP offers no device authorization");
  auto start = post_form(ep, {{"client_id", is.client_id}, {"scope", scope_of(is)}}, is);
  if (!start) return start.error();
  if (start->first != 200) {
    return make_error("device", "device authorization refused: " + oauth_error(start->second));
  }
  const auto& d = start->second;
  std::string device_code = jstr(d, "device_code"), user_code = jstr(d, "user_code");
  std::string uri = jstr(d, "verification_uri"), complete = jstr(d, "verification_uri_complete");
  if (device_code.empty() || user_code.empty() || uri.empty()) {
    return make_error("bad_response", "device authorization reply lacks device_code/user_code");
  }
  int64_t interval = d.value("interval", 5);
  if (interval < 1) interval = 1;
  if (auto e = d.find("expires_in"); e != d.end() && e->is_number_integer()) {
    deadline = std::min(deadline, Clock::now() + std::chrono::seconds(e->get<int64_t>()));
  }
  auto& out = prompt_stream(args.json);
  out << "To log in to " << is.name << ", open " << uri << " and enter the code " << user_code
      << "\n"
      << "verification_uri: " << uri << "\nuser_code: " << user_code << "\n";
  if (!complete.empty()) out << "verification_uri_complete: " << complete << "\n";
  out << "Waiting for the login to complete ...\n" << std::flush;
  if (!args.no_browser && !complete.empty()) open_browser(complete);
  for (;;) {
    if (Clock::now() + std::chrono::seconds(interval) > deadline) {
      return make_error("expired_token", "the device code expired before the login completed");
    }
    std::this_thread::sleep_for(std::chrono::seconds(interval));
    auto r = post_form(jstr(meta, "token_endpoint"),
                       {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                        {"device_code", device_code},
                        {"client_id", is.client_id}},
                       is);
    if (!r) return r.error();
    if (r->first == 200) return Tokens{std::move(r->second), ""};
    std::string err = jstr(r->second, "error");
    if (err == "authorization_pending") continue;
    if (err == "slow_down") {
      interval += 5;  // RFC 8628 §3.5: every slow_down adds 5 seconds for the rest of the polls
      continue;
    }
    if (err == "access_denied") return make_error("access_denied", "the login was denied");
    if (err == "expired_token") {
      return make_error("expired_token", "the device code expired before the login completed");
    }
    return make_error("token_endpoint", "device token request refused: " + oauth_error(r->second));
  }
}

// ---- choosing, verifying, storing -----------------------------------------------------------

struct Verified {
  std::string token;
  Identity identity;
  std::string which;  // "access_token", "id_token", "saml"
};

Result<Verified> pick_token(const Tokens& t, const IssuerConfig& is, const TokenVerifier& v) {
  std::string why;
  std::string at = jstr(t.reply, "access_token");
  if (!at.empty()) {
    auto id = v.verify(at, now_unix());
    if (id && id->issuer == is.name) return Verified{at, *id, "access_token"};
    why = "access token: " + (id ? "from issuer " + id->issuer : id.error().code);
  }
  std::string it = jstr(t.reply, "id_token");
  if (!it.empty()) {
    auto id = v.verify(it, now_unix());
    if (id && id->issuer == is.name) {
      // An id_token is only this login's if it carries the nonce this process sent (OIDC Core
      // §3.1.3.7); the device flow sends none, so it cannot check one.
      auto jws = parse_jws(it);
      if (!t.nonce.empty() && (!jws || jstr(jws->payload, "nonce") != t.nonce)) {
        return make_error("nonce", "the id_token's nonce does not match this login");
      }
      return Verified{it, *id, "id_token"};
    }
    why += std::string(why.empty() ? "" : "; ") +
           "id_token: " + (id ? "from issuer " + id->issuer : id.error().code);
  }
  if (why.empty()) why = "the IdP returned no token";
  return make_error("unusable", "no token from " + is.name + " passes phigate's checks (" + why +
                                    "); check the issuer's audience, client_id and scopes");
}

std::pair<std::string, std::string> host_port(const std::string& listen) {
  auto c = listen.rfind(':');
  if (c == std::string::npos) return {listen, ""};
  std::string host = listen.substr(0, c), port = listen.substr(c + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  // A wildcard listener is reached on this host through loopback.
  if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  return {host, port};
}

// libpq conninfo value: quoted when it contains anything but a plain word.
std::string conn_value(const std::string& v) {
  bool plain = !v.empty();
  for (unsigned char ch : v) {
    if (!std::isalnum(ch) && ch != '_' && ch != '-' && ch != '.' && ch != '@') plain = false;
  }
  if (plain) return v;
  std::string out = "'";
  for (char ch : v) {
    if (ch == '\'' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "'";
}

// Inside double quotes in a POSIX shell: $ ` " \ must be escaped.
std::string sh_dq(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '$' || ch == '`' || ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string sh_sq(const std::string& v) {
  std::string out = "'";
  for (char ch : v) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string first_resource(const Config& c, const std::string& type) {
  for (const auto& r : c.resources) {
    if (r.type == type) return r.name;
  }
  return "";
}

Result<std::string> read_pasted_token(bool json) {
  prompt_stream(json) << "Paste the token shown after the login, then press Enter:\n" << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return make_error("no_token", "no token on standard input");
  // Accept the ACS's JSON reply as pasted, or the bare token.
  std::string tok = line;
  if (auto j = parse_json_object_strict(line)) {
    tok = jstr(*j, "access_token");
    if (tok.empty()) tok = jstr(*j, "token");
  }
  while (!tok.empty() && std::isspace(static_cast<unsigned char>(tok.back()))) tok.pop_back();
  while (!tok.empty() && std::isspace(static_cast<unsigned char>(tok.front()))) tok.erase(0, 1);
  if (tok.empty()) return make_error("no_token", "no token pasted");
  return tok;
}

const IssuerConfig* find_issuer(const Config& c, const std::string& name, std::string& why) {
  for (const auto& is : c.identity.issuers) {
    if (!name.empty() && is.name == name) return &is;
  }
  if (!name.empty()) {
    why = "no issuer named '" + name + "' in identity.issuers";
    return nullptr;
  }
  // Without --issuer: the only issuer a person can log in at (oidc with a client_id, or saml).
  const IssuerConfig* found = nullptr;
  int n = 0;
  for (const auto& is : c.identity.issuers) {
    if ((is.type == "oidc" && !is.client_id.empty()) || is.type == "saml") {
      if (!found) found = &is;
      ++n;
    }
  }
  if (n == 0) why = "no issuer to log in at (an oidc issuer with client_id, or a saml issuer)";
  if (n > 1) {
    why = "several issuers allow login; choose one with --issuer";
    return nullptr;
  }
  return found;
}

}  // namespace

int cmd_login(const std::string& config_path, const LoginArgs& args) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  std::string why;
  const IssuerConfig* is = find_issuer(*config, args.issuer, why);
  if (!is) {
    std::cerr << "login: " << why << "\n";
    return 2;
  }
  if (is->type != "oidc" && is->type != "saml") {
    std::cerr << "login: issuer '" << is->name << "' is of type " << is->type
              << "; only oidc and saml issuers have an interactive login\n";
    return 2;
  }
  if (is->type == "oidc" && is->client_id.empty()) {
    std::cerr << "login: issuer '" << is->name << "' has no client_id (the public client "
              << "registered at the IdP for phigate login)\n";
    return 2;
  }
  auto identity = setup_identity_offline(*config);
  if (!identity) {
    std::cerr << "login: cannot set up token verification: " << identity.error().message << "\n";
    return 1;
  }
  auto deadline = Clock::now() + std::chrono::seconds(args.timeout_seconds);

  Result<Verified> got = make_error("none", "");
  if (is->type == "saml") {
    if (config->gateway.listen.admin.empty()) {
      std::cerr << "login: SAML login runs at the admin server; gateway.listen.admin is not set\n";
      return 2;
    }
    std::string url = "http://" + config->gateway.listen.admin + "/v1/saml/" +
                      percent_encode(is->name) + "/login";
    prompt_stream(args.json) << "Open this URL in a browser to log in to " << is->name << ":\n"
                             << "login_url: " << url << "\n"
                             << std::flush;
    if (!args.no_browser) open_browser(url);
    auto tok = read_pasted_token(args.json);
    if (!tok) {
      std::cerr << "login failed: " << tok.error().message << "\n";
      return 1;
    }
    auto id = identity->verifier->verify(*tok, now_unix());
    if (!id) {
      std::cerr << "login failed: the token is refused (" << id.error().code << ")\n";
      return 1;
    }
    got = Verified{*tok, *id, "saml"};
  } else {
    std::string disco = is->issuer;
    while (!disco.empty() && disco.back() == '/') disco.pop_back();
    auto meta = get_json(disco + "/.well-known/openid-configuration", *is);
    if (!meta) {
      std::cerr << "login failed: OIDC discovery: " << meta.error().message << "\n";
      return 1;
    }
    if (jstr(*meta, "token_endpoint").empty()) {
      std::cerr << "login failed: the IdP's discovery document has no token_endpoint\n";
      return 1;
    }
    // The discovery document must be the issuer's own (OIDC Discovery §4.3).
    if (jstr(*meta, "issuer") != is->issuer) {
      std::cerr << "login failed: discovery names issuer '" << jstr(*meta, "issuer")
                << "', configured '" << is->issuer << "'\n";
      return 1;
    }
    bool device = args.device || jstr(*meta, "authorization_endpoint").empty();
    auto tokens = device ? device_flow(*is, *meta, args, deadline)
                         : auth_code_flow(*is, *meta, args, deadline);
    if (!tokens) {
      std::cerr << "login failed: " << tokens.error().message << "\n";
      return 1;
    }
    got = pick_token(*tokens, *is, *identity->verifier);
    if (!got) {
      std::cerr << "login failed: " << got.error().message << "\n";
      return 1;
    }
  }

  std::string path = args.output.empty() ? login::default_token_path() : args.output;
  if (auto st = login::write_token_file(path, got->token); !st.ok()) {
    std::cerr << "login: cannot store the token: " << st.error().message << "\n";
    return 1;
  }
  const Identity& id = got->identity;
  const auto& listen = config->gateway.listen;
  std::string cat = "$(cat " + sh_sq(path) + ")";
  std::string psql, curl, ssh;
  if (std::string db = first_resource(*config, "postgres");
      !listen.postgres.empty() && !db.empty()) {
    auto [h, p] = host_port(listen.postgres);
    psql = "psql \"" +
           sh_dq("host=" + conn_value(h) + " port=" + p + " dbname=" + conn_value(db) +
                 " user=" + conn_value(id.sub)) +
           " password=" + cat + "\"";
  }
  if (std::string r = first_resource(*config, "http"); !listen.http.empty() && !r.empty()) {
    auto [h, p] = host_port(listen.http);
    curl = "curl -H \"Authorization: Bearer " + cat + "\" http://" + h + ":" + p + "/" + r + "/";
  }
  if (std::string r = first_resource(*config, "ssh"); !listen.ssh.empty() && !r.empty()) {
    auto [h, p] = host_port(listen.ssh);
    ssh = "ssh -p " + p + " " + sh_sq(id.sub + "+" + r + "@" + h);
  }
  if (args.json) {
    nlohmann::json j = {{"token_file", path},      {"issuer", id.issuer},
                        {"sub", id.sub},           {"groups", id.groups},
                        {"roles", id.roles},       {"expires_at", id.expires_at},
                        {"token_type", got->which}};
    if (!psql.empty()) j["psql"] = psql;
    if (!curl.empty()) j["curl"] = curl;
    if (!ssh.empty()) j["ssh"] = ssh;
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::string roles;
  for (const auto& r : id.roles) roles += (roles.empty() ? "" : ", ") + r;
  std::cout << "Logged in as " << id.sub << " (issuer " << id.issuer << ", "
            << (roles.empty() ? "no roles: group_roles maps none of this identity's groups"
                              : "roles: " + roles)
            << "), token valid until " << utc_rfc3339(id.expires_at) << "\n"
            << "Token saved to " << path << " (mode 0600)\n";
  if (!psql.empty()) std::cout << psql << "\n";
  if (!curl.empty()) std::cout << curl << "\n";
  if (!ssh.empty()) std::cout << ssh << "\n";
  return 0;
}

}  // namespace phigate::cli
