// Room delivery: publishing room events, private events, capture into ActionOutput, the audit.
#include <utility>

#include "core/policy.hpp"
#include "core/room.hpp"

namespace circle::core {

using namespace circle::v1;

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

void Room::send_waiting_room(std::int64_t now_ms) {
  PrivateEvent event = private_event(now_ms);
  auto* list = event.mutable_waiting_room();
  for (const auto& waiting : waiting_) *list->add_waiting() = waiting.view;
  send_to_facilitators(event);
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

}  // namespace circle::core
