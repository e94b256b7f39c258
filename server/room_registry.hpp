// All rooms on this server. Each room lives on its own strand, so its state is
// only ever touched by one thread at a time while different rooms run in
// parallel; the registry's own map is guarded by a mutex.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "beast.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "core/room.hpp"

namespace circle::server {

// A Room together with the strand it runs on.
class RoomHost : public std::enable_shared_from_this<RoomHost> {
 public:
  RoomHost(Strand strand, core::Room room)
      : strand_(std::move(strand)), room_(std::move(room)), timer_(strand_) {
    publish_info();
  }

  // Runs `fn(Room&)` on the room's strand, then re-arms the room's timer.
  template <class Fn>
  void run(Fn&& fn) {
    boost::asio::post(strand_, [self = shared_from_this(), fn = std::forward<Fn>(fn)]() mutable {
      fn(self->room_);
      self->after_change();
    });
  }

  // Public info, readable from any thread (it may lag by a moment).
  circle::v1::RoomInfo info_snapshot() const;

 private:
  // On the strand: refresh the info others read, and wake the room when
  // time will change something (a mute ends, a grace period runs out).
  void after_change();
  void publish_info();

  Strand strand_;
  core::Room room_;  // only on strand_
  boost::asio::steady_timer timer_;
  std::optional<std::int64_t> armed_deadline_;
  mutable std::mutex info_mutex_;
  circle::v1::RoomInfo info_;
};

class RoomRegistry {
 public:
  RoomRegistry(boost::asio::io_context::executor_type executor, const core::Limits& limits,
               core::AuditSink* audit)
      : executor_(std::move(executor)), limits_(limits), audit_(audit) {}

  // Creates a room; an empty id gets a generated one. `creator_account`
  // facilitates it.
  core::Result<circle::v1::RoomInfo> create(std::string room_id, std::string title,
                                            circle::v1::RoomKind kind, std::string creator_account,
                                            std::int64_t now_ms);
  std::shared_ptr<RoomHost> find(const std::string& room_id) const;
  std::vector<circle::v1::RoomInfo> list() const;

 private:
  boost::asio::io_context::executor_type executor_;
  const core::Limits& limits_;
  core::AuditSink* audit_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RoomHost>> rooms_;
  std::uint64_t generated_ids_ = 0;
};

}  // namespace circle::server
