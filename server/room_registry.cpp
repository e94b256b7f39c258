#include "room_registry.hpp"

#include "clock.hpp"

namespace circle::server {

circle::v1::RoomInfo RoomHost::info_snapshot() const {
  std::lock_guard lock(info_mutex_);
  return info_;
}

void RoomHost::publish_info() {
  auto info = room_.info();
  std::lock_guard lock(info_mutex_);
  info_ = std::move(info);
}

void RoomHost::after_change() {
  publish_info();
  const auto deadline = room_.next_deadline();
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  timer_.cancel();
  if (!deadline) return;
  timer_.expires_after(
      std::chrono::milliseconds(std::max<std::int64_t>(0, *deadline - now_unix_ms())));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    self->armed_deadline_.reset();
    self->room_.tick(now_unix_ms());
    self->after_change();
  });
}

core::Result<circle::v1::RoomInfo> RoomRegistry::create(std::string room_id, std::string title,
                                                        circle::v1::RoomKind kind,
                                                        std::string creator_account,
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
  core::Room room(room_id, std::move(title), kind, std::move(creator_account), now_ms, limits_,
                  audit_);
  auto host = std::make_shared<RoomHost>(boost::asio::make_strand(executor_), std::move(room));
  auto info = host->info_snapshot();
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
