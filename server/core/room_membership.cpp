// Room membership: joining, the waiting room, leaving, and accounts' standing while away.
#include <algorithm>
#include <utility>

#include "core/policy.hpp"
#include "core/room.hpp"
#include "core/room_internal.hpp"

namespace circle::core {

using namespace circle::v1;

std::vector<std::weak_ptr<EventSink>> Room::connections() const {
  std::vector<std::weak_ptr<EventSink>> all;
  all.reserve(member_of_.size() + waiting_.size());
  for (const auto& [member_id, member] : members_) {
    for (const auto& attachment : member.attachments) all.push_back(attachment.sink);
  }
  for (const auto& waiting : waiting_) all.push_back(waiting.joiner.sink);
  return all;
}

std::optional<std::uint64_t> Room::join_token_of(ConnectionId connection) const {
  if (auto member = member_of_.find(connection); member != member_of_.end()) {
    for (const auto& attachment : members_.at(member->second).attachments) {
      if (attachment.connection == connection) return attachment.join_token;
    }
  }
  for (const auto& waiting : waiting_) {
    if (waiting.joiner.connection == connection) return waiting.joiner.join_token;
  }
  return std::nullopt;
}

std::vector<ConnectionId> Room::connection_ids() const {
  std::vector<ConnectionId> all;
  all.reserve(member_of_.size() + waiting_.size());
  for (const auto& [member_id, member] : members_) {
    for (const auto& attachment : member.attachments) all.push_back(attachment.connection);
  }
  for (const auto& waiting : waiting_) all.push_back(waiting.joiner.connection);
  return all;
}

bool Room::is_waiting(ConnectionId connection) const {
  return std::any_of(waiting_.begin(), waiting_.end(),
                     [&](const Waiting& w) { return w.joiner.connection == connection; });
}

Room::Member* Room::find_member(std::uint64_t member_id) {
  auto found = members_.find(member_id);
  return found == members_.end() ? nullptr : &found->second;
}

Room::Member* Room::find_connection(ConnectionId connection) {
  auto found = member_of_.find(connection);
  return found == member_of_.end() ? nullptr : find_member(found->second);
}

Room::Member* Room::find_account(const std::string& account_id) {
  for (auto& [member_id, member] : members_) {
    if (member.account_id == account_id) return &member;
  }
  return nullptr;
}

bool Room::anyone_facilitating() const {
  return std::any_of(members_.begin(), members_.end(),
                     [](const auto& entry) { return is_facilitator(entry.second.view.role()); });
}

bool Room::has_present_facilitator() const {
  return std::any_of(members_.begin(), members_.end(), [](const auto& entry) {
    return entry.second.view.role() == ROLE_FACILITATOR;
  });
}

bool Room::Standing::returning(std::int64_t now_ms, std::int64_t window_ms) const {
  return present_when_stored || (left_ms > 0 && now_ms - left_ms <= window_ms);
}

bool Room::may_return(const std::string& account, std::int64_t now_ms) const {
  auto found = standings_.find(account);
  return found != standings_.end() &&
         found->second.returning(now_ms, limits_->reconnect_window_seconds * 1000LL);
}

void Room::forget_stale_standings(std::int64_t now_ms) {
  if (standings_.size() < 2 * standings_after_last_sweep_ + 64) return;
  std::erase_if(standings_, [&](const auto& entry) {
    const auto& [account, standing] = entry;
    const bool still_muted =
        standing.muted && (standing.muted_until_ms == 0 || standing.muted_until_ms > now_ms);
    return !still_muted && !standing.has_floor && !standing.observer &&
           !standing.returning(now_ms, limits_->reconnect_window_seconds * 1000LL);
  });
  standings_after_last_sweep_ = standings_.size();
}

Role Room::role_on_join(const Joiner& joiner) const {
  if (joiner.is_admin) return ROLE_ADMIN;
  if (!facilitator_account_.empty() && joiner.account_id == facilitator_account_ &&
      !has_present_facilitator()) {
    return ROLE_FACILITATOR;
  }
  if (cofacilitator_accounts_.contains(joiner.account_id)) return ROLE_CO_FACILITATOR;
  if (auto standing = standings_.find(joiner.account_id);
      standing != standings_.end() && standing->second.observer) {
    return ROLE_OBSERVER;
  }
  return ROLE_PARTICIPANT;
}

Result<JoinOutcome> Room::join(const Joiner& joiner, std::int64_t now_ms) {
  if (member_of_.contains(joiner.connection) || is_waiting(joiner.connection)) {
    return Refusal{ERROR_CODE_ALREADY_IN_ROOM,
                   "join: this connection is already in room '" + room_id_ + "'"};
  }
  // The account is here already (a second device, or a reconnect before the
  // old connection's close arrived): it joins as that member.
  if (find_account(joiner.account_id)) {
    return JoinOutcome{.snapshot = enter(joiner, now_ms), .waiting = false};
  }
  const Role role = role_on_join(joiner);
  if (!joiner.is_admin && banned_accounts_.contains(joiner.account_id)) {
    return Refusal{ERROR_CODE_PERMISSION_DENIED, "join: you are banned from this room"};
  }
  if (auto refused = check_invite(joiner, now_ms)) return *refused;
  // Someone who was in the session and left or dropped within the reconnect
  // window comes back without asking: a lock or a waiting room keeps new
  // people out, not the group's own members.
  const bool returning = may_return(joiner.account_id, now_ms);
  if (!is_facilitator(role) && !returning) {
    if (settings_.locked()) {
      return Refusal{ERROR_CODE_PERMISSION_DENIED, "join: the room is locked"};
    }
    if (settings_.paused()) {
      return Refusal{ERROR_CODE_PERMISSION_DENIED, "join: the room is paused; try again later"};
    }
  }
  if (members_.size() >= settings_.max_members()) {
    return Refusal{ERROR_CODE_LIMIT_EXCEEDED, "join: room '" + room_id_ + "' is full (" +
                                                  std::to_string(settings_.max_members()) +
                                                  " members)"};
  }
  // Last: a join refused for another reason takes nobody's place in the pace.
  if (!is_facilitator(role) && join_throttle_.take(now_ms) != RequestRateLimit::Verdict::kAllowed) {
    return Refusal{ERROR_CODE_RATE_LIMITED,
                   "join: many people are joining this room right now; try again in a moment"};
  }
  if (settings_.waiting_room() && !is_facilitator(role) && !returning) {
    Waiting waiting{.view = {}, .joiner = joiner};
    waiting.view.set_waiting_id(++last_waiting_id_);
    waiting.view.set_display_name(joiner.display_name);
    waiting.view.set_account_id(joiner.account_id);
    waiting.view.set_since_unix_ms(now_ms);
    waiting_.push_back(std::move(waiting));
    send_waiting_room(now_ms);
    return JoinOutcome{.snapshot = std::nullopt, .waiting = true};
  }
  return JoinOutcome{.snapshot = admit(joiner, now_ms), .waiting = false};
}

RoomSnapshot Room::enter(const Joiner& joiner, std::int64_t now_ms) {
  Member* member = find_account(joiner.account_id);
  if (!member) return admit(joiner, now_ms);
  member->attachments.push_back(
      {.connection = joiner.connection, .sink = joiner.sink, .join_token = joiner.join_token});
  member_of_[joiner.connection] = member->view.member_id();
  return snapshot_for(*member, now_ms);
}

RoomSnapshot Room::admit(const Joiner& joiner, std::int64_t now_ms) {
  forget_expired_history(now_ms);
  // A guest's invite counts once the guest is in: someone turned away at the
  // waiting room has not joined with it, and cannot come back through it.
  record_invite_use(joiner, now_ms);
  Member member;
  member.view.set_member_id(++last_member_id_);
  mark_state_changed();  // member ids are never reused, also after a restart
  member.view.set_display_name(joiner.display_name);
  member.view.set_role(role_on_join(joiner));
  member.account_id = joiner.account_id;
  member.is_admin = joiner.is_admin;
  member.attachments.push_back(
      {.connection = joiner.connection, .sink = joiner.sink, .join_token = joiner.join_token});
  if (member.view.role() == ROLE_FACILITATOR) facilitator_left_ms_.reset();
  // Whoever can change the agreement has agreed to it; others once per
  // agreement, across sessions.
  member.view.set_agreement_accepted(is_facilitator(member.view.role()) ||
                                     accepted_accounts_.contains(member.account_id));
  // What the account carried while it was away holds again; a timed mute
  // counted real time meanwhile.
  if (auto kept = standings_.find(member.account_id); kept != standings_.end()) {
    const auto& standing = kept->second;
    if (standing.muted && (standing.muted_until_ms == 0 || standing.muted_until_ms > now_ms)) {
      member.view.set_muted(true);
      member.view.set_muted_until_unix_ms(standing.muted_until_ms);
    }
    member.view.set_has_floor(standing.has_floor);
    standings_.erase(kept);
  }

  RoomEvent event;
  *event.mutable_member_joined()->mutable_member() = member.view;
  // Publish before adding: the joiner gets its join inside the snapshot, not twice.
  publish(std::move(event), now_ms);
  // A room paused for want of a facilitator goes on once one is here.
  if (is_facilitator(member.view.role())) resume_with_facilitator(member, now_ms);
  PrivateEvent identity = private_event(now_ms);
  identity.mutable_member_identity()->set_member_id(member.view.member_id());
  identity.mutable_member_identity()->set_account_id(member.account_id);
  send_to_facilitators(identity);
  const std::uint64_t your_id = member.view.member_id();
  member_of_[joiner.connection] = your_id;
  // Those who hide this account hide it under its new member id too.
  for (const auto& [member_id, other] : members_) {
    auto ignoring = ignores_.find(other.account_id);
    if (ignoring != ignores_.end() && ignoring->second.contains(member.account_id)) {
      PrivateEvent list = private_event(now_ms);
      for (const auto id : ignored_by(other)) list.mutable_ignore_list()->add_member_ids(id);
      list.mutable_ignore_list()->add_member_ids(your_id);
      send_private(other, list);
    }
  }
  const auto& added = members_.emplace(your_id, std::move(member)).first->second;
  return snapshot_for(added, now_ms);
}

Result<std::uint64_t> Room::leave(ConnectionId connection, LeaveReason reason,
                                  std::int64_t now_ms) {
  auto waiting = std::find_if(waiting_.begin(), waiting_.end(),
                              [&](const Waiting& w) { return w.joiner.connection == connection; });
  if (waiting != waiting_.end()) {
    waiting_.erase(waiting);
    send_waiting_room(now_ms);
    return std::uint64_t{0};
  }
  Member* member = find_connection(connection);
  if (!member) return not_in_room("leave", room_id_);
  if (member->attachments.size() > 1) {
    // Still here through another connection: the room sees nothing.
    std::erase_if(member->attachments,
                  [&](const Attachment& a) { return a.connection == connection; });
    member_of_.erase(connection);
    return std::uint64_t{0};
  }
  RoomEvent event;
  auto* left = event.mutable_member_left();
  *left->mutable_member() = member->view;
  left->set_reason(reason);
  const std::uint64_t member_id = member->view.member_id();
  const bool was_speaker = round_.active() && round_.speaker_member_id() == member_id;
  if (member->view.role() == ROLE_FACILITATOR) facilitator_left_ms_ = now_ms;
  const bool was_facilitating = is_facilitator(member->view.role());
  // The one who leaves has its reply; the others get the event.
  drop(member_id, reason == LEAVE_REASON_LEFT || reason == LEAVE_REASON_DISCONNECTED, now_ms);
  // The last of those who keep the room safe (a co-facilitator or operator
  // who stood in) left: the same grace period, then a pause.
  if (was_facilitating && !facilitator_left_ms_ && !anyone_facilitating()) {
    facilitator_left_ms_ = now_ms;
  }
  const std::uint64_t seq = publish(std::move(event), now_ms);
  if (was_speaker) advance_round(nullptr, ROUND_CHANGE_SKIPPED, now_ms);
  return seq;
}

void Room::drop(std::uint64_t member_id, bool may_return, std::int64_t now_ms) {
  auto found = members_.find(member_id);
  if (found == members_.end()) return;
  lower_hand(member_id);
  const Member& member = found->second;
  for (const auto& attachment : member.attachments) member_of_.erase(attachment.connection);
  // The account's standing stays with the room while it is away.
  standings_[member.account_id] = standing_while_away(member, may_return ? now_ms : 0);
  members_.erase(found);
  mark_state_changed();  // who may return, and the standing, survive a restart
  forget_stale_standings(now_ms);
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

}  // namespace circle::core
