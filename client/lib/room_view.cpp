#include "circle_client/room_view.hpp"

#include <algorithm>

namespace circle::client {

using namespace circle::v1;

RoomView::RoomView(const RoomSnapshot& snapshot)
    : info_(snapshot.room()),
      settings_(snapshot.settings()),
      last_seq_(snapshot.last_seq()),
      my_member_id_(snapshot.your_member_id()),
      hand_queue_(snapshot.hand_queue().begin(), snapshot.hand_queue().end()),
      round_(snapshot.round()),
      waiting_(snapshot.waiting().begin(), snapshot.waiting().end()) {
  for (const auto& member : snapshot.members()) {
    members_[member.member_id()] = member;
    names_[member.member_id()] = member.display_name();
  }
  for (const auto& alert : snapshot.open_alerts()) open_alerts_[alert.alert_id()] = alert;
  for (const auto& report : snapshot.open_reports()) open_reports_[report.report_id()] = report;
  for (const auto& event : snapshot.recent_events()) keep_message(event);
  ignored_.insert(snapshot.ignored_member_ids().begin(), snapshot.ignored_member_ids().end());
  for (const auto& identity : snapshot.identities()) {
    identities_[identity.member_id()] = identity.account_id();
  }
}

bool RoomView::hides(const RoomEvent& event) const {
  if (!event.has_message_posted()) return false;
  const auto& sender = event.message_posted().sender();
  return ignored_.contains(sender.member_id()) && sender.role() < circle::v1::ROLE_CO_FACILITATOR;
}

void RoomView::keep_message(const RoomEvent& event) {
  if (!event.has_message_posted()) return;
  recent_messages_[event.seq()] = event;
  while (recent_messages_.size() > kRecentKept) recent_messages_.erase(recent_messages_.begin());
}

const RoomEvent* RoomView::warned_message(std::uint64_t seq) const {
  auto found = recent_messages_.find(seq);
  if (found == recent_messages_.end() || found->second.message_posted().content_warning().empty()) {
    return nullptr;
  }
  return &found->second;
}

RoomView::Applied RoomView::apply(const RoomEvent& event) {
  if (event.seq() <= last_seq_) return Applied::kDuplicate;
  const bool gap = event.seq() != last_seq_ + 1;
  last_seq_ = event.seq();
  keep_message(event);
  auto remove_hand = [&](std::uint64_t id) {
    hand_queue_.erase(std::remove(hand_queue_.begin(), hand_queue_.end(), id), hand_queue_.end());
  };
  switch (event.kind_case()) {
    case RoomEvent::kMemberJoined: {
      const auto& member = event.member_joined().member();
      members_[member.member_id()] = member;
      names_[member.member_id()] = member.display_name();
      break;
    }
    case RoomEvent::kMemberLeft: {
      const auto id = event.member_left().member().member_id();
      members_.erase(id);
      identities_.erase(id);
      remove_hand(id);
      break;
    }
    case RoomEvent::kMemberUpdated: {
      const auto& updated = event.member_updated();
      for (const auto& member : updated.members()) {
        members_[member.member_id()] = member;
        if (member.hand_raised()) {
          if (std::find(hand_queue_.begin(), hand_queue_.end(), member.member_id()) ==
              hand_queue_.end()) {
            hand_queue_.push_back(member.member_id());
          }
        } else {
          remove_hand(member.member_id());
        }
      }
      break;
    }
    case RoomEvent::kRoomUpdated:
      settings_ = event.room_updated().settings();
      if (event.room_updated().change() == ROOM_CHANGE_AGREEMENT) {
        // As on the server: everyone accepts a new agreement again, except
        // those who can change it.
        for (auto& [id, member] : members_) {
          member.set_agreement_accepted(member.role() >= ROLE_CO_FACILITATOR);
        }
      }
      info_.set_title(settings_.title());
      info_.set_locked(settings_.locked());
      break;
    case RoomEvent::kRoundUpdated:
      round_ = event.round_updated().round();
      break;
    case RoomEvent::kContentWarningSet: {
      auto found = recent_messages_.find(event.content_warning_set().seq());
      if (found != recent_messages_.end()) {
        found->second.mutable_message_posted()->set_content_warning(
            event.content_warning_set().content_warning());
      }
      break;
    }
    case RoomEvent::kMessageRedacted: {
      auto found = recent_messages_.find(event.message_redacted().seq());
      if (found != recent_messages_.end()) found->second.mutable_message_posted()->clear_text();
      break;
    }
    case RoomEvent::kSessionEnded:
      members_.clear();
      hand_queue_.clear();
      round_.Clear();
      waiting_.clear();
      open_alerts_.clear();
      open_reports_.clear();
      break;
    default:
      break;
  }
  info_.set_member_count(static_cast<std::uint32_t>(members_.size()));
  return gap ? Applied::kGap : Applied::kApplied;
}

void RoomView::apply_private(const PrivateEvent& event) {
  switch (event.kind_case()) {
    case PrivateEvent::kWaitingRoom:
      waiting_.assign(event.waiting_room().waiting().begin(), event.waiting_room().waiting().end());
      break;
    case PrivateEvent::kSupportAlert:
      open_alerts_[event.support_alert().alert_id()] = event.support_alert();
      break;
    case PrivateEvent::kSupportAcknowledged: {
      // Seen, and still open until a facilitator resolves it.
      auto alert = open_alerts_.find(event.support_acknowledged().alert_id());
      if (alert != open_alerts_.end()) {
        *alert->second.mutable_acknowledged_by() = event.support_acknowledged().by();
        alert->second.set_acknowledged_at_unix_ms(event.server_time_unix_ms());
      }
      break;
    }
    case PrivateEvent::kSupportEscalated: {
      // Gone to the service's operators: kept open, marked escalated.
      const auto& escalated = event.support_escalated().alert();
      auto alert = open_alerts_.find(escalated.alert_id());
      if (alert != open_alerts_.end()) {
        alert->second.set_escalated_at_unix_ms(escalated.escalated_at_unix_ms());
      }
      break;
    }
    case PrivateEvent::kMessageReported: {
      const auto& reported = event.message_reported();
      if (reported.report_id() == 0) break;
      auto& report = open_reports_[reported.report_id()];
      report.set_report_id(reported.report_id());
      report.set_seq(reported.seq());
      *report.mutable_by() = reported.by();
      report.set_note(reported.note());
      report.set_reported_at_unix_ms(event.server_time_unix_ms());
      break;
    }
    case PrivateEvent::kIgnoreList:
      ignored_ = {event.ignore_list().member_ids().begin(), event.ignore_list().member_ids().end()};
      break;
    case PrivateEvent::kReportResolved:
      open_reports_.erase(event.report_resolved().report_id());
      break;
    case PrivateEvent::kSupportResolved:
      open_alerts_.erase(event.support_resolved().alert_id());
      break;
    case PrivateEvent::kMemberIdentity:
      identities_[event.member_identity().member_id()] = event.member_identity().account_id();
      break;
    default:
      break;
  }
}

const Member* RoomView::member(std::uint64_t member_id) const {
  auto found = members_.find(member_id);
  return found == members_.end() ? nullptr : &found->second;
}

std::string RoomView::name_of(std::uint64_t member_id) const {
  auto found = names_.find(member_id);
  return found == names_.end() ? "someone" : found->second;
}

std::vector<const Member*> RoomView::find_by_name(const std::string& name) const {
  std::vector<const Member*> found;
  for (const auto& [id, member] : members_) {
    if (member.display_name() == name) found.push_back(&member);
  }
  return found;
}

Role RoomView::required_role(Action action) const {
  for (const auto& permission : settings_.permissions()) {
    if (permission.action() == action) return permission.min_role();
  }
  return ROLE_FACILITATOR;
}

bool RoomView::may(Action action) const {
  const auto* self = me();
  return self && self->role() >= required_role(action);
}

bool RoomView::i_facilitate() const {
  const auto* self = me();
  return self && self->role() >= ROLE_CO_FACILITATOR;
}

}  // namespace circle::client
