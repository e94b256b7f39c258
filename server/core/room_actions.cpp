// Room actions: each checks core/policy first (a refusal changes nothing),
// then changes the room, publishes the room event where the room should see
// it (or a private event where it should not), and writes the audit log.
#include <algorithm>

#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

RoomActionResponse Room::response(std::uint64_t seq) const {
  RoomActionResponse response;
  response.set_room_id(room_id_);
  response.set_seq(seq);
  return response;
}

RoomEvent* Room::find_message(std::uint64_t seq) {
  for (auto& event : history_) {
    if (event.seq() == seq && event.has_message_posted()) return &event;
  }
  return nullptr;
}

void Room::lower_hand(std::uint64_t member_id) {
  hand_queue_.erase(std::remove(hand_queue_.begin(), hand_queue_.end(), member_id),
                    hand_queue_.end());
  if (Member* member = find_member(member_id)) member->view.set_hand_raised(false);
}

Result<RoomActionResponse> Room::act(ConnectionId connection, const RoomActionRequest& request,
                                     std::int64_t now_ms) {
  auto result = act_now(connection, request, now_ms);
  // Coarse on purpose: actions are rare next to messages, and saving the
  // room's state after each one cannot miss a change.
  if (result) mark_state_changed();
  return result;
}

Result<RoomActionResponse> Room::act_now(ConnectionId connection, const RoomActionRequest& request,
                                         std::int64_t now_ms) {
  Member* actor = find_connection(connection);
  if (!actor)
    return Refusal{ERROR_CODE_NOT_IN_ROOM,
                   "this connection has not joined room '" + room_id_ + "'"};
  const std::string& reason = request.reason();
  switch (request.action_case()) {
    case RoomActionRequest::kAcceptAgreement:
      return accept_agreement(*actor, now_ms);
    case RoomActionRequest::kSetMuted:
      return set_muted(*actor, request.set_muted(), reason, now_ms);
    case RoomActionRequest::kRemoveMember:
      return remove_member(*actor, request.remove_member().member_id(), false, reason, now_ms);
    case RoomActionRequest::kSetBanned:
      if (request.set_banned().banned()) {
        return remove_member(*actor, request.set_banned().member_id(), true, reason, now_ms);
      }
      return unban(*actor, request.set_banned().account_id(), reason, now_ms);
    case RoomActionRequest::kSetWaitingRoom:
      return set_waiting_room(*actor, request.set_waiting_room().enabled(), now_ms);
    case RoomActionRequest::kAdmit:
      return decide_admission(*actor, request.admit().waiting_id(), request.admit().admitted(),
                              now_ms);
    case RoomActionRequest::kAdmitAll:
      return decide_admission(*actor, std::nullopt, true, now_ms);
    case RoomActionRequest::kSetLocked:
      return set_locked(*actor, request.set_locked().locked(), now_ms);
    case RoomActionRequest::kSetPaused:
      return set_paused(*actor, request.set_paused().paused(), reason, now_ms);
    case RoomActionRequest::kSetIgnored:
      return set_ignored(*actor, request.set_ignored(), now_ms);
    case RoomActionRequest::kSetContentWarning:
      return set_content_warning(*actor, request.set_content_warning(), now_ms);
    case RoomActionRequest::kResolveReport:
      return resolve_report(*actor, request.resolve_report(), now_ms);
    case RoomActionRequest::kSetKeepOpen:
      return set_keep_open(*actor, request.set_keep_open().keep_open(), now_ms);
    case RoomActionRequest::kEditRoom:
      return edit_room(*actor, request.edit_room(), now_ms);
    case RoomActionRequest::kRedactMessage:
      return redact(*actor, request.redact_message().seq(), reason, now_ms);
    case RoomActionRequest::kSetPinned:
      return set_pinned(*actor, request.set_pinned().seq(), request.set_pinned().pinned(), now_ms);
    case RoomActionRequest::kSetSlowMode:
      return set_slow_mode(*actor, request.set_slow_mode().seconds(), now_ms);
    case RoomActionRequest::kSetRetention:
      return set_retention(*actor, request.set_retention().days(), now_ms);
    case RoomActionRequest::kSetModerated:
      return set_moderated(*actor, request.set_moderated().moderated(), now_ms);
    case RoomActionRequest::kSetFloor:
      return set_floor(*actor, request.set_floor().member_id(), request.set_floor().has_floor(),
                       now_ms);
    case RoomActionRequest::kSetRole:
      return set_role(*actor, request.set_role().member_id(), request.set_role().role(), reason,
                      now_ms);
    case RoomActionRequest::kHandOver:
      return hand_over(*actor, request.hand_over().member_id(), now_ms);
    case RoomActionRequest::kEndSession:
      return end_session(*actor, reason, now_ms);
    case RoomActionRequest::kSetHand:
      return set_hand(*actor, request.set_hand(), now_ms);
    case RoomActionRequest::kStartRound:
      return start_round(*actor, request.start_round(), now_ms);
    case RoomActionRequest::kEndTurn: {
      if (!round_.active() || round_.speaker_member_id() != actor->view.member_id()) {
        return Refusal{ERROR_CODE_PERMISSION_DENIED, "end turn: it is not your turn"};
      }
      return advance_round(
          actor, request.end_turn().passed() ? ROUND_CHANGE_PASSED : ROUND_CHANGE_FINISHED, now_ms);
    }
    case RoomActionRequest::kSkipTurn:
      if (auto refused = authorize(ACTION_RUN_ROUND, actor->view.role(), std::nullopt, settings_)) {
        return *refused;
      }
      return advance_round(actor, ROUND_CHANGE_SKIPPED, now_ms);
    case RoomActionRequest::kEndRound:
      if (auto refused = authorize(ACTION_RUN_ROUND, actor->view.role(), std::nullopt, settings_)) {
        return *refused;
      }
      return advance_round(actor, ROUND_CHANGE_ENDED, now_ms);
    case RoomActionRequest::kRequestSupport:
      return request_support(*actor, request.request_support().text(), now_ms);
    case RoomActionRequest::kAcknowledgeSupport:
      return acknowledge_support(*actor, request.acknowledge_support().alert_id(), now_ms);
    case RoomActionRequest::kResolveSupport:
      return resolve_support(*actor, request.resolve_support().alert_id(),
                             request.resolve_support().note(), now_ms);
    case RoomActionRequest::kSendDirectMessage:
      return direct_message(*actor, request.send_direct_message(), now_ms);
    case RoomActionRequest::kReportMessage:
      return report_message(*actor, request.report_message().seq(), reason, now_ms);
    case RoomActionRequest::kCreateInvite:
      return create_invite(*actor, request.create_invite(), now_ms);
    case RoomActionRequest::kRevokeInvite:
      return revoke_invite(*actor, request.revoke_invite().invite_id(), now_ms);
    case RoomActionRequest::kSetPermission:
      return set_permission(*actor, request.set_permission(), now_ms);
    case RoomActionRequest::ACTION_NOT_SET:
      break;
  }
  return Refusal{ERROR_CODE_INVALID_ARGUMENT, "room action: no action given"};
}

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

Room::ActionResult Room::set_waiting_room(Member& actor, bool enabled, std::int64_t now_ms) {
  if (auto refused =
          authorize(ACTION_MANAGE_WAITING_ROOM, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  settings_.set_waiting_room(enabled);
  audit(actor, enabled ? "waiting room on" : "waiting room off", nullptr, "", now_ms);
  const std::uint64_t seq = publish_settings(ROOM_CHANGE_WAITING_ROOM, &actor, now_ms);
  // Turning the waiting room off lets in everyone who was waiting.
  if (!enabled && !waiting_.empty()) decide_admission(actor, std::nullopt, true, now_ms);
  return response(seq);
}

Room::ActionResult Room::decide_admission(Member& actor, std::optional<std::uint64_t> waiting_id,
                                          bool admitted, std::int64_t now_ms) {
  if (auto refused =
          authorize(ACTION_MANAGE_WAITING_ROOM, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  std::vector<Waiting> decided;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (!waiting_id || it->view.waiting_id() == *waiting_id) {
      decided.push_back(std::move(*it));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  if (waiting_id && decided.empty()) {
    return not_found(admitted ? "admit" : "deny",
                     "no one waiting with id " + std::to_string(*waiting_id));
  }
  std::uint64_t seq = 0;
  for (auto& waiting : decided) {
    PrivateEvent outcome = private_event(now_ms);
    outcome.mutable_admission()->set_admitted(admitted);
    // Another device of a member already here does not take a new place.
    const bool here = find_account(waiting.joiner.account_id) != nullptr;
    const bool room_full = !here && members_.size() >= settings_.max_members();
    const bool banned =
        !waiting.joiner.is_admin && banned_accounts_.contains(waiting.joiner.account_id);
    if (admitted && !room_full && !banned) {
      *outcome.mutable_admission()->mutable_snapshot() = enter(waiting.joiner, now_ms);
      seq = last_seq_;
    } else {
      outcome.mutable_admission()->set_admitted(false);
    }
    send_private(waiting.joiner.sink, outcome);
    if (!outcome.admission().admitted()) {
      tell_removed(waiting.joiner.sink, waiting.joiner.join_token);
    }
    audit(actor, outcome.admission().admitted() ? "admit" : "deny", nullptr, "", now_ms,
          waiting.joiner.account_id);
  }
  send_waiting_room(now_ms);
  return response(seq);
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

Room::ActionResult Room::set_content_warning(Member& actor, const SetContentWarning& request,
                                             std::int64_t now_ms) {
  const std::uint64_t seq = request.seq();
  RoomEvent* message = seq == 0 || seq > last_seq_ ? nullptr : find_message(seq);
  if (!message || message->message_posted().text().empty()) {
    return not_found("content warning", "no recent message " + std::to_string(seq));
  }
  // The same people who may redact a message may put a warning on it.
  const auto& sender = message->message_posted().sender();
  std::optional<Role> author;
  if (sender.member_id() != actor.view.member_id()) author = sender.role();
  if (auto refused = authorize(ACTION_REDACT, actor.view.role(), author, settings_)) {
    return *refused;
  }
  message->mutable_message_posted()->set_content_warning(request.content_warning());
  if (output_) output_->rewritten.push_back(*message);
  // The audit log outlives the message: "set", not the warning's words.
  audit(actor, "content warning " + std::to_string(seq), find_member(sender.member_id()),
        request.content_warning().empty() ? "taken off" : "set", now_ms);
  RoomEvent event;
  auto* set = event.mutable_content_warning_set();
  set->set_seq(seq);
  set->set_content_warning(request.content_warning());
  *set->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::redact(Member& actor, std::uint64_t seq, const std::string& reason,
                                std::int64_t now_ms) {
  if (seq == 0 || seq > last_seq_) return not_found("redact", "no message " + std::to_string(seq));
  RoomEvent* message = find_message(seq);
  // Only messages still in history: their author decides who may redact them.
  if (!message) return not_found("redact", "no recent message " + std::to_string(seq));
  std::optional<Role> author;
  if (message && message->message_posted().sender().member_id() != actor.view.member_id()) {
    author = message->message_posted().sender().role();
  }
  if (auto refused = authorize(ACTION_REDACT, actor.view.role(), author, settings_)) {
    return *refused;
  }
  // The text is deleted, not hidden: history keeps only who and when.
  const Member* author_member =
      message ? find_member(message->message_posted().sender().member_id()) : nullptr;
  if (message) {
    // The sender's own words in its warning go with the text.
    message->mutable_message_posted()->clear_text();
    message->mutable_message_posted()->clear_content_warning();
    if (output_) output_->rewritten.push_back(*message);
  }
  pinned_.erase(seq);
  audit(actor, "redact " + std::to_string(seq), author_member, reason, now_ms);
  RoomEvent event;
  auto* redacted = event.mutable_message_redacted();
  redacted->set_seq(seq);
  *redacted->mutable_by() = actor.view;
  redacted->set_note(reason);
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::set_pinned(Member& actor, std::uint64_t seq, bool pinned,
                                    std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_PIN, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (pinned && !find_message(seq)) {
    return not_found("pin", "no recent message " + std::to_string(seq));
  }
  if (!pinned && !pinned_.contains(seq)) return not_found("unpin", "that message is not pinned");
  if (pinned) {
    pinned_.insert(seq);
  } else {
    pinned_.erase(seq);
  }
  audit(actor, pinned ? "pin" : "unpin", nullptr, "", now_ms);
  RoomEvent event;
  event.mutable_message_pinned()->set_seq(seq);
  event.mutable_message_pinned()->set_pinned(pinned);
  *event.mutable_message_pinned()->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
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

Room::ActionResult Room::set_hand(Member& actor, const SetHand& request, std::int64_t now_ms) {
  const bool own = request.member_id() == 0 || request.member_id() == actor.view.member_id();
  Member* target = own ? &actor : find_member(request.member_id());
  if (!target) return not_found("hand", "no member " + std::to_string(request.member_id()));
  if (!own) {
    if (request.raised()) {
      return Refusal{ERROR_CODE_INVALID_ARGUMENT, "raise hand: only your own hand"};
    }
    if (auto refused =
            authorize(ACTION_MODERATE, actor.view.role(), target->view.role(), settings_)) {
      return *refused;
    }
  } else if (request.raised()) {
    if (auto refused = authorize(ACTION_RAISE_HAND, actor.view.role(), std::nullopt, settings_)) {
      return *refused;
    }
    if (auto refused = check_paused(ACTION_RAISE_HAND, actor.view.role(), settings_)) {
      return *refused;
    }
    if (auto refused = check_agreement(actor, "raise hand")) return *refused;
  }
  if (target->view.hand_raised() == request.raised()) return response(0);
  if (request.raised()) {
    target->view.set_hand_raised(true);
    hand_queue_.push_back(target->view.member_id());
    if (!request.question().empty()) {
      PrivateEvent question = private_event(now_ms);
      *question.mutable_question()->mutable_from() = target->view;
      question.mutable_question()->set_text(request.question());
      send_to_facilitators(question);
    }
  } else {
    lower_hand(target->view.member_id());
  }
  return response(publish_members(
      {target}, request.raised() ? MEMBER_CHANGE_HAND_RAISED : MEMBER_CHANGE_HAND_LOWERED, &actor,
      "", now_ms));
}

Room::ActionResult Room::start_round(Member& actor, const StartRound& request,
                                     std::int64_t now_ms) {
  if (auto refused = authorize(ACTION_RUN_ROUND, actor.view.role(), std::nullopt, settings_)) {
    return *refused;
  }
  if (round_.active()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "start round: a round is already running"};
  }
  Round round;
  round.set_active(true);
  if (request.order().empty()) {
    std::vector<std::uint64_t> order;
    for (const auto& [member_id, member] : members_) {
      if (member.view.role() != ROLE_OBSERVER) order.push_back(member.view.member_id());
    }
    std::sort(order.begin(), order.end());  // member ids grow in join order
    for (auto id : order) round.add_order(id);
  } else {
    for (auto id : request.order()) {
      if (!find_member(id)) return not_found("start round", "no member " + std::to_string(id));
      round.add_order(id);
    }
  }
  if (round.order().empty()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "start round: no one here to take a turn"};
  }
  round.set_speaker_member_id(round.order(0));
  round_ = round;
  audit(actor, "start round", nullptr, "", now_ms);
  RoomEvent event;
  *event.mutable_round_updated()->mutable_round() = round_;
  event.mutable_round_updated()->set_change(ROUND_CHANGE_STARTED);
  *event.mutable_round_updated()->mutable_by() = actor.view;
  return response(publish(std::move(event), now_ms));
}

Room::ActionResult Room::advance_round(Member* actor, RoundChange change, std::int64_t now_ms) {
  if (!round_.active()) {
    return Refusal{ERROR_CODE_INVALID_ARGUMENT, "round: no round is running"};
  }
  const std::uint64_t previous = round_.speaker_member_id();
  std::uint64_t next = 0;
  if (change != ROUND_CHANGE_ENDED) {
    // The next speaker still present, after the current one in the order.
    const auto& order = round_.order();
    auto position = std::find(order.begin(), order.end(), previous);
    for (auto it = position == order.end() ? order.end() : std::next(position); it != order.end();
         ++it) {
      if (find_member(*it)) {
        next = *it;
        break;
      }
    }
  }
  round_.set_speaker_member_id(next);
  if (next == 0) round_.set_active(false);
  RoomEvent event;
  auto* updated = event.mutable_round_updated();
  *updated->mutable_round() = round_;
  updated->set_change(change);
  updated->set_previous_speaker_member_id(previous);
  if (actor) *updated->mutable_by() = actor->view;
  const std::uint64_t seq = publish(std::move(event), now_ms);
  if (!round_.active()) round_.Clear();
  return response(seq);
}

Room::ActionResult Room::direct_message(Member& actor, const SendDirectMessage& request,
                                        std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* message = event.mutable_direct_message();
  *message->mutable_from() = actor.view;
  message->set_to_member_id(request.member_id());
  message->set_text(request.text());
  if (request.member_id() == 0) {
    // To the facilitators: always allowed.
    send_to_facilitators(event);
    return response(0);
  }
  Member* target = find_member(request.member_id());
  if (!target)
    return not_found("direct message", "no member " + std::to_string(request.member_id()));
  if (!is_facilitator(target->view.role())) {
    if (auto refused =
            authorize(ACTION_DIRECT_MESSAGE, actor.view.role(), std::nullopt, settings_)) {
      return *refused;
    }
    if (auto refused = check_paused(ACTION_DIRECT_MESSAGE, actor.view.role(), settings_)) {
      return *refused;
    }
    if (auto refused = check_agreement(actor, "direct message")) return *refused;
  }
  send_private(*target, event);
  return response(0);
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
