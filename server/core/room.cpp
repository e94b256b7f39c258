// Room: membership, posting, delivery and time. The actions are in
// room_actions.cpp.
#include "core/room.hpp"

#include <algorithm>
#include <utility>

#include "core/policy.hpp"

namespace circle::core {

using namespace circle::v1;

namespace {
Refusal not_in_room(const std::string& action, const std::string& room_id) {
  return Refusal{ERROR_CODE_NOT_IN_ROOM,
                 action + ": this connection has not joined room '" + room_id + "'"};
}
}  // namespace

Room::Room(std::string room_id, std::string title, RoomKind kind, std::string creator_account,
           std::int64_t created_at_ms, const Limits& limits, AuditSink* audit)
    : room_id_(std::move(room_id)),
      created_at_ms_(created_at_ms),
      limits_(&limits),
      audit_(audit),
      settings_(default_settings(kind, limits.max_room_members)),
      facilitator_account_(std::move(creator_account)) {
  settings_.set_title(std::move(title));
}

Room::Room(const StoredRoomState& state, std::uint64_t last_seq, std::vector<RoomEvent> recent,
           const Limits& limits, AuditSink* audit)
    : room_id_(state.room_id()),
      created_at_ms_(state.created_at_unix_ms()),
      limits_(&limits),
      audit_(audit),
      settings_(state.settings()),
      facilitator_account_(state.facilitator_account()),
      last_seq_(last_seq),
      last_member_id_(state.last_member_id()),
      banned_accounts_(state.banned_accounts().begin(), state.banned_accounts().end()),
      cofacilitator_accounts_(state.cofacilitator_accounts().begin(),
                              state.cofacilitator_accounts().end()),
      accepted_accounts_(state.agreement_accepted_accounts().begin(),
                         state.agreement_accepted_accounts().end()),
      pinned_(state.pinned_seqs().begin(), state.pinned_seqs().end()),
      last_alert_id_(state.last_alert_id()),
      last_report_id_(state.last_report_id()) {
  for (const auto& alert : state.open_alerts()) open_alerts_.emplace(alert.alert_id(), alert);
  for (const auto& report : state.open_reports()) open_reports_.emplace(report.report_id(), report);
  for (const auto& invite : state.invites()) invites_.emplace(invite.invite().invite_id(), invite);
  for (const auto& kept : state.ignores()) {
    ignores_[kept.account_id()].insert(kept.ignored_accounts().begin(),
                                       kept.ignored_accounts().end());
  }
  // Nobody is present after a restart: a locked or moderated room stays so,
  // but no one holds the floor and no round is running.
  for (auto& event : recent) history_.push_back(std::move(event));
  while (history_.size() > limits_->snapshot_history_events) history_.pop_front();
  for (const auto& kept : state.standings()) {
    standings_[kept.account_id()] = Standing{.muted = kept.muted(),
                                             .muted_until_ms = kept.muted_until_unix_ms(),
                                             .has_floor = kept.has_floor(),
                                             .observer = kept.role() == ROLE_OBSERVER,
                                             .left_ms = kept.left_unix_ms(),
                                             .present_when_stored = kept.present()};
  }
  standings_after_last_sweep_ = standings_.size();
}

void Room::connections_lost(std::int64_t now_ms) {
  for (auto& [account, standing] : standings_) {
    if (!standing.present_when_stored) continue;
    standing.present_when_stored = false;
    standing.left_ms = now_ms;
  }
  // Nobody is here after a restart: the facilitator has the grace period to
  // come back (also one who had dropped just before the crash), then a
  // co-facilitator takes over or a facilitated room pauses.
  if (!facilitator_account_.empty()) facilitator_left_ms_ = now_ms;
}

Room::Room(const RoomReplica& replica, const Limits& limits, AuditSink* audit)
    : Room(replica.state(), replica.last_seq(),
           {replica.history().begin(), replica.history().end()}, limits, audit) {
  last_waiting_id_ = replica.last_waiting_id();
  last_alert_id_ = std::max(last_alert_id_, replica.last_alert_id());
  if (replica.facilitator_left_unix_ms() != 0) {
    facilitator_left_ms_ = replica.facilitator_left_unix_ms();
  }
  for (const auto& kept : replica.members()) {
    Member member{.view = kept.view(),
                  .account_id = kept.account_id(),
                  .is_admin = kept.is_admin(),
                  .attachments = {},
                  .last_post_ms = kept.last_post_unix_ms()};
    for (const auto& connection : kept.connections()) {
      member.attachments.push_back({.connection = connection.connection(),
                                    .sink = {},
                                    .join_token = connection.join_token()});
    }
    if (kept.connections().empty()) {  // a copy from before several connections
      member.attachments.push_back(
          {.connection = kept.connection(), .sink = {}, .join_token = kept.join_token()});
    }
    const auto member_id = member.view.member_id();
    for (const auto& attachment : member.attachments) member_of_[attachment.connection] = member_id;
    standings_.erase(member.account_id);  // present: its standing is its view
    members_.emplace(member_id, std::move(member));
  }
  for (const auto& kept : replica.waiting()) {
    waiting_.push_back({.view = kept.view(),
                        .joiner = {.connection = kept.connection(),
                                   .display_name = kept.display_name(),
                                   .account_id = kept.account_id(),
                                   .is_admin = kept.is_admin(),
                                   .sink = {},
                                   .join_token = kept.join_token()}});
  }
  hand_queue_.assign(replica.hand_queue().begin(), replica.hand_queue().end());
  round_ = replica.round();
  for (const auto& alert : replica.open_alerts()) open_alerts_.emplace(alert.alert_id(), alert);
  for (const auto& sent : replica.sent()) {
    remember_sent(sent.account_id(), sent.client_message_id(), sent.seq(), sent.time_unix_ms());
  }
  forgot_sent_ = replica.forgot_sent();
  const auto& throttle = replica.join_throttle();
  join_throttle_.restore({.tokens_milli = throttle.tokens_milli(),
                          .last_ms = throttle.last_unix_ms(),
                          .refused_in_a_row = throttle.refused_in_a_row()});
}

RoomReplica Room::replica(std::uint64_t log_position) const {
  RoomReplica replica;
  replica.set_log_position(log_position);
  *replica.mutable_state() = durable_state();
  replica.set_last_seq(last_seq_);
  replica.set_last_waiting_id(last_waiting_id_);
  replica.set_facilitator_left_unix_ms(facilitator_left_ms_.value_or(0));
  for (const auto& [member_id, member] : members_) {
    auto& kept = *replica.add_members();
    *kept.mutable_view() = member.view;
    kept.set_account_id(member.account_id);
    kept.set_is_admin(member.is_admin);
    kept.set_last_post_unix_ms(member.last_post_ms);
    for (const auto& attachment : member.attachments) {
      auto& connection = *kept.add_connections();
      connection.set_connection(attachment.connection);
      connection.set_join_token(attachment.join_token);
    }
  }
  for (const auto& waiting : waiting_) {
    auto& kept = *replica.add_waiting();
    *kept.mutable_view() = waiting.view;
    kept.set_connection(waiting.joiner.connection);
    kept.set_display_name(waiting.joiner.display_name);
    kept.set_account_id(waiting.joiner.account_id);
    kept.set_is_admin(waiting.joiner.is_admin);
    kept.set_join_token(waiting.joiner.join_token);
  }
  for (const auto& event : history_) *replica.add_history() = event;
  for (const auto member_id : hand_queue_) replica.add_hand_queue(member_id);
  *replica.mutable_round() = round_;
  for (const auto& key : sent_order_) {
    const auto& ack = sent_.at(key);
    auto& sent = *replica.add_sent();
    sent.set_account_id(key.first);
    sent.set_client_message_id(key.second);
    sent.set_seq(ack.seq());
    sent.set_time_unix_ms(ack.server_time_unix_ms());
  }
  replica.set_forgot_sent(forgot_sent_);
  const auto throttle = join_throttle_.state();
  replica.mutable_join_throttle()->set_tokens_milli(throttle.tokens_milli);
  replica.mutable_join_throttle()->set_last_unix_ms(throttle.last_ms);
  replica.mutable_join_throttle()->set_refused_in_a_row(throttle.refused_in_a_row);
  return replica;
}

StoredRoomState Room::durable_state() const {
  StoredRoomState state;
  state.set_room_id(room_id_);
  state.set_created_at_unix_ms(created_at_ms_);
  *state.mutable_settings() = settings_;
  state.set_facilitator_account(facilitator_account_);
  for (const auto& account : cofacilitator_accounts_) state.add_cofacilitator_accounts(account);
  for (const auto& account : banned_accounts_) state.add_banned_accounts(account);
  for (const auto& account : accepted_accounts_) state.add_agreement_accepted_accounts(account);
  state.set_last_member_id(last_member_id_);
  for (const auto seq : pinned_) state.add_pinned_seqs(seq);
  for (const auto& [member_id, member] : members_) *state.add_standings() = standing_of(member);
  for (const auto& [id, alert] : open_alerts_) *state.add_open_alerts() = alert;
  state.set_last_alert_id(last_alert_id_);
  for (const auto& [id, report] : open_reports_) *state.add_open_reports() = report;
  state.set_last_report_id(last_report_id_);
  for (const auto& [id, invite] : invites_) *state.add_invites() = invite;
  for (const auto& [account, ignored] : ignores_) {
    auto& kept = *state.add_ignores();
    kept.set_account_id(account);
    for (const auto& other : ignored) kept.add_ignored_accounts(other);
  }
  for (const auto& [account, standing] : standings_) {
    auto& kept = *state.add_standings();
    kept.set_account_id(account);
    kept.set_muted(standing.muted);
    kept.set_muted_until_unix_ms(standing.muted_until_ms);
    kept.set_has_floor(standing.has_floor);
    if (standing.observer) kept.set_role(ROLE_OBSERVER);
    kept.set_present(standing.present_when_stored);
    kept.set_left_unix_ms(standing.left_ms);
  }
  return state;
}

AccountStanding Room::standing_of(const Member& member) {
  AccountStanding standing;
  standing.set_account_id(member.account_id);
  standing.set_muted(member.view.muted());
  standing.set_muted_until_unix_ms(member.view.muted_until_unix_ms());
  standing.set_has_floor(member.view.has_floor());
  if (member.view.role() == ROLE_OBSERVER) standing.set_role(ROLE_OBSERVER);
  standing.set_present(true);
  return standing;
}

Room::Standing Room::standing_while_away(const Member& member, std::int64_t left_ms) {
  return Standing{.muted = member.view.muted(),
                  .muted_until_ms = member.view.muted_until_unix_ms(),
                  .has_floor = member.view.has_floor(),
                  .observer = member.view.role() == ROLE_OBSERVER,
                  .left_ms = left_ms,
                  .present_when_stored = false};
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

void Room::remember_sent(const std::string& account, const std::string& client_message_id,
                         std::uint64_t seq, std::int64_t time_ms) {
  if (client_message_id.empty() || limits_->remembered_client_message_ids == 0) return;
  auto key = std::make_pair(account, client_message_id);
  SendMessageResponse ack;
  ack.set_room_id(room_id_);
  ack.set_seq(seq);
  ack.set_server_time_unix_ms(time_ms);
  if (!sent_.insert_or_assign(key, ack).second) return;
  sent_order_.push_back(std::move(key));
  while (sent_order_.size() > limits_->remembered_client_message_ids) {
    sent_.erase(sent_order_.front());
    sent_order_.pop_front();
    forgot_sent_ = true;
  }
}

std::int64_t Room::history_kept_ms() const {
  const std::int64_t days = settings_.history_retention_days();
  return days ? days * 86'400'000
              : static_cast<std::int64_t>(limits_->reconnect_window_seconds) * 1000;
}

void Room::forget_expired_history(std::int64_t now_ms) {
  const std::int64_t oldest_kept_ms = now_ms - history_kept_ms();
  while (!history_.empty() && history_.front().server_time_unix_ms() < oldest_kept_ms) {
    history_.pop_front();
  }
}

void ActionOutput::deliver_all() const {
  for (const auto& delivery : deliveries) {
    auto sink = delivery.sink.lock();
    if (!sink) continue;
    if (delivery.frame) {
      sink->deliver(delivery.frame);
    } else {
      sink->removed_from_room(room_id, delivery.join_token);
    }
  }
}

void Room::deliver_to(const std::weak_ptr<EventSink>& sink, const circle::wire::Frame& frame) {
  if (output_) {
    output_->deliveries.push_back({sink, frame, 0});
  } else if (auto target = sink.lock()) {
    target->deliver(frame);
  }
}

void Room::tell_removed(const std::weak_ptr<EventSink>& sink, std::uint64_t join_token) {
  if (output_) {
    output_->deliveries.push_back({sink, nullptr, join_token});
  } else if (auto target = sink.lock()) {
    target->removed_from_room(room_id_, join_token);
  }
}

void Room::reply(const std::weak_ptr<EventSink>& sink, circle::wire::Frame frame) {
  if (output_) output_->reply = output_->deliveries.size();
  deliver_to(sink, frame);
}

void Room::forget_unsaved(const ActionOutput& output) {
  for (const auto& event : output.events) {
    std::erase_if(history_, [&](const RoomEvent& kept) { return kept.seq() == event.seq; });
    if (event.client_message_id.empty()) continue;
    const auto key = std::make_pair(event.sender_account, event.client_message_id);
    if (sent_.erase(key)) std::erase(sent_order_, key);
  }
}

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

void Room::continue_numbering_of(const Room& previous) {
  last_seq_ = std::max(last_seq_, previous.last_seq_);
  last_member_id_ = std::max(last_member_id_, previous.last_member_id_);
  last_waiting_id_ = std::max(last_waiting_id_, previous.last_waiting_id_);
  last_alert_id_ = std::max(last_alert_id_, previous.last_alert_id_);
  last_report_id_ = std::max(last_report_id_, previous.last_report_id_);
}

RoomInfo Room::info() const {
  RoomInfo info;
  info.set_room_id(room_id_);
  info.set_title(settings_.title());
  info.set_member_count(static_cast<std::uint32_t>(members_.size()));
  info.set_created_at_unix_ms(created_at_ms_);
  info.set_kind(settings_.kind());
  info.set_locked(settings_.locked());
  return info;
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

std::vector<SupportAlert> Room::escalated_alerts() const {
  std::vector<SupportAlert> escalated;
  for (const auto& [id, alert] : open_alerts_) {
    if (alert.escalated_at_unix_ms() != 0) escalated.push_back(alert);
  }
  return escalated;
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

RoomSnapshot Room::snapshot_for(const Member& member, std::int64_t now_ms) const {
  const bool sees_private = is_facilitator(member.view.role());
  RoomSnapshot snapshot;
  *snapshot.mutable_room() = info();
  for (const auto& [member_id, m] : members_) {
    *snapshot.add_members() = m.view;
    if (sees_private) {
      auto* identity_entry = snapshot.add_identities();
      identity_entry->set_member_id(member_id);
      identity_entry->set_account_id(m.account_id);
    }
  }
  for (const auto& past : history_) *snapshot.add_recent_events() = past;
  snapshot.set_last_seq(last_seq_);
  snapshot.set_your_member_id(member.view.member_id());
  *snapshot.mutable_settings() = settings_;
  for (auto id : hand_queue_) snapshot.add_hand_queue(id);
  if (round_.active()) *snapshot.mutable_round() = round_;
  for (auto seq : pinned_) snapshot.add_pinned_seqs(seq);
  if (sees_private) {
    for (const auto& waiting : waiting_) *snapshot.add_waiting() = waiting.view;
    for (const auto& [id, alert] : open_alerts_) *snapshot.add_open_alerts() = alert;
    for (const auto& [id, report] : open_reports_) *snapshot.add_open_reports() = report;
    for (const auto& [id, invite] : invites_) {
      if (invite_open(invite, now_ms)) *snapshot.add_invites() = invite.invite();
    }
  }
  for (const auto id : ignored_by(member)) snapshot.add_ignored_member_ids(id);
  for (const auto& [id, alert] : open_alerts_) {
    if (alert.account_id() == member.account_id) *snapshot.add_your_open_alerts() = alert;
  }
  return snapshot;
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

Result<SendMessageResponse> Room::post(ConnectionId connection, const std::string& text,
                                       const std::string& client_message_id, std::int64_t now_ms,
                                       const std::string& content_warning) {
  Member* sender = find_connection(connection);
  if (!sender) return not_in_room("send message", room_id_);
  if (!client_message_id.empty()) {
    // A retry (the ack was lost with a connection): the original ack, and
    // nobody receives the message twice.
    auto earlier = sent_.find({sender->account_id, client_message_id});
    if (earlier != sent_.end()) {
      if (output_) output_->repeated_sends.push_back(earlier->first);
      return earlier->second;
    }
  }
  const auto& view = sender->view;
  const SpeakerState speaker{
      .role = view.role(),
      .muted = view.muted(),
      .muted_for_ms = view.muted_until_unix_ms() > 0 ? view.muted_until_unix_ms() - now_ms : 0,
      .hand_raised = view.hand_raised(),
      .has_floor = view.has_floor(),
      .agreement_accepted = view.agreement_accepted(),
      .round_active = round_.active(),
      .is_round_speaker = round_.active() && round_.speaker_member_id() == view.member_id()};
  if (auto refused = authorize_post(speaker, settings_)) return *refused;
  if (settings_.slow_mode_seconds() > 0 && !is_facilitator(view.role()) &&
      sender->last_post_ms > 0) {
    const std::int64_t wait_ms =
        sender->last_post_ms + settings_.slow_mode_seconds() * 1000LL - now_ms;
    if (wait_ms > 0) {
      return Refusal{ERROR_CODE_RATE_LIMITED, "send message: slow mode is on; wait " +
                                                  std::to_string((wait_ms + 999) / 1000) +
                                                  " more seconds"};
    }
  }
  sender->last_post_ms = now_ms;

  RoomEvent event;
  auto* posted = event.mutable_message_posted();
  *posted->mutable_sender() = view;
  posted->set_text(text);
  posted->set_client_message_id(client_message_id);
  posted->set_content_warning(content_warning);
  SendMessageResponse ack;
  ack.set_room_id(room_id_);
  posting_account_ = sender->account_id;
  ack.set_seq(publish(std::move(event), now_ms));
  posting_account_.clear();
  remember_sent(sender->account_id, client_message_id, ack.seq(), now_ms);
  ack.set_server_time_unix_ms(now_ms);
  return ack;
}

std::uint64_t Room::publish(RoomEvent event, std::int64_t now_ms) {
  event.set_room_id(room_id_);
  event.set_seq(++last_seq_);
  event.set_server_time_unix_ms(now_ms);

  ServerMessage envelope;
  *envelope.mutable_room_event() = event;
  const circle::wire::Frame frame = circle::wire::encode(envelope);
  for (const auto& [member_id, member] : members_) deliver_to_member(member, frame);
  if (output_) {
    const bool posted = event.has_message_posted();
    output_->events.push_back(
        {.seq = event.seq(),
         .time_ms = now_ms,
         .sender_account = posted ? posting_account_ : std::string(),
         .client_message_id = posted ? event.message_posted().client_message_id() : "",
         .frame = frame});
  }

  history_.push_back(std::move(event));
  while (history_.size() > limits_->snapshot_history_events) history_.pop_front();
  forget_expired_history(now_ms);
  return last_seq_;
}

std::uint64_t Room::publish_members(std::vector<const Member*> members, MemberChange change,
                                    const Member* by, const std::string& note,
                                    std::int64_t now_ms) {
  RoomEvent event;
  auto* updated = event.mutable_member_updated();
  for (const Member* member : members) *updated->add_members() = member->view;
  updated->set_change(change);
  if (by) *updated->mutable_by() = by->view;
  updated->set_note(note);
  return publish(std::move(event), now_ms);
}

std::uint64_t Room::publish_settings(RoomChange change, const Member* by, std::int64_t now_ms) {
  RoomEvent event;
  auto* updated = event.mutable_room_updated();
  *updated->mutable_settings() = settings_;
  updated->set_change(change);
  if (by) *updated->mutable_by() = by->view;
  return publish(std::move(event), now_ms);
}

PrivateEvent Room::private_event(std::int64_t now_ms) const {
  PrivateEvent event;
  event.set_room_id(room_id_);
  event.set_server_time_unix_ms(now_ms);
  return event;
}

void Room::send_private(const std::weak_ptr<EventSink>& sink, const PrivateEvent& event) {
  if (sink.expired()) return;
  ServerMessage envelope;
  *envelope.mutable_private_event() = event;
  deliver_to(sink, circle::wire::encode(envelope));
}

void Room::send_private(const Member& member, const PrivateEvent& event) {
  ServerMessage envelope;
  *envelope.mutable_private_event() = event;
  circle::wire::Frame frame;  // encoded once, only if someone receives it
  for (const auto& attachment : member.attachments) {
    if (attachment.sink.expired()) continue;
    if (!frame) frame = circle::wire::encode(envelope);
    deliver_to(attachment.sink, frame);
  }
}

void Room::deliver_to_member(const Member& member, const circle::wire::Frame& frame) {
  for (const auto& attachment : member.attachments) deliver_to(attachment.sink, frame);
}

void Room::send_to_facilitators(const PrivateEvent& event) {
  ServerMessage envelope;
  *envelope.mutable_private_event() = event;
  circle::wire::Frame frame;  // encoded once, only if someone receives it
  for (const auto& [member_id, member] : members_) {
    if (!is_facilitator(member.view.role())) continue;
    for (const auto& attachment : member.attachments) {
      if (attachment.sink.expired()) continue;
      if (!frame) frame = circle::wire::encode(envelope);
      deliver_to(attachment.sink, frame);
    }
  }
}

void Room::brief_new_facilitator(const Member& member, std::int64_t now_ms) {
  if (!waiting_.empty()) {
    PrivateEvent waiting = private_event(now_ms);
    auto* list = waiting.mutable_waiting_room();
    for (const auto& person : waiting_) *list->add_waiting() = person.view;
    send_private(member, waiting);
  }
  for (const auto& [id, alert] : open_alerts_) {
    PrivateEvent event = private_event(now_ms);
    *event.mutable_support_alert() = alert;
    send_private(member, event);
  }
  for (const auto& [id, report] : open_reports_)
    send_private(member, reported_event(report, now_ms));
  for (const auto& [member_id, other] : members_) {
    PrivateEvent identity = private_event(now_ms);
    identity.mutable_member_identity()->set_member_id(other.view.member_id());
    identity.mutable_member_identity()->set_account_id(other.account_id);
    send_private(member, identity);
  }
}

Check Room::check_agreement(const Member& member, const std::string& action) const {
  if (settings_.agreement().empty() || member.view.agreement_accepted()) return std::nullopt;
  return Refusal{ERROR_CODE_AGREEMENT_REQUIRED, action + ": accept the group agreement first"};
}

void Room::send_waiting_room(std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* list = event.mutable_waiting_room();
  for (const auto& waiting : waiting_) *list->add_waiting() = waiting.view;
  send_to_facilitators(event);
}

void Room::audit(const Member& actor, const std::string& action, const Member* target,
                 const std::string& reason, std::int64_t now_ms, std::string target_account) {
  if (!output_ && !audit_) return;
  AuditEntry entry;
  entry.time_unix_ms = now_ms;
  entry.room_id = room_id_;
  entry.action = action;
  entry.actor_account = actor.account_id;
  entry.actor_member_id = actor.view.member_id();
  if (target) {
    entry.target_account = target->account_id;
    entry.target_member_id = target->view.member_id();
  } else {
    entry.target_account = std::move(target_account);
  }
  entry.reason = reason;
  if (output_) {
    output_->audit.push_back(std::move(entry));
  } else {
    audit_->record(entry);
  }
}

void Room::audit_by_server(const std::string& action, const std::string& target_account,
                           const std::string& reason, std::int64_t now_ms) {
  if (!output_ && !audit_) return;
  AuditEntry entry{.time_unix_ms = now_ms,
                   .room_id = room_id_,
                   .action = action,
                   .actor_account = "server",
                   .actor_member_id = 0,
                   .target_account = target_account,
                   .target_member_id = 0,
                   .reason = reason};
  if (output_) {
    output_->audit.push_back(std::move(entry));
  } else {
    audit_->record(entry);
  }
}

std::optional<std::int64_t> Room::next_deadline() const {
  std::optional<std::int64_t> next;
  auto consider = [&](std::int64_t when) {
    if (!next || when < *next) next = when;
  };
  for (const auto& [member_id, member] : members_) {
    if (member.view.muted() && member.view.muted_until_unix_ms() > 0) {
      consider(member.view.muted_until_unix_ms());
    }
  }
  if (facilitator_left_ms_) {
    consider(*facilitator_left_ms_ + limits_->facilitator_grace_seconds * 1000LL);
  }
  // History leaves by itself once it is older than the room keeps it (an
  // ephemeral room's messages, after the reconnect window), also from a
  // room nobody speaks in; a little late, so that a busy room is woken for
  // it at most once per kHistoryExpiryStepMs.
  if (!history_.empty()) {
    consider(history_.front().server_time_unix_ms() + history_kept_ms() + kHistoryExpiryStepMs);
  }
  for (const auto& [id, alert] : open_alerts_) {
    if (alert.acknowledged_at_unix_ms() == 0 && alert.escalated_at_unix_ms() == 0) {
      consider(alert.raised_at_unix_ms() + limits_->support_escalate_after_seconds * 1000LL);
    }
  }
  return next;
}

void Room::tick(std::int64_t now_ms) {
  forget_expired_history(now_ms);
  for (auto& [id, alert] : open_alerts_) {
    if (alert.acknowledged_at_unix_ms() == 0 && alert.escalated_at_unix_ms() == 0 &&
        alert.raised_at_unix_ms() + limits_->support_escalate_after_seconds * 1000LL <= now_ms) {
      escalate(alert, ESCALATION_REASON_NOT_ACKNOWLEDGED, now_ms);
    }
  }
  for (auto& [member_id, member] : members_) {
    auto& view = member.view;
    if (view.muted() && view.muted_until_unix_ms() > 0 && view.muted_until_unix_ms() <= now_ms) {
      view.set_muted(false);
      view.set_muted_until_unix_ms(0);
      publish_members({&member}, MEMBER_CHANGE_UNMUTED, nullptr, "the mute ended", now_ms);
    }
  }
  if (facilitator_left_ms_ &&
      *facilitator_left_ms_ + limits_->facilitator_grace_seconds * 1000LL <= now_ms) {
    facilitator_left_ms_.reset();
    if (has_present_facilitator()) return;
    // The longest-present co-facilitator takes over; in a peer circle, with
    // no co-facilitator, the longest-present member does.
    Member* next = nullptr;
    for (auto& [member_id, member] : members_) {
      const bool eligible =
          member.view.role() == ROLE_CO_FACILITATOR ||
          (settings_.kind() == ROOM_KIND_PEER_CIRCLE && member.view.role() == ROLE_PARTICIPANT);
      if (!eligible) continue;
      const bool better = !next || (member.view.role() > next->view.role()) ||
                          (member.view.role() == next->view.role() &&
                           member.view.member_id() < next->view.member_id());
      if (better) next = &member;
    }
    if (next) {
      transfer_facilitation(nullptr, *next, nullptr, now_ms);
    } else if (!anyone_facilitating()) {  // an operator present keeps it open
      pause_without_facilitator(now_ms);
    }
  }
}

void Room::pause_without_facilitator(std::int64_t now_ms) {
  // A peer circle hands facilitation on, and a one-to-one room's pair is the
  // whole room: only facilitated groups and talks wait for a facilitator.
  const bool facilitated =
      settings_.kind() == ROOM_KIND_FACILITATED_GROUP || settings_.kind() == ROOM_KIND_TALK;
  if (!facilitated || settings_.keep_open_without_facilitator() || settings_.paused()) return;
  settings_.set_paused(true);
  settings_.set_pause_cause(PAUSE_CAUSE_NO_FACILITATOR);
  mark_state_changed();  // a crash now must not bring the room back open
  audit_by_server("pause", "", "no facilitator present", now_ms);
  publish_settings(ROOM_CHANGE_PAUSE, nullptr, now_ms);
}

void Room::resume_with_facilitator(const Member& facilitator, std::int64_t now_ms) {
  if (!settings_.paused() || settings_.pause_cause() != PAUSE_CAUSE_NO_FACILITATOR) return;
  settings_.set_paused(false);
  settings_.set_pause_cause(PAUSE_CAUSE_UNSPECIFIED);
  mark_state_changed();
  audit_by_server("resume", facilitator.account_id, "a facilitator is here", now_ms);
  publish_settings(ROOM_CHANGE_PAUSE, &facilitator, now_ms);
}

}  // namespace circle::core
