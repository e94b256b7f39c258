// Reloading without dropping anyone: a renewed certificate is presented to
// new connections while open ones keep talking; a reload that cannot take
// something keeps the old state and says so; the support text and the log
// level change in place.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace fs = std::filesystem;

fs::path scratch_dir() {
  const auto dir =
      fs::temp_directory_path() / ("circle-reload-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Replaces `to` with `from` the way a renewal tool does: a new file renamed in.
void install(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to.string() + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to.string() + ".new", to);
}

// `circled reload --pid-file`, then waits until the server has finished
// `count` reloads (circle_reloads_total).
void reload(const TestServer& server, const fs::path& pid_file, double count) {
  ChildProcess ask({circled_path(), "reload", "--pid-file", pid_file.string()},
                   {.capture_stdout = true});
  ASSERT_EQ(ask.wait_exit(kDeadline), 0);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (metric_sample(http_get(server.metrics_url()).body, "circle_reloads_total") < count) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the reload did not finish";
  }
}

// Whether a new connection verifying with `ca` gets through the handshake.
bool connects_with(const TestServer& server, const fs::path& ca) {
  client::SyncClient c(client::make_tls_context(ca.string()));
  return !c.connect(server.address()).has_value();
}

TEST(Reload, ANewCertificateIsPresentedToNewConnectionsAndOpenOnesKeepTalking) {
  const auto dir = scratch_dir();
  const auto live = dir / "live";
  fs::create_directories(live);
  for (const char* file : {"server.crt", "server.key"}) {
    fs::copy_file(fs::path(test_cert_dir()) / file, live / file);
  }
  const auto pid_file = dir / "circled.pid";
  TestServer server({"--cert", (live / "server.crt").string(), "--key",
                     (live / "server.key").string(), "--pid-file", pid_file.string()});
  const fs::path old_ca = fs::path(test_cert_dir()) / "ca.crt";
  auto open = server.join("Robin", "group", /*create=*/true);
  const double first_expiry = metric_sample(http_get(server.metrics_url()).body,
                                            "circle_tls_certificate_expiry_timestamp_seconds");
  EXPECT_GT(first_expiry, 0);

  // A renewal: another CA's certificate, so that who presents which is plain.
  const auto renewed = dir / "renewed";
  ChildProcess make({CIRCLE_SOURCE_DIR "/certs/make-dev-certs", "--force", renewed.string()},
                    {.capture_stdout = true});
  ASSERT_EQ(make.wait_exit(kDeadline), 0);
  install(renewed / "server.key", live / "server.key");
  install(renewed / "server.crt", live / "server.crt");
  reload(server, pid_file, 1);

  const auto metrics = http_get(server.metrics_url()).body;
  EXPECT_EQ(metric_sample(metrics, "circle_reload_success"), 1);
  EXPECT_EQ(metric_sample(metrics, "circle_reload_failures_total"), 0);
  EXPECT_TRUE(connects_with(server, renewed / "ca.crt"));
  EXPECT_FALSE(connects_with(server, old_ca));
  // The connection from before the renewal goes on as if nothing happened.
  auto sent = call(*open, client::make_send_message("group", "still here"));
  EXPECT_TRUE(sent.has_send_message()) << sent.DebugString();

  // A key that is not the certificate's: the pair held stays, and it is said.
  install(fs::path(test_cert_dir()) / "server.key", live / "server.key");
  reload(server, pid_file, 2);
  const auto after_bad = http_get(server.metrics_url()).body;
  EXPECT_EQ(metric_sample(after_bad, "circle_reload_success"), 0);
  EXPECT_EQ(metric_sample(after_bad, "circle_reload_failures_total"), 1);
  EXPECT_TRUE(connects_with(server, renewed / "ca.crt"));
  EXPECT_TRUE(call(*open, client::make_send_message("group", "and still")).has_send_message());
  server.process().signal(SIGTERM);
  ASSERT_EQ(server.process().wait_exit(kDeadline), 0);
  EXPECT_FALSE(fs::exists(pid_file));  // removed when circled stops
  fs::remove_all(dir);
}

TEST(Reload, TheSupportTextChangesInPlace) {
  const auto dir = scratch_dir();
  const auto resources = dir / "resources.txt";
  std::ofstream(resources) << "Call the warmline: 0800 111 111\n";
  const auto pid_file = dir / "circled.pid";
  TestServer server({"--support-resources", resources.string(), "--pid-file", pid_file.string()});
  auto host = server.join("Alex", "group", /*create=*/true);
  auto member = server.join("Sam", "group");
  const auto ask = [&] {
    auto request = client::make_room_action("group");
    request.mutable_room_action()->mutable_request_support()->set_text("I need a moment");
    auto reply = call(*member, request);
    EXPECT_TRUE(reply.has_room_action()) << reply.DebugString();
    return reply.room_action().support().resources();
  };
  EXPECT_EQ(ask(), "Call the warmline: 0800 111 111");
  std::ofstream(resources) << "Call the warmline: 0800 222 222\n";
  reload(server, pid_file, 1);
  EXPECT_EQ(ask(), "Call the warmline: 0800 222 222");
  // Unreadable now: the text held stays, and the reload says it failed.
  fs::remove(resources);
  reload(server, pid_file, 2);
  EXPECT_EQ(metric_sample(http_get(server.metrics_url()).body, "circle_reload_success"), 0);
  EXPECT_EQ(ask(), "Call the warmline: 0800 222 222");
  fs::remove_all(dir);
}

TEST(Reload, APidFileLeftBehindNeverSignalsAnotherProgram) {
  const auto dir = scratch_dir();
  ChildProcess other({"/bin/sleep", "60"}, {.capture_stdout = true});
  const auto pid_file = dir / "circled.pid";
  std::ofstream(pid_file) << other.pid() << "\n";
  ChildProcess ask({circled_path(), "reload", "--pid-file", pid_file.string()},
                   {.capture_stdout = true, .capture_stderr = true});
  EXPECT_EQ(ask.wait_exit(kDeadline), 1);
  EXPECT_NE(ask.read_stderr(kDeadline).find("is not a running circled"), std::string::npos);
  EXPECT_FALSE(other.wait_exit(std::chrono::milliseconds(200)));  // not signalled: still running
  fs::remove_all(dir);
}

}  // namespace
