// A Room with recording sinks and audit log, for tests of room logic.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/room.hpp"

namespace circle::test {

using circle::core::ConnectionId;
using circle::core::Limits;
using circle::core::Room;
using circle::v1::RoomEvent;

// Records every frame a member is handed, decoded, and the rooms that dropped it.
class RecordingSink : public circle::core::EventSink {
 public:
  void deliver(circle::wire::Frame frame) override {
    circle::v1::ServerMessage message;
    ASSERT_TRUE(message.ParseFromString(*frame));
    if (message.has_room_event()) {
      events.push_back(message.room_event());
      frames.push_back(std::move(frame));
    } else {
      ASSERT_TRUE(message.has_private_event());
      private_events.push_back(message.private_event());
    }
  }
  void removed_from_room(const std::string& room_id, std::uint64_t join_token) override {
    removed.push_back(room_id);
    removed_tokens.push_back(join_token);
  }
  void must_reconnect(const std::string& reason) override { reconnect_reasons.push_back(reason); }
  // The private events of one kind, e.g. PrivateEvent::kSupportAlert.
  std::vector<circle::v1::PrivateEvent> privates(circle::v1::PrivateEvent::KindCase kind) const {
    std::vector<circle::v1::PrivateEvent> found;
    for (const auto& event : private_events) {
      if (event.kind_case() == kind) found.push_back(event);
    }
    return found;
  }
  // The last room event of one kind; fails the test when there is none.
  RoomEvent last(RoomEvent::KindCase kind) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind_case() == kind) return *it;
    }
    ADD_FAILURE() << "no room event of kind " << kind;
    return {};
  }
  std::vector<RoomEvent> events;
  std::vector<circle::wire::Frame> frames;
  std::vector<circle::v1::PrivateEvent> private_events;
  std::vector<std::string> removed;
  std::vector<std::uint64_t> removed_tokens;
  std::vector<std::string> reconnect_reasons;
};

class RecordingAudit : public circle::core::AuditSink {
 public:
  void record(const circle::core::AuditEntry& entry) override { entries.push_back(entry); }
  std::vector<circle::core::AuditEntry> entries;
};

class RoomTest : public ::testing::Test {
 protected:
  static constexpr ConnectionId kAlex = 1, kSam = 2, kRiya = 3;

  // Built on first use, so that a test may change limits_ first.
  Room& room() {
    if (!room_) {
      room_.emplace("tuesday", "Tuesday evening", circle::v1::ROOM_KIND_FACILITATED_GROUP, "acct-1",
                    1000, limits_, &audit_);
    }
    return *room_;
  }
  static std::string account(ConnectionId connection) {
    return "acct-" + std::to_string(connection);
  }
  // Joins and returns the snapshot; fails the test when refused or waiting.
  circle::v1::RoomSnapshot join(ConnectionId connection, const std::string& name,
                                const std::shared_ptr<RecordingSink>& sink, std::int64_t now = 1) {
    auto joined = try_join(connection, name, sink, now);
    EXPECT_TRUE(joined) << (joined ? "" : joined.refusal().message);
    if (!joined || !joined.value().snapshot) return {};
    return *joined.value().snapshot;
  }
  circle::core::Result<circle::core::JoinOutcome> try_join(
      ConnectionId connection, const std::string& name, const std::shared_ptr<RecordingSink>& sink,
      std::int64_t now = 1) {
    return try_join_as(room(), connection, account(connection), name, sink, now);
  }
  // `connection` signed in as `account_id` (another device, or later).
  static circle::core::Result<circle::core::JoinOutcome> try_join_as(
      Room& target, ConnectionId connection, const std::string& account_id, const std::string& name,
      const std::shared_ptr<RecordingSink>& sink, std::int64_t now, bool is_admin = false) {
    return target.join({.connection = connection,
                        .display_name = name,
                        .account_id = account_id,
                        .is_admin = is_admin,
                        .sink = sink,
                        .join_token = 0},
                       now);
  }

  Limits limits_;
  RecordingAudit audit_;
  std::optional<Room> room_;
  std::shared_ptr<RecordingSink> alex_ = std::make_shared<RecordingSink>();
  std::shared_ptr<RecordingSink> sam_ = std::make_shared<RecordingSink>();
  std::shared_ptr<RecordingSink> riya_ = std::make_shared<RecordingSink>();
};

// A group already under way: Alex (who created the room, so facilitates),
// Sam and Riya have joined.
class GroupTest : public RoomTest {
 protected:
  void SetUp() override {
    alex_id_ = join(kAlex, "Alex", alex_).your_member_id();
    sam_id_ = join(kSam, "Sam", sam_).your_member_id();
    riya_id_ = join(kRiya, "Riya", riya_).your_member_id();
  }
  circle::v1::RoomActionRequest request() {
    circle::v1::RoomActionRequest r;
    r.set_room_id("tuesday");
    return r;
  }
  circle::core::Result<circle::v1::RoomActionResponse> act(ConnectionId who,
                                                           const circle::v1::RoomActionRequest& r,
                                                           std::int64_t now = 10) {
    return room().act(who, r, now);
  }
  std::uint64_t alex_id_ = 0, sam_id_ = 0, riya_id_ = 0;
};

}  // namespace circle::test
