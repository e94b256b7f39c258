#include "rooms/room_registry.hpp"

#include <boost/asio/strand.hpp>

#include "logging.hpp"
#include "replies.hpp"
#include "rooms/room_commands.hpp"

namespace circle::server {

using circle::v1::ServerMessage;

void refuse_command(const circle::v1::RoomCommand& command,
                    const std::weak_ptr<core::EventSink>& requester, const core::Refusal& refusal,
                    Metrics& metrics) {
  auto sink = requester.lock();
  if (!sink) return;
  if (command.has_join()) sink->removed_from_room(command.room_id(), command.join().join_token());
  if (command.request_id() == 0) return;
  sink->deliver(circle::wire::encode(refusal_reply(command.request_id(), refusal, metrics)));
}

RoomRegistry::RoomRegistry(boost::asio::io_context::executor_type executor,
                           const core::Limits& limits, RoomBackend& backend, Metrics& metrics)
    : executor_(std::move(executor)), limits_(limits), backend_(backend), metrics_(&metrics) {
  backend_.attach(*this);
}

std::shared_ptr<RoomHost> RoomRegistry::make_host(core::Room room) {
  const auto room_id = room.id();
  auto host = std::make_shared<RoomHost>(
      boost::asio::make_strand(executor_), std::move(room), backend_, backend_.journal_for(room_id),
      metrics_, backend_.shared_with_other_nodes(), [this, room_id] { forget(room_id); });
  host->set_escalation(escalation_);
  return host;
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
  auto host = make_host(core::Room(room_id, std::move(title), kind, std::move(creator_account),
                                   now_ms, limits_, nullptr));
  auto info = host->info_snapshot();
  rooms_.emplace(room_id, std::move(host));
  return info;
}

void RoomRegistry::submit(circle::v1::RoomCommand command,
                          std::weak_ptr<core::EventSink> requester) {
  backend_.order(std::move(command), std::move(requester));
}

bool RoomRegistry::may_hold(const std::string& room_id) const {
  return backend_.shared_with_other_nodes() || find(room_id) != nullptr;
}

void RoomRegistry::apply(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
                         std::uint64_t log_position) {
  if (command.has_create()) return apply_create(command, std::move(requester), log_position);
  auto host = find(command.room_id());
  if (!host) {
    return refuse_command(
        command, requester,
        {circle::v1::ERROR_CODE_ROOM_NOT_FOUND, "there is no room '" + command.room_id() + "'"},
        *metrics_);
  }
  host->run(
      [host = host.get(), command = std::move(command), requester = std::move(requester),
       this](core::Room& room) {
        apply_command(room, command,
                      {.requester = requester,
                       .host = *host,
                       .metrics = *metrics_,
                       .limits = limits_,
                       .own_node_prefix = own_node_prefix_,
                       .shared_with_other_nodes = backend_.shared_with_other_nodes(),
                       .support_resources = support_resources_});
      },
      /*save_state=*/false, log_position);
}

void RoomRegistry::apply_create(const circle::v1::RoomCommand& command,
                                std::weak_ptr<core::EventSink> requester,
                                std::uint64_t log_position) {
  const auto& create = command.create();
  auto created = this->create(command.room_id(), create.title(), create.kind(),
                              create.creator_account(), command.time_ms());
  ServerMessage reply = make_reply(*metrics_, command.request_id(), created,
                                   [](ServerMessage& reply, circle::v1::RoomInfo& room) {
                                     *reply.mutable_create_room()->mutable_room() = std::move(room);
                                   });
  auto host = created ? find(created.value().room_id()) : nullptr;
  if (!host) {
    if (auto sink = requester.lock()) sink->deliver(circle::wire::encode(reply));
    return;
  }
  spdlog::info("conn={} created room={}", command.connection(), created.value().room_id());
  // Kept (and answered once it is) even if the asker is gone: a created
  // room survives a crash.
  host->run([requester, frame = circle::wire::encode(reply)](
                core::Room& room) { room.reply(requester, frame); },
            /*save_state=*/true, log_position);
}

std::size_t RoomRegistry::list_size() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

void RoomRegistry::forget(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  rooms_.erase(room_id);
}

std::size_t RoomRegistry::restore() {
  std::lock_guard lock(mutex_);
  std::size_t restored = 0;
  for (auto& room : backend_.restore(limits_)) {
    const auto room_id = room.id();
    auto host = make_host(std::move(room));
    // Arms the room's timers: an alert nobody answered before the restart
    // still escalates, also if no one comes back to the room.
    host->run([](core::Room&) {});
    rooms_.emplace(room_id, std::move(host));
    ++restored;
  }
  return restored;
}

std::shared_ptr<RoomHost> RoomRegistry::find(const std::string& room_id) const {
  std::lock_guard lock(mutex_);
  auto found = rooms_.find(room_id);
  return found == rooms_.end() ? nullptr : found->second;
}

std::vector<circle::v1::ServerMessage> RoomRegistry::open_escalations() const {
  std::lock_guard lock(mutex_);
  std::vector<circle::v1::ServerMessage> events;
  for (const auto& [id, host] : rooms_) {
    for (auto& alert : host->escalated_alerts()) {
      circle::v1::ServerMessage message;
      auto* event = message.mutable_private_event();
      event->set_room_id(id);
      event->set_server_time_unix_ms(alert.escalated_at_unix_ms());
      auto* escalated = event->mutable_support_escalated();
      escalated->set_reason(alert.escalation_reason());
      *escalated->mutable_alert() = std::move(alert);
      events.push_back(std::move(message));
    }
  }
  return events;
}

std::vector<circle::v1::RoomInfo> RoomRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<circle::v1::RoomInfo> rooms;
  rooms.reserve(rooms_.size());
  for (const auto& [id, host] : rooms_) rooms.push_back(host->info_snapshot());
  return rooms;
}

}  // namespace circle::server
