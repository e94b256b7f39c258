// A call for help, through the real server and the terminal client: the
// person asking is told at once and truthfully whether a facilitator is there,
// with the operator's crisis resources (--support-resources), and the alert
// waits, open, for the facilitators.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;

class SupportRequests : public ::testing::Test {
 protected:
  SupportRequests()
      : dir_(make_temp_dir()),
        resources_(write_resources(dir_)),
        server_({"--support-resources", resources_}) {}
  ~SupportRequests() override { std::filesystem::remove_all(dir_); }

  static std::string write_resources(const std::string& dir) {
    const std::string path = dir + "/resources.txt";
    std::ofstream(path) << "Crisis line (24/7): 0800 000 000\nText SAFE to 85258\n";
    return path;
  }
  std::unique_ptr<client::SyncClient> opens_group() {
    auto alex = server_.sign_in("alex");
    EXPECT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
    EXPECT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
    return alex;
  }

  std::string dir_, resources_;
  TestServer server_;
};

TEST_F(SupportRequests, WithNoFacilitatorThereTheAskerIsToldSoWithTheCrisisResources) {
  auto alex = opens_group();
  ASSERT_TRUE(call(*alex, client::make_leave_room("group")).has_leave_room());

  auto sam = server_.chat("sam");
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();
  sam.write_stdin("/support I'm not feeling safe right now\n");
  ASSERT_TRUE(sam.wait_for_line("No facilitator is in this room right now", kDeadline))
      << sam.transcript();
  ASSERT_TRUE(sam.wait_for_line("Crisis line (24/7): 0800 000 000", kDeadline)) << sam.transcript();
  ASSERT_TRUE(sam.wait_for_line("Text SAFE to 85258", kDeadline)) << sam.transcript();
  EXPECT_EQ(sam.transcript().find("Someone will reach out"), std::string::npos)
      << "no promise that nobody can keep";

  // The facilitator finds it open on return, and may answer it.
  auto back = call(*alex, client::make_join_room("group"));
  ASSERT_TRUE(back.has_join_room());
  ASSERT_EQ(back.join_room().snapshot().open_alerts_size(), 1);
  const auto& alert = back.join_room().snapshot().open_alerts(0);
  EXPECT_EQ(alert.text(), "I'm not feeling safe right now");
  auto ack = client::make_room_action("group");
  ack.mutable_room_action()->mutable_acknowledge_support()->set_alert_id(alert.alert_id());
  ASSERT_TRUE(call(*alex, ack).has_room_action());
  ASSERT_TRUE(sam.wait_for_line("has seen your request for support", kDeadline))
      << sam.transcript();
  sam.write_stdin("/quit\n");
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);

  // Coming back, Sam sees where the request stands.
  auto sam_again = server_.chat("sam");
  ASSERT_TRUE(sam_again.wait_for_line("Your request for support (" +
                                          std::to_string(alert.alert_id()) +
                                          ") is still open: alex has seen it",
                                      kDeadline))
      << sam_again.transcript();
  sam_again.write_stdin("/quit\n");
  EXPECT_EQ(sam_again.wait_exit(kDeadline), 0);
}

TEST_F(SupportRequests, WithAFacilitatorThereTheAskerIsToldItReachedThem) {
  auto alex = opens_group();
  auto sam = server_.chat("sam");
  ASSERT_TRUE(sam.wait_for_line("You joined", kDeadline)) << sam.transcript();
  sam.write_stdin("/support\n");
  ASSERT_TRUE(sam.wait_for_line("went to the facilitator here, and to no one else", kDeadline))
      << sam.transcript();
  ASSERT_TRUE(sam.wait_for_line("Crisis line (24/7): 0800 000 000", kDeadline)) << sam.transcript();
  auto alert = alex->wait_event(
      [](const circle::v1::ServerMessage& m) {
        return m.has_private_event() && m.private_event().has_support_alert();
      },
      kDeadline);
  ASSERT_TRUE(alert);
  sam.write_stdin("/quit\n");
  EXPECT_EQ(sam.wait_exit(kDeadline), 0);
}

}  // namespace
