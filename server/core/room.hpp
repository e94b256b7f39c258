// One room's state: members, the gap-free event sequence and recent history.
// Plain logic with no sockets or threads: the server runs each Room on its own
// strand, so a Room is never touched concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "circle/v1/circle.pb.h"
#include "core/event_sink.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace circle::core {

class Room {
 public:
  Room(std::string room_id, std::string title, ConnectionId creator, std::int64_t created_at_ms,
       const Limits& limits);

  const std::string& id() const { return room_id_; }
  std::size_t member_count() const { return members_.size(); }
  std::uint64_t last_seq() const { return last_seq_; }
  circle::v1::RoomInfo info() const;
  bool is_member(ConnectionId connection) const { return members_.contains(connection); }

  // Adds `connection` under `display_name`, tells the other members, and
  // returns the joiner's snapshot (which includes its own join event).
  Result<circle::v1::RoomSnapshot> join(ConnectionId connection, const std::string& display_name,
                                        std::weak_ptr<EventSink> sink, std::int64_t now_ms);

  // Removes `connection` and tells the remaining members. Returns the seq of
  // the MemberLeft event.
  Result<std::uint64_t> leave(ConnectionId connection, circle::v1::LeaveReason reason,
                              std::int64_t now_ms);

  // Appends a message from `connection` and delivers it to every member, the
  // sender included. Returns the acknowledgement.
  Result<circle::v1::SendMessageResponse> post(ConnectionId connection, const std::string& text,
                                               const std::string& client_message_id,
                                               std::int64_t now_ms);

 private:
  struct Member {
    circle::v1::Member public_view;
    std::weak_ptr<EventSink> sink;
  };

  // Assigns the next seq and the time, keeps the event in history, serialises
  // it once and hands the same frame to every member's sink. Returns the seq.
  std::uint64_t publish(circle::v1::RoomEvent event, std::int64_t now_ms);

  std::string room_id_;
  std::string title_;
  ConnectionId creator_;
  std::int64_t created_at_ms_;
  const Limits& limits_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t last_member_id_ = 0;
  std::map<ConnectionId, Member> members_;
  std::deque<circle::v1::RoomEvent> history_;
};

}  // namespace circle::core
