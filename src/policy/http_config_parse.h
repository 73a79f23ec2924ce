#pragma once
// Loader hooks for the `http:` section of a resource (http_config.h). Not an API.
#include <string>
#include <vector>

#include "policy/config.h"
#include "policy/config_internal.h"

namespace phigate::config_detail {

void parse_http_resource(const YAML::Node& n, const std::string& path, HttpResourceConfig& out,
                         LineMap& lines, std::vector<ConfigError>& errors);
// Value checks; each message is prefixed by the caller with the resource.
std::vector<std::string> validate_http_resource(const ResourceConfig& r);

}  // namespace phigate::config_detail
