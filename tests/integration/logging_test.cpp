// circled's log as an operator's log shipper reads it (--log-format json): one
// JSON object per line with time, level and message, at every level; and, in
// either format, never a message's text, a display name or a token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

// What a room's life puts in the log: a sign-in, a join, a message, a
// refused token, and the shutdown.
std::string log_of_a_session(const std::string& format, const std::string& secret_text,
                             const std::string& secret_name, std::string& token) {
  TestServer server({"--log-format", format, "--log-level", "debug"}, /*tls=*/true, {},
                    /*capture_log=*/true);
  auto alex = server.join(secret_name, "group", /*create=*/true);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", secret_text)).has_send_message());
  token = server.token("acct-refused", secret_name, false, /*ttl_s=*/-60);  // expired
  auto refused = server.connect();
  call(*refused, client::make_hello(secret_name, "circle-test", token));
  return server.log_until_exit();
}

TEST(Logs, JsonLinesCarryTimeLevelAndMessageAndNothingPrivate) {
  const std::string text = "the words only the group may read";
  const std::string name = "Quillon Private";
  std::string token;
  const std::string log = log_of_a_session("json", text, name, token);
  std::istringstream lines(log);
  std::string line;
  int events = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(event.is_object()) << "not a JSON object: " << line;
    ASSERT_TRUE(event.contains("time") && event["time"].is_string()) << line;
    EXPECT_EQ(event["time"].get<std::string>().back(), 'Z') << "UTC: " << line;
    ASSERT_TRUE(event.contains("level") && event["level"].is_string()) << line;
    ASSERT_TRUE(event.contains("msg") && event["msg"].is_string()) << line;
    ++events;
  }
  EXPECT_GE(events, 5) << log;
  EXPECT_EQ(log.find(text), std::string::npos) << "message text in the log";
  EXPECT_EQ(log.find(name), std::string::npos) << "a display name in the log";
  EXPECT_EQ(log.find(token), std::string::npos) << "a token in the log";
}

TEST(Logs, TextLinesCarryNothingPrivateEither) {
  const std::string text = "another thing said in confidence";
  const std::string name = "Marrow Unshown";
  std::string token;
  const std::string log = log_of_a_session("text", text, name, token);
  EXPECT_NE(log.find("debug"), std::string::npos) << "debug lines were asked for";
  EXPECT_EQ(log.find(text), std::string::npos);
  EXPECT_EQ(log.find(name), std::string::npos);
  EXPECT_EQ(log.find(token), std::string::npos);
}

}  // namespace
