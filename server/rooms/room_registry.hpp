// All rooms on this node: the map (create, find, list) and applying ordered
// commands to them. Each room lives on its own strand (RoomHost); the map is
// guarded by a mutex. Commands reach a room through the backend, which
// orders them (rooms/room_backend.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"
#include "metrics.hpp"
#include "rooms/alert_escalation.hpp"
#include "rooms/room_backend.hpp"
#include "rooms/room_host.hpp"
#include "rooms/support_resources.hpp"

namespace circle::server {

class RoomRegistry : public CommandApplier {
 public:
  RoomRegistry(boost::asio::io_context::executor_type executor, const core::Limits& limits,
               RoomBackend& backend, Metrics& metrics);

  // This node's connection-id prefix (several nodes); before serving.
  void set_node_prefix(std::uint64_t prefix) { own_node_prefix_ = prefix; }
  // The operator's crisis resources (--support-resources); any time, from
  // any thread (a reload).
  void set_support_resources(std::string text) { support_resources_.set(std::move(text)); }
  // Where support alerts nobody answered go; before restore() and serving.
  void set_escalation(AlertEscalation* escalation) { escalation_ = escalation; }
  const core::Limits& limits() const { return limits_; }

  // A request of one of this node's connections for a room: ordered by the
  // backend, then applied. Every request is answered once, on `requester`.
  void submit(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester);
  // Applies `command` to its room, answering `requester` if it is still open.
  void apply(circle::v1::RoomCommand command, std::weak_ptr<core::EventSink> requester,
             std::uint64_t log_position) override;
  // Whether a join of `room_id` should be ordered: the room is here, or may
  // be on its way (another node created it).
  bool may_hold(const std::string& room_id) const;

  // Brings back every room the backend kept (at start-up, before serving).
  // Returns how many.
  std::size_t restore();

  // Creates a room; an empty id gets a generated one. `creator_account`
  // facilitates it.
  core::Result<circle::v1::RoomInfo> create(std::string room_id, std::string title,
                                            circle::v1::RoomKind kind, std::string creator_account,
                                            std::int64_t now_ms);
  std::shared_ptr<RoomHost> find(const std::string& room_id) const;
  // Takes a room out (one whose creation was never kept).
  void forget(const std::string& room_id);
  std::vector<circle::v1::RoomInfo> list() const;
  std::size_t list_size() const;
  // Every open alert that went to the operators, as SupportEscalated private
  // events: for an operator who signs in after it was escalated.
  std::vector<circle::v1::ServerMessage> open_escalations() const;

 private:
  void apply_create(const circle::v1::RoomCommand& command,
                    std::weak_ptr<core::EventSink> requester, std::uint64_t log_position);
  std::shared_ptr<RoomHost> make_host(core::Room room);

  boost::asio::io_context::executor_type executor_;
  const core::Limits& limits_;
  RoomBackend& backend_;
  Metrics* metrics_;
  std::uint64_t own_node_prefix_ = 0;
  SupportResources support_resources_;
  AlertEscalation* escalation_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RoomHost>> rooms_;
  std::uint64_t generated_ids_ = 0;
};

}  // namespace circle::server
