#include "rooms/recent_events.hpp"

#include <algorithm>

namespace circle::server {

void RecentEvents::keep(const core::ActionOutput& output, const core::Limits& limits,
                        std::int64_t now_ms) {
  // The session ended: its history is deleted before the events it posted.
  if (output.history_cleared) kept_.clear();
  for (const auto& event : output.events) {
    kept_.push_back(
        {event.seq, event.time_ms, event.sender_account, event.client_message_id, event.frame});
  }
  for (const auto& event : output.rewritten) {
    // A redaction replaces what a resume is shown: the text is not kept.
    auto kept = std::ranges::find(kept_, event.seq(), &Kept::seq);
    if (kept == kept_.end()) continue;
    circle::v1::ServerMessage envelope;
    *envelope.mutable_room_event() = event;
    kept->frame = circle::wire::encode(envelope);
  }
  // Within the reconnect window of now, not only of the newest event: a
  // quiet room's expired messages leave with its history (and its copy).
  const std::int64_t newest_ms =
      std::max(output.events.empty() ? 0 : output.events.back().time_ms, now_ms);
  const std::int64_t oldest_ms =
      newest_ms - static_cast<std::int64_t>(limits.reconnect_window_seconds) * 1000;
  while (!kept_.empty() &&
         (kept_.size() > limits.max_resume_events || kept_.front().time_ms < oldest_ms)) {
    kept_.pop_front();
  }
}

std::optional<std::vector<circle::v1::RoomEvent>> RecentEvents::after(
    std::uint64_t after_seq) const {
  std::vector<circle::v1::RoomEvent> events;
  for (const auto& kept : kept_) {
    if (kept.seq <= after_seq) continue;
    circle::v1::ServerMessage envelope;
    if (!envelope.ParseFromString(*kept.frame) || !envelope.has_room_event()) return std::nullopt;
    events.push_back(std::move(*envelope.mutable_room_event()));
  }
  return events;
}

std::optional<SentRecord> RecentEvents::find_sent(const std::string& account,
                                                  const std::string& client_message_id) const {
  for (const auto& kept : kept_) {
    if (kept.sender_account == account && kept.client_message_id == client_message_id) {
      return SentRecord{kept.seq, kept.time_ms};
    }
  }
  return std::nullopt;
}

}  // namespace circle::server
