// Logging policy: structured one-line events to stderr via spdlog. Never log
// message text, tokens or display names; connection ids and error codes only.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace circle::server {

// Sets the level ("info", "debug", ...) and routes protobuf's own log lines
// (e.g. invalid UTF-8 on parse) to debug, where they belong.
void init_logging(const std::string& level);

}  // namespace circle::server
