#include "room_registry.hpp"

namespace circle::server {

circle::v1::RoomInfo RoomHost::info_snapshot() const {
  circle::v1::RoomInfo info = static_info_;
  info.set_member_count(member_count_.load(std::memory_order_relaxed));
  return info;
}

core::Result<circle::v1::RoomInfo> RoomRegistry::create(std::string room_id, std::string title,
                                                        core::ConnectionId creator,
                                                        std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (rooms_.size() >= limits_.max_rooms) {
    return core::Refusal{circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                         "create room: this server already has its maximum of " +
                             std::to_string(limits_.max_rooms) + " rooms"};
  }
  if (room_id.empty()) {
    do {
      room_id = "room-" + std::to_string(++generated_ids_);
    } while (rooms_.contains(room_id));
  } else if (rooms_.contains(room_id)) {
    return core::Refusal{circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS,
                         "create room: room '" + room_id + "' already exists"};
  }
  core::Room room(room_id, title, creator, now_ms, limits_);
  auto host = std::make_shared<RoomHost>(boost::asio::make_strand(executor_), std::move(room));
  host->static_info_ = host->room_.info();
  auto info = host->static_info_;
  rooms_.emplace(room_id, std::move(host));
  return info;
}

std::shared_ptr<RoomHost> RoomRegistry::find(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto found = rooms_.find(room_id);
  return found == rooms_.end() ? nullptr : found->second;
}

std::vector<circle::v1::RoomInfo> RoomRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<circle::v1::RoomInfo> rooms;
  rooms.reserve(rooms_.size());
  for (const auto& [id, host] : rooms_) rooms.push_back(host->info_snapshot());
  return rooms;
}

}  // namespace circle::server
