// Room settings: lock, pause, keep open, details and agreement, slow mode, retention, permissions.
#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

Room::ActionResult Room::accept_agreement(Member& actor, std::int64_t now_ms) {
  if (settings_.agreement().empty()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "accept agreement: this room has no agreement"};
  }
  if (actor.view.agreement_accepted()) return response(0);
  actor.view.set_agreement_accepted(true);
  accepted_accounts_.insert(actor.account_id);
  audit(actor, "accept agreement", nullptr, "", now_ms);
  return response(publish_members({&actor}, MEMBER_CHANGE_AGREEMENT_ACCEPTED, &actor, "", now_ms));
}

Check Room::check_agreement(const Member& member, const std::string& action) const {
  if (settings_.agreement().empty() || member.view.agreement_accepted()) return std::nullopt;
  return Refusal{ERROR_CODE_AGREEMENT_REQUIRED, action + ": accept the group agreement first"};
}

Room::ActionResult Room::set_locked(Member& actor, bool locked, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_LOCK, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_locked(locked);
  audit(actor, locked ? "lock" : "unlock", nullptr, "", now_ms);
  return response(publish_settings(ROOM_CHANGE_LOCK, &actor, now_ms));
}

Room::ActionResult Room::set_paused(Member& actor, bool paused, const std::string& reason,
                                    std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_PAUSE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (settings_.paused() == paused &&
      (!paused || settings_.pause_cause() == PAUSE_CAUSE_FACILITATOR)) {
    return response(0);
  }
  settings_.set_paused(paused);
  settings_.set_pause_cause(paused ? PAUSE_CAUSE_FACILITATOR : PAUSE_CAUSE_UNSPECIFIED);
  audit(actor, paused ? "pause" : "resume", nullptr, reason, now_ms);
  return response(publish_settings(ROOM_CHANGE_PAUSE, &actor, now_ms));
}

Room::ActionResult Room::set_keep_open(Member& actor, bool keep_open, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_PAUSE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_keep_open_without_facilitator(keep_open);
  audit(actor, keep_open ? "keep open without facilitator" : "pause without facilitator", nullptr,
        "", now_ms);
  return response(publish_settings(ROOM_CHANGE_KEEP_OPEN, &actor, now_ms));
}

Room::ActionResult Room::edit_room(Member& actor, const EditRoom& request, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_EDIT_ROOM, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (request.has_title()) settings_.set_title(request.title());
  if (request.has_topic()) settings_.set_topic(request.topic());
  RoomChange change = ROOM_CHANGE_DETAILS;
  if (request.has_agreement() && request.agreement() != settings_.agreement()) {
    settings_.set_agreement(request.agreement());
    change = ROOM_CHANGE_AGREEMENT;
    accepted_accounts_.clear();
    // A new agreement needs everyone's acceptance again (those who can
    // change it are taken to accept it).
    for (auto& [member_id, member] : members_) {
      member.view.set_agreement_accepted(is_facilitator(member.view.role()));
    }
  }
  audit(actor, change == ROOM_CHANGE_AGREEMENT ? "set agreement" : "edit room", nullptr, "",
        now_ms);
  return response(publish_settings(change, &actor, now_ms));
}

Room::ActionResult Room::set_slow_mode(Member& actor, std::uint32_t seconds, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_SLOW_MODE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_slow_mode_seconds(seconds);
  audit(actor, "slow mode", nullptr, std::to_string(seconds) + "s", now_ms);
  return response(publish_settings(ROOM_CHANGE_SLOW_MODE, &actor, now_ms));
}

Room::ActionResult Room::set_retention(Member& actor, std::uint32_t days, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_EDIT_ROOM, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_history_retention_days(days);
  audit(actor, "retention", nullptr, days ? std::to_string(days) + " days" : "ephemeral", now_ms);
  return response(publish_settings(ROOM_CHANGE_RETENTION, &actor, now_ms));
}

Room::ActionResult Room::set_moderated(Member& actor, bool moderated, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_MODERATE, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_moderated(moderated);
  audit(actor, moderated ? "moderated on" : "moderated off", nullptr, "", now_ms);
  const auto seq = publish_settings(ROOM_CHANGE_MODERATED, &actor, now_ms);
  if (!moderated) {
    // The floor only means something in a moderated room: take it back from
    // everyone, so that turning moderation on again starts afresh.
    std::vector<const Member*> had_floor;
    for (auto& [member_id, member] : members_) {
      if (!member.view.has_floor()) continue;
      member.view.set_has_floor(false);
      had_floor.push_back(&member);
    }
    for (auto& [account, standing] : standings_) standing.has_floor = false;
    if (!had_floor.empty()) {
      publish_members(had_floor, MEMBER_CHANGE_FLOOR_TAKEN, &actor, "moderation is off", now_ms);
    }
  }
  return response(seq);
}

Room::ActionResult Room::set_permission(Member& actor, const SetPermission& request,
                                        std::int64_t now_ms) {
  if (auto refused = authorize_permission_change(actor.view.role(), request.action(),
                                                 request.min_role(), settings_)) {
    return *refused;
  }
  bool found = false;
  for (auto& permission : *settings_.mutable_permissions()) {
    if (permission.action() == request.action()) {
      permission.set_min_role(request.min_role());
      found = true;
    }
  }
  if (!found) {
    auto* permission = settings_.add_permissions();
    permission->set_action(request.action());
    permission->set_min_role(request.min_role());
  }
  audit(actor,
        "set permission " + action_name(request.action()) + " to " + role_name(request.min_role()),
        nullptr, "", now_ms);
  return response(publish_settings(ROOM_CHANGE_PERMISSIONS, &actor, now_ms));
}

}  // namespace circle::core
