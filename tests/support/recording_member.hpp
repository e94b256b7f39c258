// A reconnecting client-library member that records every room event it is
// handed, live or replayed in a rejoin, so that a test can check it saw each
// event of a room exactly once and in order across drops and failovers.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_server.hpp"

namespace circle::test {

namespace client = circle::client;
using circle::v1::RoomEvent;
using circle::v1::ServerMessage;
using State = client::LinkStatus::State;

inline const client::ReconnectPolicy kQuickReconnect{
    .enabled = true,
    .initial_delay = std::chrono::milliseconds(200),
    .max_delay = std::chrono::milliseconds(1000),
    .max_attempts = 0,
    .max_refused_retries = 10};

class Member {
 public:
  // Signs in as `account` on `server` (or at `via`, a proxy in front of it).
  Member(const TestServer& server, const std::string& account,
         std::optional<client::ServerAddress> via = std::nullopt)
      : client_(server.client_tls(), kQuickReconnect) {
    client_.set_event_callback([this](const ServerMessage& m) {
      std::lock_guard lock(mutex_);
      if (m.has_room_event()) events_.push_back(m.room_event());
      changed_.notify_all();
    });
    client_.set_rejoin_callback([this](const std::string&, const ServerMessage& reply) {
      std::lock_guard lock(mutex_);
      rejoins_.push_back(reply);
      if (reply.has_join_room()) {
        for (const auto& e : reply.join_room().snapshot().recent_events()) events_.push_back(e);
      }
      changed_.notify_all();
    });
    client_.set_status_callback([this](const client::LinkStatus& status) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(status);
      changed_.notify_all();
    });
    if (auto failure = client_.connect(via.value_or(server.address()))) {
      throw std::runtime_error(failure->reason);
    }
    auto welcome =
        call(client_, client::make_hello("", "circle-test", server.token(account, account)));
    if (!welcome.has_welcome()) throw std::runtime_error("hello refused");
  }

  client::SyncClient& client() { return client_; }

  // Joins `room`; later events are recorded after the snapshot's last seq.
  void join(const std::string& room) {
    auto joined = call(client_, client::make_join_room(room));
    ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
    std::lock_guard lock(mutex_);
    joined_at_ = joined.join_room().snapshot().last_seq();
  }

  // Waits until the link reports `state` (counting from status number `from`).
  bool wait_status(State state, std::size_t from = 0) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] {
      for (std::size_t i = from; i < statuses_.size(); ++i) {
        if (statuses_[i].state == state) return true;
      }
      return false;
    });
  }
  std::size_t status_count() {
    std::lock_guard lock(mutex_);
    return statuses_.size();
  }

  // Waits until every text in `texts` has been posted to the room.
  bool wait_texts(const std::vector<std::string>& texts) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] {
      std::size_t found = 0;
      for (const auto& e : events_) {
        if (e.has_message_posted() && found < texts.size() &&
            e.message_posted().text() == texts[found]) {
          ++found;
        }
      }
      return found == texts.size();
    });
  }

  // Waits until an event matching `match` has been recorded.
  bool wait_event(const std::function<bool(const RoomEvent&)>& match) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return std::ranges::any_of(events_, match); });
  }

  // Every recorded event after the join: seqs gap-free and each once.
  void expect_every_event_once_in_order() {
    std::lock_guard lock(mutex_);
    std::uint64_t expected = joined_at_ + 1;
    for (const auto& e : events_) {
      if (e.seq() <= joined_at_) continue;  // before the join (in a snapshot)
      ASSERT_EQ(e.seq(), expected) << "gap-free, each once: " << e.DebugString();
      ++expected;
    }
  }

  // The texts posted, in the order recorded.
  std::vector<std::string> texts() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> result;
    for (const auto& e : events_) {
      if (e.seq() > joined_at_ && e.has_message_posted()) {
        result.push_back(e.message_posted().text());
      }
    }
    return result;
  }

  std::vector<ServerMessage> rejoins() {
    std::lock_guard lock(mutex_);
    return rejoins_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RoomEvent> events_;
  std::vector<ServerMessage> rejoins_;
  std::vector<client::LinkStatus> statuses_;
  std::uint64_t joined_at_ = 0;
  // Last, so that it goes first: its I/O thread calls the recorders above.
  client::SyncClient client_;
};

}  // namespace circle::test
