// Logging policy: structured one-line events to stderr via spdlog. Never log
// message text, tokens or display names; connection ids and error codes only.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace circle::server {

// Sets the level ("info", "debug", ...) and the format ("text": a line for
// people; "json": one JSON object per line for log shippers), and routes
// protobuf's own log lines (e.g. invalid UTF-8 on parse) to debug, where they
// belong.
void init_logging(const std::string& level, const std::string& format = "text");

// One JSON object per event: {"time":"2026-12-07T08:30:00.123Z","level":"info",
// "logger":"circled","msg":"..."}; the time in UTC, the message escaped.
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

}  // namespace circle::server
