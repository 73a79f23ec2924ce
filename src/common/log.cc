#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace phigate {

void init_logging(std::string_view format, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("phigate");
  if (format == "json") {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

}  // namespace phigate
