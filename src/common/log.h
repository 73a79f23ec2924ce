#pragma once
#include <spdlog/spdlog.h>

#include <string_view>

namespace phigate {

// Configures the process logger: stderr, text or JSON lines (`--log-format json`).
void init_logging(std::string_view format, std::string_view level);

}  // namespace phigate
