#pragma once
// The CLI's side of the admin API: one JSON request to the running gateway named by the config
// (listen.admin; HTTPS when gateway.tls is set, trusting exactly that certificate).
#include <nlohmann/json.hpp>
#include <string>

#include "common/percent.h"
#include "common/result.h"
#include "policy/config.h"

namespace phigate::cli {

struct AdminResponse {
  int status = 0;
  nlohmann::json body;
};

// Transport failures are errors; any HTTP answer (4xx included) is a response.
Result<AdminResponse> admin_call(const Config& config, const std::string& method,
                                 const std::string& target, const std::string& token,
                                 const nlohmann::json* body);

}  // namespace phigate::cli
