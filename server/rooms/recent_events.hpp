// A room's recent events as delivered, kept in memory for resuming members
// and retried sends: what the memory and cluster backends replay from
// (a store-backed room replays from its store instead).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "circle/v1/circle.pb.h"
#include "core/room.hpp"
#include "rooms/room_backend.hpp"

namespace circle::server {

class RecentEvents {
 public:
  struct Kept {
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    std::string sender_account;
    std::string client_message_id;
    circle::wire::Frame frame;  // the ServerMessage every member got
  };

  // Keeps what `output` published and rewrote, and lets go of what is older
  // than the reconnect window or beyond `limits.max_resume_events`.
  void keep(const core::ActionOutput& output, const core::Limits& limits, std::int64_t now_ms);
  // Every kept event after `after_seq`, in seq order; nullopt if one cannot
  // be read.
  std::optional<std::vector<circle::v1::RoomEvent>> after(std::uint64_t after_seq) const;
  std::optional<SentRecord> find_sent(const std::string& account,
                                      const std::string& client_message_id) const;
  const std::deque<Kept>& kept() const { return kept_; }
  void clear() { kept_.clear(); }
  void push_back(Kept kept) { kept_.push_back(std::move(kept)); }

 private:
  std::deque<Kept> kept_;  // oldest first
};

}  // namespace circle::server
