#include <iostream>

#include "cli/cli.h"

namespace phigate::cli {

int cmd_config_check(const std::string& path) {
  ConfigLoad load = load_config_file(path);
  if (!load.config) {
    std::cerr << format_errors(load);
    return 1;
  }
  std::cout << path << ": ok (" << load.config->resources.size() << " resources, "
            << load.config->roles.size() << " roles)\n";
  return 0;
}

}  // namespace phigate::cli
