// Fuzz target: arbitrary admin API requests (method, target, Authorization, body) through routing,
// percent-decoding, bearer verification and JSON body parsing. Must never crash, must always
// answer with a status and, for errors, the {"error","message"} shape, and must never run a
// protected handler without a valid token.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "admin/router.h"
#include "identity/token_verifier.h"

namespace {

struct Fixture {
  std::shared_ptr<const phigate::LocalIssuer> issuer;
  std::unique_ptr<phigate::TokenVerifier> verifier;
  std::unique_ptr<phigate::admin::AdminApi> api;
  Fixture() {
    auto dir = std::filesystem::temp_directory_path() / "phigate-admin-fuzz";
    auto r = phigate::LocalIssuer::load_or_create(dir.string(), "fuzz");
    if (r.ok()) issuer = r.value();
    verifier = std::make_unique<phigate::TokenVerifier>(
        issuer, "local", std::map<std::string, std::vector<std::string>>{});
    api = std::make_unique<phigate::admin::AdminApi>(*verifier, nullptr, "fuzz");
    using phigate::admin::Call;
    using phigate::admin::Reply;
    api->router().add(
        "POST", "/v1/open/{id}",
        [](const Call& c) {
          Reply r;
          r.body = {
              {"id", c.params.at("id")}, {"q", c.query}, {"reason", c.body.value("reason", "")}};
          return r;
        },
        true);
    api->router().add("POST", "/v1/closed/{id}/x", [](const Call&) -> Reply {
      __builtin_trap();  // random bytes never carry a valid token
    });
  }
};

std::string_view next_line(std::string_view& in) {
  size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  phigate::admin::HttpRequest req;
  req.method = std::string(next_line(in));
  req.target = std::string(next_line(in));
  req.authorization = std::string(next_line(in));
  req.body = std::string(in);
  phigate::admin::Reply r = fx.api->handle(req);
  if (r.status < 200 || r.status > 599) __builtin_trap();
  if (r.status >= 400 &&
      (!r.body.is_object() || !r.body.contains("error") || !r.body.contains("message")))
    __builtin_trap();
  // Serializing what goes back on the wire must not throw on arbitrary bytes.
  (void)r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
