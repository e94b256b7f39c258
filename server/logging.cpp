#include "logging.hpp"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace circle::server {

void init_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("circled");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  // Protobuf reports bad client input (such as invalid UTF-8) through its log;
  // the client already gets a typed error, so keep those lines out of warnings.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string& message) {
        spdlog::debug("protobuf: {}", message);
      });
}

}  // namespace circle::server
