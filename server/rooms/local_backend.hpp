// One node keeping its rooms in a store::Store (SQLite by default): commands
// are applied as soon as they arrive, and each action's output is written in
// one batch (grouped with other rooms' by the store) before it is delivered.
#pragma once

#include "rooms/room_backend.hpp"

namespace circle::server {

class LocalBackend final : public RoomBackend {
 public:
  explicit LocalBackend(store::Store& store) : store_(store) {}

  void attach(CommandApplier& applier) override { applier_ = &applier; }
  void order(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
             std::string message_id) override;
  std::shared_ptr<RoomJournal> journal_for(const std::string& room_id) override;
  std::vector<core::Room> restore(const core::Limits& limits) override;
  bool shared_with_other_nodes() const override { return false; }
  bool leads(const std::string&) const override { return true; }

 private:
  store::Store& store_;
  CommandApplier* applier_ = nullptr;
};

// What one action of `room` writes: its events as delivered, redactions,
// audit entries, a history cleared and the room's durable state.
store::WriteBatch write_batch_of(const core::Room& room, const core::ActionOutput& output);

// A room as kept: its durable state `record`, and its events up to
// `last_seq` (`events`, oldest first, the newest of them) for its recent
// history and the client message ids whose retries get their original acks.
// nullopt when the state cannot be read.
std::optional<core::Room> room_from_record(const store::RoomRecord& record, std::uint64_t last_seq,
                                           const std::vector<store::EventRecord>& events,
                                           const core::Limits& limits);

}  // namespace circle::server
