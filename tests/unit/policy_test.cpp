// The permission table, as the server enforces it for a facilitated group.
// docs/FACILITATOR_GUIDE.md's table is generated from the server's defaults
// and circle chat's commands (PermissionTable.TheFacilitatorGuideShowsIt:
// CIRCLE_WRITE_DOCS=1 writes it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "chat/commands.hpp"
#include "core/policy.hpp"

namespace {

using namespace circle::v1;
using circle::core::authorize;

constexpr bool kTargeted = true;     // aimed at another member
constexpr bool kUntargeted = false;  // aimed at the room or oneself

struct Row {
  Action action;
  Role min_role;  // in a facilitated group (the default preset)
  bool targeted;
};

// clang-format off
const Row kPermissionTable[] = {
  {ACTION_SEND_MESSAGE,         ROLE_PARTICIPANT,    kUntargeted},
  {ACTION_RAISE_HAND,           ROLE_PARTICIPANT,    kUntargeted},
  {ACTION_DIRECT_MESSAGE,       ROLE_CO_FACILITATOR, kUntargeted},  // to facilitators: always
  {ACTION_MUTE,                 ROLE_CO_FACILITATOR, kTargeted},
  {ACTION_REMOVE,               ROLE_CO_FACILITATOR, kTargeted},
  {ACTION_BAN,                  ROLE_CO_FACILITATOR, kTargeted},
  {ACTION_MANAGE_WAITING_ROOM,  ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_LOCK,                 ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_REDACT,               ROLE_CO_FACILITATOR, kTargeted},    // at the author
  {ACTION_PIN,                  ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_SLOW_MODE,            ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_MODERATE,             ROLE_CO_FACILITATOR, kTargeted},
  {ACTION_RUN_ROUND,            ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_EDIT_ROOM,            ROLE_FACILITATOR,    kUntargeted},
  {ACTION_PROMOTE,              ROLE_FACILITATOR,    kTargeted},
  {ACTION_HAND_OVER,            ROLE_FACILITATOR,    kTargeted},
  {ACTION_END_SESSION,          ROLE_FACILITATOR,    kUntargeted},
  {ACTION_CHANGE_PERMISSIONS,   ROLE_FACILITATOR,    kUntargeted},
  {ACTION_PAUSE,                ROLE_CO_FACILITATOR, kUntargeted},
  {ACTION_INVITE,               ROLE_CO_FACILITATOR, kUntargeted},
};
// clang-format on

const Role kEveryRole[] = {ROLE_OBSERVER, ROLE_PARTICIPANT, ROLE_CO_FACILITATOR, ROLE_FACILITATOR,
                           ROLE_ADMIN};

TEST(PermissionTable, CoversEveryAction) {
  std::vector<bool> seen(Action_ARRAYSIZE, false);
  for (const auto& row : kPermissionTable) seen[row.action] = true;
  for (int action = 1; action < Action_ARRAYSIZE; ++action) {
    EXPECT_TRUE(seen[action]) << Action_Name(action) << " is missing from the table";
  }
}

TEST(PermissionTable, IsTheFacilitatedGroupDefault) {
  const auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  for (const auto& row : kPermissionTable) {
    EXPECT_EQ(circle::core::required_role(settings, row.action), row.min_role)
        << Action_Name(row.action);
  }
}

TEST(PermissionTable, EveryActionEveryActorEveryTarget) {
  const auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  for (const auto& row : kPermissionTable) {
    for (Role actor : kEveryRole) {
      std::vector<std::optional<Role>> targets = {std::nullopt};
      if (row.targeted) targets.assign(std::begin(kEveryRole), std::end(kEveryRole));
      for (auto target : targets) {
        const bool expected = actor >= row.min_role && (!target || *target < actor);
        auto refused = authorize(row.action, actor, target, settings);
        EXPECT_EQ(!refused, expected) << Action_Name(row.action) << " by " << Role_Name(actor)
                                      << " on " << (target ? Role_Name(*target) : "-");
        if (refused) {
          EXPECT_EQ(refused->code, ERROR_CODE_PERMISSION_DENIED);
          EXPECT_EQ(refused->message.rfind(circle::core::action_name(row.action) + ":", 0), 0u)
              << "a refusal names the action: " << refused->message;
        }
      }
    }
  }
}

TEST(Invariants, CoFacilitatorCannotRemoveMuteOrDemoteTheFacilitator) {
  const auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  EXPECT_TRUE(authorize(ACTION_REMOVE, ROLE_CO_FACILITATOR, ROLE_FACILITATOR, settings));
  EXPECT_TRUE(authorize(ACTION_MUTE, ROLE_CO_FACILITATOR, ROLE_FACILITATOR, settings));
  EXPECT_TRUE(authorize(ACTION_BAN, ROLE_CO_FACILITATOR, ROLE_CO_FACILITATOR, settings));
  EXPECT_TRUE(circle::core::authorize_role_change(ROLE_CO_FACILITATOR, ROLE_FACILITATOR,
                                                  ROLE_PARTICIPANT, settings));
}

TEST(Invariants, NoOneGrantsARoleAboveTheirOwnOrFacilitation) {
  auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  using circle::core::authorize_role_change;
  EXPECT_FALSE(
      authorize_role_change(ROLE_FACILITATOR, ROLE_PARTICIPANT, ROLE_CO_FACILITATOR, settings));
  EXPECT_FALSE(
      authorize_role_change(ROLE_FACILITATOR, ROLE_CO_FACILITATOR, ROLE_PARTICIPANT, settings));
  EXPECT_TRUE(
      authorize_role_change(ROLE_FACILITATOR, ROLE_PARTICIPANT, ROLE_FACILITATOR, settings));
  EXPECT_TRUE(authorize_role_change(ROLE_FACILITATOR, ROLE_PARTICIPANT, ROLE_ADMIN, settings));
  // Even when co-facilitators may change roles, only up to their own rank.
  for (auto& permission : *settings.mutable_permissions()) {
    if (permission.action() == ACTION_PROMOTE) permission.set_min_role(ROLE_CO_FACILITATOR);
  }
  EXPECT_FALSE(
      authorize_role_change(ROLE_CO_FACILITATOR, ROLE_PARTICIPANT, ROLE_CO_FACILITATOR, settings));
  EXPECT_TRUE(
      authorize_role_change(ROLE_CO_FACILITATOR, ROLE_OBSERVER, ROLE_FACILITATOR, settings));
}

TEST(Invariants, PermissionChangesStayWithinTheActorsRank) {
  auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  using circle::core::authorize_permission_change;
  EXPECT_FALSE(authorize_permission_change(ROLE_FACILITATOR, ACTION_DIRECT_MESSAGE,
                                           ROLE_PARTICIPANT, settings));
  EXPECT_TRUE(authorize_permission_change(ROLE_CO_FACILITATOR, ACTION_DIRECT_MESSAGE,
                                          ROLE_PARTICIPANT, settings));
  EXPECT_TRUE(
      authorize_permission_change(ROLE_FACILITATOR, ACTION_SEND_MESSAGE, ROLE_ADMIN, settings));
  auto invalid =
      authorize_permission_change(ROLE_FACILITATOR, ACTION_UNSPECIFIED, ROLE_PARTICIPANT, settings);
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->code, ERROR_CODE_INVALID_ARGUMENT);
}

TEST(Presets, SetTheirDefaults) {
  using circle::core::default_settings;
  using circle::core::required_role;
  EXPECT_EQ(required_role(default_settings(ROOM_KIND_PEER_CIRCLE, 30), ACTION_DIRECT_MESSAGE),
            ROLE_PARTICIPANT);
  EXPECT_EQ(default_settings(ROOM_KIND_ONE_TO_ONE, 30).max_members(), 2u);
  EXPECT_TRUE(default_settings(ROOM_KIND_TALK, 1000).moderated());
  EXPECT_FALSE(default_settings(ROOM_KIND_FACILITATED_GROUP, 30).moderated());
}

TEST(Posting, AgreementMuteRoundAndModeration) {
  using circle::core::authorize_post;
  using circle::core::SpeakerState;
  auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 30);
  SpeakerState sam;
  EXPECT_FALSE(authorize_post(sam, settings));

  settings.set_agreement("What is said here stays here.");
  auto refused = authorize_post(sam, settings);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ERROR_CODE_AGREEMENT_REQUIRED);
  sam.agreement_accepted = true;
  EXPECT_FALSE(authorize_post(sam, settings));

  sam.muted = true;
  refused = authorize_post(sam, settings);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ERROR_CODE_PERMISSION_DENIED);
  EXPECT_NE(refused->message.find("muted"), std::string::npos);
  sam.muted = false;

  sam.round_active = true;
  EXPECT_TRUE(authorize_post(sam, settings)) << "not Sam's turn";
  sam.is_round_speaker = true;
  EXPECT_FALSE(authorize_post(sam, settings));
  sam.round_active = sam.is_round_speaker = false;

  settings.set_moderated(true);
  EXPECT_TRUE(authorize_post(sam, settings));
  sam.has_floor = true;
  EXPECT_FALSE(authorize_post(sam, settings));

  SpeakerState observer{.role = ROLE_OBSERVER, .agreement_accepted = true};
  EXPECT_TRUE(authorize_post(observer, settings));
  SpeakerState cofac{.role = ROLE_CO_FACILITATOR, .agreement_accepted = true, .round_active = true};
  EXPECT_FALSE(authorize_post(cofac, settings)) << "facilitators are exempt from rounds";
}

// The guide's table: one row per action, as `/allow` names it, the
// commands it gates, and its default minimum role by room kind.
std::string permission_table_markdown() {
  using circle::core::default_settings;
  using circle::core::required_role;
  using circle::core::role_name;
  const auto group = default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  const auto peer = default_settings(ROOM_KIND_PEER_CIRCLE, 100);
  std::ostringstream table;
  table
      << "| Action (`/allow` name) | Commands | Facilitated group, one-to-one, talk | Peer circle "
         "| Aimed at a member? |\n"
      << "| --- | --- | --- | --- | --- |\n";
  for (const auto& row : kPermissionTable) {
    std::string name = Action_Name(row.action).substr(std::string("ACTION_").size());
    for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
    std::string commands;
    for (const auto& command : circle::chat::commands_needing(row.action)) {
      commands += (commands.empty() ? "`" : ", `") + command + "`";
    }
    // Two actions are taken by what everyone types, not a command of their own.
    if (row.action == ACTION_SEND_MESSAGE) commands = "typing a line";
    // Invite links are made in the web app (Facilitation, Invite links).
    if (row.action == ACTION_INVITE && commands.empty()) commands = "web app: Invite links";
    if (row.action == ACTION_DIRECT_MESSAGE) {
      commands = "`/dm name` to a member who is not a facilitator (to facilitators: always)";
    }
    table << "| `" << name << "` | " << commands << " | "
          << role_name(required_role(group, row.action)) << " | "
          << role_name(required_role(peer, row.action)) << " |" << (row.targeted ? " yes |" : " |")
          << "\n";
  }
  return table.str();
}

TEST(PermissionTable, TheFacilitatorGuideShowsIt) {
  using circle::core::default_settings;
  // One column stands for three kinds: they must agree.
  const auto group = default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  for (RoomKind kind : {ROOM_KIND_ONE_TO_ONE, ROOM_KIND_TALK}) {
    EXPECT_EQ(default_settings(kind, 100).permissions().size(), group.permissions().size());
    for (const auto& row : kPermissionTable) {
      EXPECT_EQ(circle::core::required_role(default_settings(kind, 100), row.action),
                circle::core::required_role(group, row.action))
          << RoomKind_Name(kind) << " " << Action_Name(row.action);
    }
  }
  const std::string path = std::string(CIRCLE_SOURCE_DIR) + "/docs/FACILITATOR_GUIDE.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream whole;
  whole << in.rdbuf();
  std::string guide = whole.str();
  const std::string begin = "<!-- permission table: generated by tests/unit/policy_test.cpp -->\n";
  const std::string end = "<!-- end of the permission table -->";
  const auto from = guide.find(begin);
  const auto to = guide.find(end);
  ASSERT_NE(from, std::string::npos) << "the guide marks where the table goes";
  ASSERT_NE(to, std::string::npos);
  const std::string shown = guide.substr(from + begin.size(), to - from - begin.size());
  const std::string generated = permission_table_markdown();
  if (shown != generated && std::getenv("CIRCLE_WRITE_DOCS")) {
    guide.replace(from + begin.size(), to - from - begin.size(), generated);
    std::ofstream(path) << guide;
    return;
  }
  EXPECT_EQ(shown, generated)
      << "docs/FACILITATOR_GUIDE.md's table is out of date: run CIRCLE_WRITE_DOCS=1 "
         "build/release/tests/unit_tests --gtest_filter=PermissionTable.TheFacilitatorGuideShowsIt";
}

}  // namespace
