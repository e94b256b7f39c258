// Runs `circle load` (the load generator) as a new user would, against
// servers started by a test, and returns its JSON report.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_server.hpp"

namespace circle::test {

// `servers`: one URL, or several comma-separated (members spread over
// them); `token_secret_file`: the secret the servers verify tokens with.
// Fails the test unless the run exits 0 having lost and duplicated nothing.
inline nlohmann::json run_load(const std::string& servers, const std::string& token_secret_file,
                               const std::vector<std::string>& extra) {
  const std::string dir = make_temp_dir();
  const std::string report = dir + "/load.json";
  std::vector<std::string> argv = {circle_path(),    "load",
                                   "--server",       servers,
                                   "--ca",           test_cert_dir() + "/ca.crt",
                                   "--json",         report,
                                   "--quiet",        "--token-secret-file",
                                   token_secret_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ChildProcess load(argv, {.capture_stdout = true});
  auto status = load.wait_exit(std::chrono::seconds(60));
  const std::string output = load.read_all(kDeadline);
  EXPECT_TRUE(status) << output;
  EXPECT_EQ(status.value_or(-1), 0) << output;
  EXPECT_NE(output.find("lost (gaps)      0, duplicated 0"), std::string::npos) << output;
  nlohmann::json figures;
  std::ifstream(report) >> figures;
  std::filesystem::remove_all(dir);
  return figures;
}

inline nlohmann::json run_load(const TestServer& server, const std::vector<std::string>& extra) {
  return run_load(server.url(), server.data_dir() + "/token-secret", extra);
}

}  // namespace circle::test
