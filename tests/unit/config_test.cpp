// Settings read twice (a reload): which changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config.hpp"

namespace {

using circle::server::changed_settings;
using circle::server::Config;
using circle::server::parse_config;

Config parsed(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "circled");
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  int exit_code = 0;
  auto config = parse_config(static_cast<int>(argv.size()), argv.data(), &exit_code);
  if (!config) throw std::runtime_error("settings refused");
  return *config;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Settings, AReloadSeesWhichSettingsChanged) {
  const auto before = parsed({"--port", "9443", "--log-level", "info"});
  EXPECT_NE(before.settings_text.find("port=9443"), std::string::npos) << before.settings_text;
  EXPECT_EQ(before.arguments, (std::vector<std::string>{"--port", "9443", "--log-level", "info"}));
  EXPECT_TRUE(changed_settings(before.settings_text, before.settings_text).empty());

  const auto after = parsed({"--port", "9444", "--log-level", "debug", "--max-rooms", "7"});
  const auto changed = changed_settings(before.settings_text, after.settings_text);
  EXPECT_TRUE(has(changed, "port"));
  EXPECT_TRUE(has(changed, "log-level"));
  EXPECT_TRUE(has(changed, "max-rooms"));
  EXPECT_FALSE(has(changed, "listen"));
  EXPECT_EQ(changed.size(), 3u);
}

}  // namespace
