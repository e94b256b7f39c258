// Room time: deadlines and tick, and the pause while no facilitator is present.
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

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
