#pragma once
// Shared by the config loader's files (config.cc, config_parse.cc, config_validate.cc); not an API.
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/config.h"

namespace YAML {
class Node;
}

namespace phigate::config_detail {

// The 1-based line of every key and list item the parser saw, by dotted path:
// "gateway.listen.postgres", "resources[0].credentials", "roles.analyst.rules[1].action".
class LineMap {
 public:
  void set(const std::string& path, int line) { lines_.emplace(path, line); }
  // The line of `path`, else of its nearest recorded parent, else 0.
  int line(std::string path) const;

 private:
  std::unordered_map<std::string, int> lines_;
};

// YAML -> Config: structure and types only (unknown keys, wrong types, bad durations).
void parse_config(const YAML::Node& root, Config& out, LineMap& lines,
                  std::vector<ConfigError>& errors);

// `masking:` (config_masking.cc): structure, then values (detector names, actions, regexes).
void parse_masking(const YAML::Node& n, const std::string& path, Config& out, LineMap& lines,
                   std::vector<ConfigError>& errors);
void validate_masking(const Config& c, std::vector<ConfigError>& errors);

// Values and cross-references. `lines` may be null (a Config built in code).
void validate_gateway(const Config& c, const LineMap* lines, std::vector<ConfigError>& errors);
void validate_policy(const Config& c, const LineMap* lines, std::vector<ConfigError>& errors);

// "host:port" with a numeric port 0..65535; host a name, IPv4 or [IPv6].
bool valid_host_port(std::string_view s);

}  // namespace phigate::config_detail
