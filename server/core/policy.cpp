#include "core/policy.hpp"

#include <algorithm>

namespace circle::core {
namespace {

using namespace circle::v1;

Refusal denied(Action action, const std::string& why) {
  return Refusal{ERROR_CODE_PERMISSION_DENIED, action_name(action) + ": " + why};
}

bool is_room_role(Role role) {
  return role >= ROLE_OBSERVER && role <= ROLE_FACILITATOR;
}

}  // namespace

bool is_facilitator(Role role) {
  return role >= ROLE_CO_FACILITATOR;
}

std::string role_name(Role role) {
  switch (role) {
    case ROLE_OBSERVER:
      return "observer";
    case ROLE_PARTICIPANT:
      return "participant";
    case ROLE_CO_FACILITATOR:
      return "co-facilitator";
    case ROLE_FACILITATOR:
      return "facilitator";
    case ROLE_ADMIN:
      return "admin";
    default:
      return "unknown role";
  }
}

std::string action_name(Action action) {
  switch (action) {
    case ACTION_SEND_MESSAGE:
      return "send message";
    case ACTION_RAISE_HAND:
      return "raise hand";
    case ACTION_DIRECT_MESSAGE:
      return "direct message";
    case ACTION_MUTE:
      return "mute";
    case ACTION_REMOVE:
      return "remove";
    case ACTION_BAN:
      return "ban";
    case ACTION_MANAGE_WAITING_ROOM:
      return "manage waiting room";
    case ACTION_LOCK:
      return "lock";
    case ACTION_EDIT_ROOM:
      return "edit room";
    case ACTION_REDACT:
      return "redact";
    case ACTION_PIN:
      return "pin";
    case ACTION_SLOW_MODE:
      return "slow mode";
    case ACTION_MODERATE:
      return "moderate";
    case ACTION_RUN_ROUND:
      return "run round";
    case ACTION_PROMOTE:
      return "change role";
    case ACTION_HAND_OVER:
      return "hand over";
    case ACTION_END_SESSION:
      return "end session";
    case ACTION_CHANGE_PERMISSIONS:
      return "change permissions";
    case ACTION_PAUSE:
      return "pause";
    case ACTION_INVITE:
      return "invite";
    default:
      return "unknown action";
  }
}

RoomSettings default_settings(RoomKind kind, std::uint32_t max_members) {
  RoomSettings settings;
  settings.set_kind(kind);
  settings.set_max_members(max_members);
  auto set = [&](Action action, Role role) {
    auto* permission = settings.add_permissions();
    permission->set_action(action);
    permission->set_min_role(role);
  };
  const bool peers_message_each_other = kind == ROOM_KIND_PEER_CIRCLE;
  set(ACTION_SEND_MESSAGE, ROLE_PARTICIPANT);
  set(ACTION_RAISE_HAND, ROLE_PARTICIPANT);
  set(ACTION_DIRECT_MESSAGE, peers_message_each_other ? ROLE_PARTICIPANT : ROLE_CO_FACILITATOR);
  for (Action action : {ACTION_MUTE, ACTION_REMOVE, ACTION_BAN, ACTION_MANAGE_WAITING_ROOM,
                        ACTION_LOCK, ACTION_REDACT, ACTION_PIN, ACTION_SLOW_MODE, ACTION_MODERATE,
                        ACTION_RUN_ROUND, ACTION_PAUSE, ACTION_INVITE}) {
    set(action, ROLE_CO_FACILITATOR);
  }
  for (Action action : {ACTION_EDIT_ROOM, ACTION_PROMOTE, ACTION_HAND_OVER, ACTION_END_SESSION,
                        ACTION_CHANGE_PERMISSIONS}) {
    set(action, ROLE_FACILITATOR);
  }
  if (kind == ROOM_KIND_ONE_TO_ONE)
    settings.set_max_members(std::min<std::uint32_t>(2, max_members));
  if (kind == ROOM_KIND_TALK) settings.set_moderated(true);
  return settings;
}

Role required_role(const RoomSettings& settings, Action action) {
  for (const auto& permission : settings.permissions()) {
    if (permission.action() == action) return permission.min_role();
  }
  // An action missing from the settings is the facilitator's alone.
  return ROLE_FACILITATOR;
}

Check authorize(Action action, Role actor, std::optional<Role> target,
                const RoomSettings& settings) {
  const Role needed = required_role(settings, action);
  if (actor < needed) {
    return denied(action, "needs at least " + role_name(needed) + " in this room; you are " +
                              role_name(actor));
  }
  if (target && *target >= actor) {
    return denied(action, "you can only act on members ranked below you (they are " +
                              role_name(*target) + ")");
  }
  return std::nullopt;
}

Check authorize_role_change(Role actor, Role target, Role new_role, const RoomSettings& settings) {
  if (auto refused = authorize(ACTION_PROMOTE, actor, target, settings)) return refused;
  if (!is_room_role(new_role) || new_role == ROLE_FACILITATOR) {
    return denied(ACTION_PROMOTE,
                  "a role can be set to observer, participant or co-facilitator; facilitation "
                  "is handed over");
  }
  if (new_role > actor) {
    return denied(ACTION_PROMOTE, "you cannot grant a role above your own");
  }
  return std::nullopt;
}

Check authorize_permission_change(Role actor, Action action, Role new_min_role,
                                  const RoomSettings& settings) {
  if (auto refused = authorize(ACTION_CHANGE_PERMISSIONS, actor, std::nullopt, settings)) {
    return refused;
  }
  if (action == ACTION_UNSPECIFIED || action_name(action) == "unknown action") {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "change permissions: unknown action"};
  }
  if (!is_room_role(new_min_role)) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT,
                   "change permissions: the minimum role must be a room role"};
  }
  if (required_role(settings, action) > actor || new_min_role > actor) {
    return denied(ACTION_CHANGE_PERMISSIONS, "you cannot change a rule above your own role");
  }
  return std::nullopt;
}

Check check_paused(Action action, Role actor, const RoomSettings& settings) {
  if (!settings.paused() || is_facilitator(actor)) return std::nullopt;
  if (settings.pause_cause() == circle::v1::PAUSE_CAUSE_NO_FACILITATOR) {
    return denied(action,
                  "the room is paused until a facilitator is here (asking for support still "
                  "works)");
  }
  return denied(action, "a facilitator has paused the room (asking for support still works)");
}

Check authorize_post(const SpeakerState& speaker, const RoomSettings& settings) {
  if (auto refused = authorize(ACTION_SEND_MESSAGE, speaker.role, std::nullopt, settings)) {
    return refused;
  }
  if (!settings.agreement().empty() && !speaker.agreement_accepted) {
    return Refusal{ERROR_CODE_AGREEMENT_REQUIRED, "send message: accept the group agreement first"};
  }
  if (speaker.muted) {
    if (speaker.muted_for_ms <= 0) {
      return denied(ACTION_SEND_MESSAGE, "you are muted until a facilitator unmutes you");
    }
    const auto minutes = (speaker.muted_for_ms + 59'999) / 60'000;
    return denied(ACTION_SEND_MESSAGE, "you are muted for " + std::to_string(minutes) +
                                           " more minute" + (minutes == 1 ? "" : "s"));
  }
  if (auto refused = check_paused(ACTION_SEND_MESSAGE, speaker.role, settings)) return refused;
  if (is_facilitator(speaker.role)) return std::nullopt;
  if (speaker.round_active) {
    // During a round the turn is the floor: only the speaker may post.
    if (speaker.is_round_speaker) return std::nullopt;
    return denied(ACTION_SEND_MESSAGE, "a check-in round is running and it is not your turn");
  }
  if (settings.moderated() && !speaker.has_floor) {
    return denied(ACTION_SEND_MESSAGE,
                  speaker.hand_raised
                      ? "the room is moderated; your hand is up: wait for the floor"
                      : "the room is moderated; raise your hand and wait for the floor");
  }
  return std::nullopt;
}

}  // namespace circle::core
