#include "core/room.hpp"

#include <algorithm>
#include <utility>

namespace circle::core {

using circle::v1::RoomEvent;

namespace {
Refusal not_in_room(const std::string& action, const std::string& room_id) {
  return Refusal{circle::v1::ERROR_CODE_NOT_IN_ROOM,
                 action + ": this connection has not joined room '" + room_id + "'"};
}
}  // namespace

Room::Room(std::string room_id, std::string title, ConnectionId creator, std::int64_t created_at_ms,
           const Limits& limits)
    : room_id_(std::move(room_id)),
      title_(std::move(title)),
      creator_(creator),
      created_at_ms_(created_at_ms),
      limits_(limits) {}

circle::v1::RoomInfo Room::info() const {
  circle::v1::RoomInfo info;
  info.set_room_id(room_id_);
  info.set_title(title_);
  info.set_member_count(static_cast<std::uint32_t>(members_.size()));
  info.set_created_at_unix_ms(created_at_ms_);
  return info;
}

Result<circle::v1::RoomSnapshot> Room::join(ConnectionId connection,
                                            const std::string& display_name,
                                            std::weak_ptr<EventSink> sink, std::int64_t now_ms) {
  if (members_.contains(connection)) {
    return Refusal{circle::v1::ERROR_CODE_ALREADY_IN_ROOM,
                   "join: this connection is already in room '" + room_id_ + "'"};
  }
  if (members_.size() >= limits_.max_room_members) {
    return Refusal{circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                   "join: room '" + room_id_ + "' is full (" +
                       std::to_string(limits_.max_room_members) + " members)"};
  }
  Member member;
  member.public_view.set_member_id(++last_member_id_);
  member.public_view.set_display_name(display_name);
  // Until accounts exist (issue: accounts and tokens), the connection that
  // created the room facilitates it.
  member.public_view.set_role(connection == creator_ ? circle::v1::ROLE_FACILITATOR
                                                     : circle::v1::ROLE_PARTICIPANT);
  member.sink = std::move(sink);

  RoomEvent event;
  *event.mutable_member_joined()->mutable_member() = member.public_view;
  // Publish before adding: the joiner gets its join inside the snapshot, not twice.
  publish(std::move(event), now_ms);
  const std::uint64_t your_id = member.public_view.member_id();
  members_.emplace(connection, std::move(member));

  circle::v1::RoomSnapshot snapshot;
  *snapshot.mutable_room() = info();
  std::vector<const circle::v1::Member*> present;
  for (const auto& [id, m] : members_) present.push_back(&m.public_view);
  std::sort(present.begin(), present.end(),
            [](auto* a, auto* b) { return a->member_id() < b->member_id(); });
  for (const auto* m : present) *snapshot.add_members() = *m;
  for (const auto& past : history_) *snapshot.add_recent_events() = past;
  snapshot.set_last_seq(last_seq_);
  snapshot.set_your_member_id(your_id);
  return snapshot;
}

Result<std::uint64_t> Room::leave(ConnectionId connection, circle::v1::LeaveReason reason,
                                  std::int64_t now_ms) {
  auto found = members_.find(connection);
  if (found == members_.end()) return not_in_room("leave", room_id_);
  RoomEvent event;
  auto* left = event.mutable_member_left();
  *left->mutable_member() = std::move(found->second.public_view);
  left->set_reason(reason);
  members_.erase(found);
  return publish(std::move(event), now_ms);
}

Result<circle::v1::SendMessageResponse> Room::post(ConnectionId connection, const std::string& text,
                                                   const std::string& client_message_id,
                                                   std::int64_t now_ms) {
  auto found = members_.find(connection);
  if (found == members_.end()) return not_in_room("send message", room_id_);
  RoomEvent event;
  auto* posted = event.mutable_message_posted();
  *posted->mutable_sender() = found->second.public_view;
  posted->set_text(text);
  posted->set_client_message_id(client_message_id);
  circle::v1::SendMessageResponse ack;
  ack.set_room_id(room_id_);
  ack.set_seq(publish(std::move(event), now_ms));
  ack.set_server_time_unix_ms(now_ms);
  return ack;
}

std::uint64_t Room::publish(RoomEvent event, std::int64_t now_ms) {
  event.set_room_id(room_id_);
  event.set_seq(++last_seq_);
  event.set_server_time_unix_ms(now_ms);

  circle::v1::ServerMessage envelope;
  *envelope.mutable_room_event() = event;
  const circle::wire::Frame frame = circle::wire::encode(envelope);
  for (const auto& [id, member] : members_) {
    if (auto sink = member.sink.lock()) sink->deliver(frame);
  }

  history_.push_back(std::move(event));
  while (history_.size() > limits_.snapshot_history_events) history_.pop_front();
  return last_seq_;
}

}  // namespace circle::core
