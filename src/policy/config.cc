#include "policy/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "policy/config_internal.h"

namespace phigate {

const ResourceConfig* Config::find_resource(std::string_view name) const {
  for (const ResourceConfig& r : resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const RoleConfig* Config::find_role(std::string_view name) const {
  for (const RoleConfig& r : roles) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

ConfigLoad load_config_text(const std::string& yaml, const std::string& path) {
  ConfigLoad out;
  out.path = path;
  Config config;
  config.path = path;
  config_detail::LineMap lines;
  // yaml-cpp reports syntax errors by throwing; this is the only place they are caught, and it is
  // never on a request path.
  try {
    YAML::Node root = YAML::Load(yaml);
    config_detail::parse_config(root, config, lines, out.errors);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    out.errors.push_back({line, "YAML syntax error: " + e.msg});
    return out;
  } catch (const std::exception& e) {
    out.errors.push_back({0, std::string("could not read the configuration: ") + e.what()});
    return out;
  }
  // Cross-checks run even after type errors: a user fixing the file wants every problem at once.
  config_detail::validate_gateway(config, &lines, out.errors);
  config_detail::validate_policy(config, &lines, out.errors);
  config_detail::validate_masking(config, out.errors);
  std::stable_sort(out.errors.begin(), out.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  if (out.errors.empty()) out.config = std::move(config);
  return out;
}

ConfigLoad load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoad out;
    out.path = path;
    out.errors.push_back({0, "cannot open " + path + ": " + std::strerror(errno)});
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path);
}

std::string format_errors(const ConfigLoad& load) {
  std::string out;
  for (const ConfigError& e : load.errors) {
    out += load.path;
    if (e.line > 0) out += ":" + std::to_string(e.line);
    out += ": " + e.message + "\n";
  }
  return out;
}

std::vector<ConfigError> validate_policy(const Config& config) {
  std::vector<ConfigError> errors;
  config_detail::validate_policy(config, nullptr, errors);
  return errors;
}

}  // namespace phigate
