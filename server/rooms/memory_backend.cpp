#include "rooms/memory_backend.hpp"

#include "clock.hpp"
#include "rooms/local_backend.hpp"
#include "rooms/recent_events.hpp"

namespace circle::server {

// One room's state and recent events, as persisted.
class MemoryJournal final : public RoomJournal {
 public:
  MemoryJournal(MemoryBackend& backend, std::string room_id)
      : backend_(backend), room_id_(std::move(room_id)) {}

  bool persist(const core::Room& room, const core::ActionOutput& output, std::uint64_t,
               Persisted persisted) override {
    std::optional<store::RoomRecord> state;
    if (output.state_changed) {
      state = store::RoomRecord{.room_id = room_id_,
                                .state = room.durable_state().SerializeAsString(),
                                .retention_days = room.settings().history_retention_days()};
    }
    if (!backend_.holds_persists()) {
      keep(output, state, room.limits());
      return true;
    }
    backend_.hold([this, kept = std::make_shared<core::ActionOutput>(output),
                   state = std::move(state), limits = room.limits(),
                   persisted = std::move(persisted)](const store::Status& status) {
      if (status.ok) keep(*kept, state, limits);
      persisted(status);
    });
    return false;
  }

  std::optional<std::vector<circle::v1::RoomEvent>> events_after(std::uint64_t after_seq,
                                                                 std::uint32_t) override {
    std::lock_guard lock(mutex_);
    return events_.after(after_seq);
  }

  std::optional<SentRecord> recall_sent(const std::string& account,
                                        const std::string& client_message_id) override {
    std::lock_guard lock(mutex_);
    return events_.find_sent(account, client_message_id);
  }

  ReadBack read_back(const core::Room& room) override {
    std::lock_guard lock(mutex_);
    if (!state_) return {.outcome = ReadBack::Outcome::kNeverKept, .room = std::nullopt};
    std::vector<store::EventRecord> events;
    for (const auto& kept : events_.kept()) {
      events.push_back({.room_id = room_id_,
                        .seq = kept.seq,
                        .time_ms = kept.time_ms,
                        .sender_account = kept.sender_account,
                        .client_message_id = kept.client_message_id,
                        .event = *kept.frame});
    }
    auto read = room_from_record(*state_, last_seq_, events, room.limits());
    if (!read) return {.outcome = ReadBack::Outcome::kUnreadable, .room = std::nullopt};
    return {.outcome = ReadBack::Outcome::kRead, .room = std::move(read)};
  }

 private:
  void keep(const core::ActionOutput& output, const std::optional<store::RoomRecord>& state,
            const core::Limits& limits) {
    std::lock_guard lock(mutex_);
    if (state) state_ = *state;
    events_.keep(output, limits, now_unix_ms());
    if (!output.events.empty()) last_seq_ = std::max(last_seq_, output.events.back().seq);
  }

  MemoryBackend& backend_;
  const std::string room_id_;
  std::mutex mutex_;  // persists may finish on a test's thread
  std::optional<store::RoomRecord> state_;
  RecentEvents events_;
  std::uint64_t last_seq_ = 0;
};

void MemoryBackend::order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
                          std::string) {
  applier_->apply(std::move(command), std::move(requester), 0);
}

std::shared_ptr<RoomJournal> MemoryBackend::journal_for(const std::string& room_id) {
  return std::make_shared<MemoryJournal>(*this, room_id);
}

void MemoryBackend::hold_persists(bool hold) {
  std::lock_guard lock(mutex_);
  hold_ = hold;
}

bool MemoryBackend::holds_persists() const {
  std::lock_guard lock(mutex_);
  return hold_;
}

void MemoryBackend::hold(std::function<void(const store::Status&)> finish) {
  std::lock_guard lock(mutex_);
  held_.push_back(std::move(finish));
}

bool MemoryBackend::finish_persist(store::Status status, std::size_t which) {
  std::function<void(const store::Status&)> finish;
  {
    std::lock_guard lock(mutex_);
    if (which >= held_.size()) return false;
    const auto held = held_.begin() + static_cast<std::ptrdiff_t>(which);
    finish = std::move(*held);
    held_.erase(held);
  }
  finish(status);
  return true;
}

std::size_t MemoryBackend::held_persists() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

}  // namespace circle::server
