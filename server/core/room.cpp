// Room: making a room (new, restored, from a replica) and its copies: state, replica, snapshot.
#include "core/room.hpp"

#include <algorithm>
#include <utility>

#include "core/policy.hpp"

namespace circle::core {

using namespace circle::v1;

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

}  // namespace circle::core
