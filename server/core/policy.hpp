// The permission policy: who may do what in a room. Pure functions of the
// actor, the target, the room's settings and the action; no state, no I/O.
// Every refusal is PERMISSION_DENIED with a message that names the action.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "circle/v1/circle.pb.h"
#include "core/result.hpp"

namespace circle::core {

using circle::v1::Action;
using circle::v1::Role;
using circle::v1::RoomKind;
using circle::v1::RoomSettings;

// The settings a new room of `kind` starts with (every action's minimum role,
// modes, member cap). `max_members` caps what the preset asks for.
RoomSettings default_settings(RoomKind kind, std::uint32_t max_members);

// The minimum role `action` needs under `settings`.
Role required_role(const RoomSettings& settings, Action action);

// "mute", "remove", ... for messages and the audit log.
std::string action_name(Action action);
std::string role_name(Role role);

// May `actor` take `action`? When the action is aimed at a member, `target`
// is that member's role: one may act only on members ranked strictly below.
Check authorize(Action action, Role actor, std::optional<Role> target,
                const RoomSettings& settings);

// May `actor` change a member of role `target` to `new_role`? Roles are only
// ever observer, participant or co-facilitator this way (facilitation is
// handed over, never granted), and never above the actor's own.
Check authorize_role_change(Role actor, Role target, Role new_role, const RoomSettings& settings);

// May `actor` set the minimum role of `action` to `new_min_role`?
Check authorize_permission_change(Role actor, Action action, Role new_min_role,
                                  const RoomSettings& settings);

// Everything that decides whether a member may post right now.
struct SpeakerState {
  Role role = circle::v1::ROLE_PARTICIPANT;
  bool muted = false;
  // Milliseconds left on a timed mute; 0 for a mute until unmuted.
  std::int64_t muted_for_ms = 0;
  bool hand_raised = false;
  bool has_floor = false;
  bool agreement_accepted = false;
  bool round_active = false;
  bool is_round_speaker = false;
};

// May this member post a message? Facilitators (co-facilitator and up) are
// exempt from moderated mode and rounds, not from the agreement or a mute.
Check authorize_post(const SpeakerState& speaker, const RoomSettings& settings);

// While the room is paused only facilitators may take `action` (posting,
// raising a hand, a direct message to a participant).
Check check_paused(Action action, Role actor, const RoomSettings& settings);

// True for co-facilitators, facilitators and admins: the people who see
// support alerts, reports, the waiting room and account ids.
bool is_facilitator(Role role);

}  // namespace circle::core
