// Room moderation: mutes, removal and bans, the floor, roles, handing over, ending the session.
#include <algorithm>

#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

Room::ActionResult Room::set_muted(Member& actor, const SetMuted& request,
                                   const std::string& reason, std::int64_t now_ms) {
  Member* target = find_member(request.member_id());
  if (!target) return not_found("mute", "no member " + std::to_string(request.member_id()));
  if (auto refused = authorize(ACTION_MUTE, actor.view.role(), target->view.role(), settings_)) {
    return *refused;
  }
  target->view.set_muted(request.muted());
  target->view.set_muted_until_unix_ms(
      request.muted() && request.duration_seconds() > 0
          ? now_ms + static_cast<std::int64_t>(request.duration_seconds()) * 1000
          : 0);
  audit(actor,
        !request.muted() ? "unmute"
        : request.duration_seconds() == 0
            ? "mute"
            : "mute " + std::to_string(request.duration_seconds()) + "s",
        target, reason, now_ms);
  return response(publish_members({target},
                                  request.muted() ? MEMBER_CHANGE_MUTED : MEMBER_CHANGE_UNMUTED,
                                  &actor, reason, now_ms));
}

Room::ActionResult Room::remove_member(Member& actor, std::uint64_t member_id, bool ban,
                                       const std::string& reason, std::int64_t now_ms) {
  const Action action = ban ? ACTION_BAN : ACTION_REMOVE;
  const std::string name = action_name(action);
  Member* target = find_member(member_id);
  if (!target) return not_found(name, "no member " + std::to_string(member_id));
  if (auto refused = authorize(action, actor.view.role(), target->view.role(), settings_)) {
    return *refused;
  }
  if (ban) banned_accounts_.insert(target->account_id);
  if (target->view.role() == ROLE_FACILITATOR) facilitator_left_ms_ = now_ms;  // an admin did it
  audit(actor, name, target, reason, now_ms);
  RoomEvent event;
  auto* left = event.mutable_member_left();
  *left->mutable_member() = target->view;
  left->set_reason(ban ? LEAVE_REASON_BANNED : LEAVE_REASON_REMOVED);
  *left->mutable_by() = actor.view;
  left->set_note(reason);
  const std::uint64_t seq = publish(std::move(event), now_ms);  // the target sees it too
  const bool was_speaker = round_.active() && round_.speaker_member_id() == member_id;
  const auto attachments = target->attachments;
  drop(member_id, /*may_return=*/false, now_ms);
  for (const auto& attachment : attachments) tell_removed(attachment.sink, attachment.join_token);
  if (was_speaker) advance_round(&actor, ROUND_CHANGE_SKIPPED, now_ms);
  return response(seq);
}

Room::ActionResult Room::unban(Member& actor, const std::string& account_id,
                               const std::string& reason, std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_BAN, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (banned_accounts_.erase(account_id) == 0) {
    return not_found("unban", "that account is not banned here");
  }
  audit(actor, "unban", nullptr, reason, now_ms, account_id);
  return response(0);  // the room need not know; the audit log does
}

Room::ActionResult Room::set_floor(Member& actor, std::uint64_t member_id, bool has_floor,
                                   std::int64_t now_ms) {
  Member* target = find_member(member_id);
  if (!target) return not_found("floor", "no member " + std::to_string(member_id));
  if (auto refused =
          authorize(ACTION_MODERATE, actor.view.role(), target->view.role(), settings_)) {
    return *refused;
  }
  target->view.set_has_floor(has_floor);
  // Being given the floor answers a raised hand.
  if (has_floor) lower_hand(member_id);
  audit(actor, has_floor ? "give floor" : "take floor", target, "", now_ms);
  return response(publish_members({target},
                                  has_floor ? MEMBER_CHANGE_FLOOR_GIVEN : MEMBER_CHANGE_FLOOR_TAKEN,
                                  &actor, "", now_ms));
}

Room::ActionResult Room::set_role(Member& actor, std::uint64_t member_id, Role role,
                                  const std::string& reason, std::int64_t now_ms) {
  Member* target = find_member(member_id);
  if (!target) return not_found("change role", "no member " + std::to_string(member_id));
  if (auto refused =
          authorize_role_change(actor.view.role(), target->view.role(), role, settings_)) {
    return *refused;
  }
  const bool was_facilitator = is_facilitator(target->view.role());
  // An operator demoted the facilitator: they do not facilitate again by
  // coming back (a demotion holds for the account).
  if (target->view.role() == ROLE_FACILITATOR) facilitator_account_.clear();
  target->view.set_role(role);
  // A co-facilitator stays one when they come back; any other role is
  // given per session.
  if (role == ROLE_CO_FACILITATOR) {
    cofacilitator_accounts_.insert(target->account_id);
  } else {
    cofacilitator_accounts_.erase(target->account_id);
  }
  if (is_facilitator(role)) target->view.set_agreement_accepted(true);
  audit(actor, "set role " + role_name(role), target, reason, now_ms);
  const auto seq = publish_members({target}, MEMBER_CHANGE_ROLE, &actor, reason, now_ms);
  if (is_facilitator(role) && !was_facilitator) brief_new_facilitator(*target, now_ms);
  return response(seq);
}

std::uint64_t Room::transfer_facilitation(Member* previous, Member& next, const Member* by,
                                          std::int64_t now_ms) {
  std::vector<const Member*> changed;
  if (previous) {
    previous->view.set_role(ROLE_CO_FACILITATOR);
    cofacilitator_accounts_.insert(previous->account_id);
    changed.push_back(previous);
  }
  cofacilitator_accounts_.erase(next.account_id);
  mark_state_changed();
  const bool was_facilitator = is_facilitator(next.view.role());
  next.view.set_role(ROLE_FACILITATOR);
  next.view.set_agreement_accepted(true);
  changed.push_back(&next);
  facilitator_account_ = next.account_id;
  facilitator_left_ms_.reset();
  if (audit_) {
    AuditEntry entry{.time_unix_ms = now_ms,
                     .room_id = room_id_,
                     .action = "hand over",
                     .actor_account = by ? by->account_id : "server",
                     .actor_member_id = by ? by->view.member_id() : 0,
                     .target_account = next.account_id,
                     .target_member_id = next.view.member_id(),
                     .reason = by ? "" : "facilitator did not return within the grace period"};
    audit_->record(entry);
  }
  const auto seq = publish_members(changed, MEMBER_CHANGE_FACILITATION, by, "", now_ms);
  if (!was_facilitator) brief_new_facilitator(next, now_ms);
  return seq;
}

Room::ActionResult Room::hand_over(Member& actor, std::uint64_t member_id, std::int64_t now_ms) {
  Member* next = nullptr;
  if (member_id == 0) {
    // Rotation: the next member after the actor in join order, wrapping.
    std::vector<Member*> order;
    for (auto& [member_id, member] : members_) {
      if (member.view.role() != ROLE_OBSERVER || &member == &actor) order.push_back(&member);
    }
    std::sort(order.begin(), order.end(),
              [](auto* a, auto* b) { return a->view.member_id() < b->view.member_id(); });
    auto self = std::find(order.begin(), order.end(), &actor);
    if (order.size() > 1 && self != order.end()) {
      next = *(std::next(self) == order.end() ? order.begin() : std::next(self));
    }
    if (!next) return not_found("hand over", "no one else is here to hand over to");
  } else {
    next = find_member(member_id);
    if (!next) return not_found("hand over", "no member " + std::to_string(member_id));
  }
  if (next == &actor) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "hand over: you already facilitate"};
  }
  if (auto refused = authorize(ACTION_HAND_OVER, actor.view.role(), next->view.role(), settings_)) {
    return *refused;
  }
  Member* previous = actor.view.role() == ROLE_FACILITATOR ? &actor : nullptr;
  if (!previous) {
    // Someone else hands over on the facilitator's behalf: only from above.
    for (auto& [member_id, member] : members_) {
      if (member.view.role() == ROLE_FACILITATOR) previous = &member;
    }
    if (previous) {
      if (auto refused =
              authorize(ACTION_HAND_OVER, actor.view.role(), previous->view.role(), settings_)) {
        return *refused;
      }
    }
  }
  return response(transfer_facilitation(previous, *next, &actor, now_ms));
}

Room::ActionResult Room::end_session(Member& actor, const std::string& reason,
                                     std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_END_SESSION, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  audit(actor, "end session", nullptr, reason, now_ms);
  RoomEvent event;
  *event.mutable_session_ended()->mutable_by() = actor.view;
  event.mutable_session_ended()->set_note(reason);
  const std::uint64_t seq = publish(std::move(event), now_ms);
  // Everyone leaves; what was said stays with this session.
  std::vector<std::pair<std::weak_ptr<EventSink>, std::uint64_t>> sinks;
  for (auto& [member_id, member] : members_) {
    for (const auto& attachment : member.attachments) {
      sinks.emplace_back(attachment.sink, attachment.join_token);
    }
    // Sanctions and roles outlast the session; the floor and the way back
    // into a locked room do not.
    standings_[member.account_id] = standing_while_away(member, 0);
  }
  for (auto& [account, standing] : standings_) {
    standing.has_floor = false;
    standing.left_ms = 0;
  }
  for (auto& waiting : waiting_) {
    PrivateEvent denied = private_event(now_ms);
    denied.mutable_admission()->set_admitted(false);
    send_private(waiting.joiner.sink, denied);
    sinks.emplace_back(waiting.joiner.sink, waiting.joiner.join_token);
  }
  members_.clear();
  member_of_.clear();
  waiting_.clear();
  history_.clear();
  if (output_) output_->history_cleared = true;  // deleted from the store too
  hand_queue_.clear();
  round_.Clear();
  pinned_.clear();
  // Open support alerts are not the session's to take along: a call for
  // help stays open until a facilitator resolves it.
  facilitator_left_ms_.reset();
  for (auto& [sink, join_token] : sinks) tell_removed(sink, join_token);
  return response(seq);
}

}  // namespace circle::core
