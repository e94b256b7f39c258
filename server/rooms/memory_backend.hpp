// Rooms kept in this process's memory only: commands applied as they arrive,
// each room's state and recent events kept here (gone with the process).
// For tests and benchmarks: the rooms' own cost with no storage under them.
// A test can hold persists and finish them one at a time, to see what a room
// does while a write is outstanding or after one failed.
#pragma once

#include <deque>
#include <mutex>

#include "rooms/room_backend.hpp"

namespace circle::server {

class MemoryBackend final : public RoomBackend {
 public:
  void attach(CommandApplier& applier) override { applier_ = &applier; }
  void order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
             std::string message_id) override;
  std::shared_ptr<RoomJournal> journal_for(const std::string& room_id) override;
  std::vector<core::Room> restore(const core::Limits&) override { return {}; }
  bool shared_with_other_nodes() const override { return false; }
  bool leads(const std::string&) const override { return true; }

  // From now on, persists wait until finish_persist() (true) or are durable
  // at once (false, the default).
  void hold_persists(bool hold);
  // Finishes the held persist `which` (0: the oldest) with `status` (a
  // failure keeps nothing of it). False: there is no such one.
  bool finish_persist(store::Status status = {}, std::size_t which = 0);
  std::size_t held_persists() const;

 private:
  friend class MemoryJournal;
  bool holds_persists() const;
  // Holds `finish` (which keeps what was persisted and tells the room).
  void hold(std::function<void(const store::Status&)> finish);

  CommandApplier* applier_ = nullptr;
  mutable std::mutex mutex_;
  bool hold_ = false;
  std::deque<std::function<void(const store::Status&)>> held_;
};

}  // namespace circle::server
