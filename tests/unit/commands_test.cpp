// The chat client's slash commands: what each builds, and what help shows.
#include <gtest/gtest.h>

#include "chat/commands.hpp"

namespace {

using namespace circle::v1;
using circle::chat::CommandContext;
using circle::client::RoomView;

RoomSnapshot room_with(Role my_role) {
  RoomSnapshot snapshot;
  snapshot.mutable_room()->set_room_id("tuesday");
  *snapshot.mutable_settings() = [] {
    RoomSettings settings;
    for (auto [action, role] : {std::pair{ACTION_MUTE, ROLE_CO_FACILITATOR},
                                std::pair{ACTION_RAISE_HAND, ROLE_PARTICIPANT},
                                std::pair{ACTION_RUN_ROUND, ROLE_CO_FACILITATOR}}) {
      auto* permission = settings.add_permissions();
      permission->set_action(action);
      permission->set_min_role(role);
    }
    return settings;
  }();
  auto add = [&](std::uint64_t id, const std::string& name, Role role) {
    auto* member = snapshot.add_members();
    member->set_member_id(id);
    member->set_display_name(name);
    member->set_role(role);
  };
  add(1, "Alex", my_role);
  add(2, "Sam", ROLE_PARTICIPANT);
  add(3, "Sam", ROLE_PARTICIPANT);
  add(4, "Riya", ROLE_PARTICIPANT);
  snapshot.set_your_member_id(1);
  return snapshot;
}

struct Recorder {
  std::vector<RoomActionRequest> sent;
  std::vector<std::string> printed;
  CommandContext context(const RoomView& view) {
    return {.room = [view] { return std::optional<RoomView>(view); },
            .act = [this](const RoomActionRequest& action, const std::string&,
                          const std::string&) { sent.push_back(action); },
            .print = [this](std::string line) { printed.push_back(std::move(line)); }};
  }
};

TEST(Commands, ParseDurations) {
  EXPECT_EQ(circle::chat::parse_duration("45"), 45u);
  EXPECT_EQ(circle::chat::parse_duration("10", 60), 600u) << "a bare number in minutes";
  EXPECT_EQ(circle::chat::parse_duration("45s"), 45u);
  EXPECT_EQ(circle::chat::parse_duration("10m"), 600u);
  EXPECT_EQ(circle::chat::parse_duration("2h"), 7200u);
  EXPECT_EQ(circle::chat::parse_duration("1d"), 86400u);
  EXPECT_FALSE(circle::chat::parse_duration("soon"));
  EXPECT_FALSE(circle::chat::parse_duration("10x"));
  EXPECT_FALSE(circle::chat::parse_duration(""));
  EXPECT_FALSE(circle::chat::parse_duration("99999h"));
}

TEST(Commands, InviteLinksForHowLongAndHowMany) {
  RoomView view(room_with(ROLE_FACILITATOR));
  Recorder recorder;
  auto context = recorder.context(view);
  ASSERT_TRUE(circle::chat::run_room_command("/invite", "2h 5", context));
  ASSERT_TRUE(circle::chat::run_room_command("/invite", "", context));
  ASSERT_TRUE(circle::chat::run_room_command("/uninvite", "42", context));
  ASSERT_EQ(recorder.sent.size(), 3u);
  EXPECT_EQ(recorder.sent[0].create_invite().ttl_seconds(), 7200u);
  EXPECT_EQ(recorder.sent[0].create_invite().max_uses(), 5u);
  EXPECT_EQ(recorder.sent[1].create_invite().ttl_seconds(), 86400u) << "a day by default";
  EXPECT_EQ(recorder.sent[1].create_invite().max_uses(), 0u) << "anyone";
  EXPECT_EQ(recorder.sent[2].revoke_invite().invite_id(), 42u);
  ASSERT_TRUE(circle::chat::run_room_command("/invite", "soon", context));
  EXPECT_EQ(recorder.sent.size(), 3u) << "a bad length is not sent";
}

TEST(Commands, MuteWithDurationAndReason) {
  RoomView view(room_with(ROLE_FACILITATOR));
  Recorder recorder;
  auto context = recorder.context(view);
  ASSERT_TRUE(circle::chat::run_room_command("/mute", "Riya 10m talking over others", context));
  ASSERT_EQ(recorder.sent.size(), 1u);
  const auto& mute = recorder.sent[0];
  EXPECT_EQ(mute.set_muted().member_id(), 4u);
  EXPECT_TRUE(mute.set_muted().muted());
  EXPECT_EQ(mute.set_muted().duration_seconds(), 600u);
  EXPECT_EQ(mute.reason(), "talking over others");

  ASSERT_TRUE(circle::chat::run_room_command("/mute", "Riya 5", context));
  EXPECT_EQ(recorder.sent.back().set_muted().duration_seconds(), 300u) << "bare number: minutes";
  recorder.sent.pop_back();
  ASSERT_TRUE(circle::chat::run_room_command("/mute", "Riya not a duration", context));
  EXPECT_EQ(recorder.sent[1].set_muted().duration_seconds(), 0u);
  EXPECT_EQ(recorder.sent[1].reason(), "not a duration");
}

TEST(Commands, AmbiguousOrUnknownNamesAreNotSent) {
  RoomView view(room_with(ROLE_FACILITATOR));
  Recorder recorder;
  auto context = recorder.context(view);
  ASSERT_TRUE(circle::chat::run_room_command("/kick", "Sam", context));
  ASSERT_TRUE(circle::chat::run_room_command("/kick", "Nobody", context));
  EXPECT_TRUE(recorder.sent.empty());
  ASSERT_EQ(recorder.printed.size(), 2u);
  EXPECT_NE(recorder.printed[0].find("use #id"), std::string::npos) << recorder.printed[0];
  ASSERT_TRUE(circle::chat::run_room_command("/kick", "#3 disruptive", context));
  ASSERT_EQ(recorder.sent.size(), 1u);
  EXPECT_EQ(recorder.sent[0].remove_member().member_id(), 3u);
  EXPECT_EQ(recorder.sent[0].reason(), "disruptive");
}

TEST(Commands, RoundsHandsAndSupport) {
  RoomView view(room_with(ROLE_FACILITATOR));
  Recorder recorder;
  auto context = recorder.context(view);
  ASSERT_TRUE(circle::chat::run_room_command("/round", "start Riya #2", context));
  ASSERT_TRUE(circle::chat::run_room_command("/hand", "What about sleep?", context));
  ASSERT_TRUE(circle::chat::run_room_command("/support", "", context));
  ASSERT_EQ(recorder.sent.size(), 3u);
  EXPECT_EQ(recorder.sent[0].start_round().order_size(), 2);
  EXPECT_EQ(recorder.sent[0].start_round().order(0), 4u);
  EXPECT_EQ(recorder.sent[1].set_hand().question(), "What about sleep?");
  EXPECT_TRUE(recorder.sent[2].has_request_support());
  EXPECT_FALSE(circle::chat::run_room_command("/frobnicate", "", context));
}

TEST(Commands, HelpShowsWhatTheRoleAllows) {
  RoomView facilitator(room_with(ROLE_FACILITATOR));
  RoomView participant(room_with(ROLE_PARTICIPANT));
  auto joined = [](const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  };
  const auto for_facilitator = joined(circle::chat::room_command_help(&facilitator));
  const auto for_participant = joined(circle::chat::room_command_help(&participant));
  EXPECT_NE(for_facilitator.find("/mute"), std::string::npos);
  EXPECT_NE(for_facilitator.find("/ack"), std::string::npos);
  EXPECT_EQ(for_participant.find("/mute"), std::string::npos);
  EXPECT_EQ(for_participant.find("/ack"), std::string::npos);
  EXPECT_NE(for_participant.find("/support"), std::string::npos);
  EXPECT_NE(for_participant.find("/hand"), std::string::npos);
}

}  // namespace
