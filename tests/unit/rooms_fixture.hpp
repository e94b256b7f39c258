// Rooms on the memory backend, with no network: a registry applying commands
// the way a connection's dispatcher submits them, an io_context the test runs
// by hand, and members that record everything they are handed.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"
#include "clock.hpp"
#include "metrics.hpp"
#include "rooms/memory_backend.hpp"
#include "rooms/room_registry.hpp"

namespace circle::test {

// A member's connection: every ServerMessage it is handed, in order.
class RecordingConnection : public circle::core::EventSink {
 public:
  void deliver(circle::wire::Frame frame) override {
    circle::v1::ServerMessage message;
    ASSERT_TRUE(message.ParseFromString(*frame));
    received.push_back(std::move(message));
  }
  void removed_from_room(const std::string& room_id, std::uint64_t) override {
    removed.push_back(room_id);
  }
  void must_reconnect(const std::string& reason) override { reconnect_reasons.push_back(reason); }

  // The reply to `request_id` (fails the test unless there is exactly one).
  circle::v1::ServerMessage reply(std::uint64_t request_id) const {
    std::vector<circle::v1::ServerMessage> replies;
    for (const auto& message : received) {
      if (message.request_id() == request_id) replies.push_back(message);
    }
    EXPECT_EQ(replies.size(), 1u) << "replies to request " << request_id;
    return replies.empty() ? circle::v1::ServerMessage{} : replies.front();
  }
  std::size_t replies_to(std::uint64_t request_id) const {
    std::size_t count = 0;
    for (const auto& message : received) count += message.request_id() == request_id ? 1 : 0;
    return count;
  }
  // The texts of the messages posted that this member saw, in order.
  std::vector<std::string> texts() const {
    std::vector<std::string> seen;
    for (const auto& message : received) {
      if (message.has_room_event() && message.room_event().has_message_posted()) {
        seen.push_back(message.room_event().message_posted().text());
      }
    }
    return seen;
  }

  std::vector<circle::v1::ServerMessage> received;
  std::vector<std::string> removed;
  std::vector<std::string> reconnect_reasons;
};

class RoomsOnMemory : public ::testing::Test {
 protected:
  static constexpr const char* kRoom = "tuesday";

  // Runs what is ready (never waits: a room's timer may be armed).
  void settle() {
    ioc_.restart();
    ioc_.poll();
  }
  circle::v1::RoomCommand command(core::ConnectionId connection, std::uint64_t request_id,
                                  const std::string& room_id = kRoom) {
    circle::v1::RoomCommand command;
    command.set_room_id(room_id);
    command.set_connection(connection);
    command.set_request_id(request_id);
    command.set_time_ms(server::now_unix_ms());
    return command;
  }
  void submit(circle::v1::RoomCommand command, const std::shared_ptr<RecordingConnection>& by) {
    rooms_.submit(std::move(command), by);
    settle();
  }
  // The room, created by `account` of `connection`.
  void create(core::ConnectionId connection, const std::shared_ptr<RecordingConnection>& by,
              std::uint64_t request_id = 1) {
    auto create = command(connection, request_id);
    create.mutable_create()->set_title("Tuesday evening");
    create.mutable_create()->set_kind(circle::v1::ROOM_KIND_FACILITATED_GROUP);
    create.mutable_create()->set_creator_account(account(connection));
    submit(std::move(create), by);
  }
  void join(core::ConnectionId connection, const std::shared_ptr<RecordingConnection>& by,
            std::uint64_t request_id, std::uint64_t resume_after_seq = 0) {
    auto join = command(connection, request_id);
    join.mutable_join()->set_display_name("Member " + std::to_string(connection));
    join.mutable_join()->set_account_id(account(connection));
    join.mutable_join()->set_join_token(request_id);
    join.mutable_join()->set_resume_after_seq(resume_after_seq);
    submit(std::move(join), by);
  }
  void post(core::ConnectionId connection, const std::shared_ptr<RecordingConnection>& by,
            std::uint64_t request_id, const std::string& text,
            const std::string& client_message_id = {}) {
    auto post = command(connection, request_id);
    post.mutable_post()->set_text(text);
    post.mutable_post()->set_account_id(account(connection));
    post.mutable_post()->set_client_message_id(client_message_id);
    submit(std::move(post), by);
  }
  void lock(core::ConnectionId connection, const std::shared_ptr<RecordingConnection>& by,
            std::uint64_t request_id) {
    auto act = command(connection, request_id);
    act.mutable_act()->set_room_id(kRoom);
    act.mutable_act()->mutable_set_locked()->set_locked(true);
    submit(std::move(act), by);
  }
  static std::string account(core::ConnectionId connection) {
    return "acct-" + std::to_string(connection);
  }

  boost::asio::io_context ioc_;
  core::Limits limits_;
  server::Metrics metrics_;
  server::MemoryBackend backend_;
  server::RoomRegistry rooms_{ioc_.get_executor(), limits_, backend_, metrics_};
  std::shared_ptr<RecordingConnection> alex_ = std::make_shared<RecordingConnection>();
  std::shared_ptr<RecordingConnection> sam_ = std::make_shared<RecordingConnection>();
};

}  // namespace circle::test
