#include "cluster/node_liveness.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>

#include "logging.hpp"

namespace circle::server {

std::string room_limits_fingerprint(const core::Limits& limits) {
  const std::string values =
      std::to_string(limits.facilitator_grace_seconds) + "/" +
      std::to_string(limits.reconnect_window_seconds) + "/" +
      std::to_string(limits.remembered_client_message_ids) + "/" +
      std::to_string(limits.snapshot_history_events) + "/" +
      std::to_string(limits.max_room_members) + "/" + std::to_string(limits.room_joins_per_second) +
      "/" + std::to_string(limits.room_join_burst) + "/" + std::to_string(limits.max_rooms) + "/" +
      std::to_string(limits.support_escalate_after_seconds) + "/" +
      std::to_string(limits.max_open_reports) + "/" +
      std::to_string(limits.max_open_reports_per_account) + "/" +
      std::to_string(limits.max_ignored_per_account);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(values));
  return hex;
}

std::optional<Heartbeat> parse_heartbeat(std::string_view data) {
  std::vector<std::string_view> words;
  while (!data.empty() && words.size() < 5) {
    const auto end = std::min(data.find(' '), data.size());
    words.push_back(data.substr(0, end));
    data.remove_prefix(std::min(end + 1, data.size()));
  }
  auto number = [](std::string_view word) -> std::optional<std::uint64_t> {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
    if (word.empty() || error != std::errc() || end != word.data() + word.size()) {
      return std::nullopt;
    }
    return value;
  };
  if (words.size() < 2 || words.size() > 4 || words[1].empty()) return std::nullopt;
  Heartbeat heard{.fingerprint = std::string(words[1])};
  const auto prefix = number(words[0]);
  if (!prefix) return std::nullopt;
  heard.prefix = *prefix;
  if (words.size() >= 3) {
    const auto position = number(words[2]);
    if (!position) return std::nullopt;
    heard.position = *position;
  }
  if (words.size() == 4) {
    const auto caught_up = number(words[3]);
    if (!caught_up || *caught_up > 1) return std::nullopt;
    heard.caught_up = *caught_up == 1;
  }
  return heard;
}

std::string format_heartbeat(const Heartbeat& heartbeat) {
  return std::to_string(heartbeat.prefix) + " " + heartbeat.fingerprint + " " +
         std::to_string(heartbeat.position) + (heartbeat.caught_up ? " 1" : " 0");
}

NodeLiveness::NodeLiveness(std::uint64_t node_prefix, std::string limits_fingerprint,
                           std::chrono::milliseconds node_timeout,
                           std::chrono::milliseconds heartbeat)
    : node_prefix_(node_prefix),
      limits_fingerprint_(std::move(limits_fingerprint)),
      node_timeout_(node_timeout),
      heartbeat_(heartbeat) {}

std::string NodeLiveness::heartbeat(std::uint64_t position, bool caught_up) const {
  return format_heartbeat({.prefix = node_prefix_,
                           .fingerprint = limits_fingerprint_,
                           .position = position,
                           .caught_up = caught_up});
}

bool NodeLiveness::hear(std::string_view data, Clock::time_point now) {
  const auto heard = parse_heartbeat(data);
  if (!heard) return false;
  const auto& [prefix, fingerprint, position, caught_up] = *heard;
  std::lock_guard lock(mutex_);
  last_heard_[prefix] = {.at = now, .position = position, .caught_up = caught_up};
  if (fingerprint != limits_fingerprint_ && differing_nodes_.insert(prefix).second) {
    spdlog::error(
        "node {} runs with other room limits than this node ({}): the same room would take "
        "different turns on the two; give every node the same --facilitator-grace-seconds, "
        "--reconnect-window-seconds, --remembered-client-message-ids, "
        "--snapshot-history-events, --max-room-members, --room-joins-per-second, "
        "--room-join-burst, --max-rooms, --support-escalate-after, --max-open-reports and "
        "--max-ignored",
        prefix, node_prefix_);
  }
  return true;
}

bool NodeLiveness::hear_rooms(const std::string& data) {
  circle::v1::NodeRooms heard;
  if (!heard.ParseFromString(data)) return false;
  std::map<std::string, circle::v1::RoomInfo> rooms;
  for (auto& info : *heard.mutable_applied()) rooms[info.room_id()] = std::move(info);
  std::lock_guard lock(mutex_);
  heard_rooms_[heard.node_prefix()] = std::move(rooms);
  return true;
}

bool NodeLiveness::alive_locked(std::uint64_t prefix, Clock::time_point now) const {
  const auto heard = last_heard_.find(prefix);
  return heard != last_heard_.end() && now - heard->second.at < node_timeout_;
}

bool NodeLiveness::alive(std::uint64_t prefix, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return alive_locked(prefix, now);
}

std::set<std::uint64_t> NodeLiveness::alive_nodes(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::set<std::uint64_t> alive;
  for (const auto& [prefix, heard] : last_heard_) {
    if (now - heard.at < node_timeout_) alive.insert(prefix);
  }
  return alive;
}

bool NodeLiveness::lowest_caught_up(bool caught_up, Clock::time_point now,
                                    const std::string* applying) const {
  if (!caught_up) return false;
  std::lock_guard lock(mutex_);
  for (const auto& [prefix, heard] : last_heard_) {
    if (prefix >= node_prefix_ || !heard.caught_up || now - heard.at >= node_timeout_) continue;
    if (!applying) return false;
    const auto rooms = heard_rooms_.find(prefix);
    if (rooms != heard_rooms_.end() && rooms->second.contains(*applying)) return false;
  }
  return true;
}

std::uint64_t NodeLiveness::read_by_everyone(Clock::time_point now,
                                             std::chrono::milliseconds counted) const {
  std::lock_guard lock(mutex_);
  std::uint64_t everyone_read = 0;
  bool first = true;
  for (const auto& [prefix, heard] : last_heard_) {
    if (now - heard.at >= counted) continue;
    everyone_read = first ? heard.position : std::min(everyone_read, heard.position);
    first = false;
  }
  return everyone_read;
}

std::map<std::string, circle::v1::RoomInfo> NodeLiveness::rooms_applied(Clock::time_point now,
                                                                        bool others) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, circle::v1::RoomInfo> shown;
  for (const auto& [prefix, rooms] : heard_rooms_) {
    if ((others && prefix == node_prefix_) || !alive_locked(prefix, now)) continue;
    for (const auto& [room_id, info] : rooms) shown.insert_or_assign(room_id, info);
  }
  return shown;
}

bool NodeLiveness::may_judge(bool connected, std::uint64_t links, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!connected || links != links_seen_) {
    // Down, or down and up again in between: what we heard meanwhile is
    // not the whole story. Start counting again.
    links_seen_ = links;
    up_since_ = now;
    return false;
  }
  // Judge others only after a whole timeout on an unbroken link, and only
  // while our own heartbeats come back (the link really carries them).
  if (now - up_since_ < node_timeout_) return false;
  const auto own = last_heard_.find(node_prefix_);
  return own != last_heard_.end() && now - own->second.at <= 3 * heartbeat_;
}

std::vector<std::uint64_t> NodeLiveness::gone(const std::vector<std::uint64_t>& prefixes,
                                              Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> gone;
  for (const auto prefix : prefixes) {
    if (prefix != node_prefix_ && !alive_locked(prefix, now)) gone.push_back(prefix);
  }
  return gone;
}

bool NodeLiveness::limits_differ() const {
  std::lock_guard lock(mutex_);
  return !differing_nodes_.empty();
}

}  // namespace circle::server
