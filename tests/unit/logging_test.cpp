// The JSON log line: one object, the message escaped (quotes, newlines), bytes
// that are not UTF-8 replaced rather than failing the line, the time in UTC.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "logging.hpp"

namespace {

TEST(JsonLog, OneObjectPerLineWithTheMessageEscaped) {
  auto formatter = circle::server::make_json_log_formatter();
  spdlog::details::log_msg message("circled", spdlog::level::warn,
                                   "said \"no\"\nthen \xff went on");
  spdlog::memory_buf_t out;
  formatter->format(message, out);
  const std::string line(out.data(), out.size());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << "one line: " << line;
  const auto event = nlohmann::json::parse(line);
  EXPECT_EQ(event["level"], "warning");
  EXPECT_EQ(event["logger"], "circled");
  EXPECT_EQ(event["msg"], "said \"no\"\nthen \xEF\xBF\xBD went on");
  EXPECT_TRUE(std::regex_match(event["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << event["time"];
}

}  // namespace
