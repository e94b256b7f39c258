// The permission table, as the server enforces it for a facilitated group.
// docs/FACILITATOR_GUIDE.md shows the same table; extend both together.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

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

}  // namespace
