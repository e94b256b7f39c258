// All rooms on this server. Each room lives on its own strand, so its state is
// only ever touched by one thread at a time while different rooms run in
// parallel; the registry's own map is guarded by a mutex.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"
#include "core/room.hpp"

namespace circle::server {

using Strand = boost::asio::strand<boost::asio::any_io_executor>;

// A Room together with the strand it runs on.
class RoomHost : public std::enable_shared_from_this<RoomHost> {
 public:
  RoomHost(Strand strand, core::Room room) : strand_(std::move(strand)), room_(std::move(room)) {}

  // Runs `fn(Room&)` on the room's strand.
  template <class Fn>
  void run(Fn&& fn) {
    boost::asio::post(strand_, [self = shared_from_this(), fn = std::forward<Fn>(fn)]() mutable {
      fn(self->room_);
      self->member_count_.store(static_cast<std::uint32_t>(self->room_.member_count()),
                                std::memory_order_relaxed);
    });
  }

  // Public info, readable from any thread (member count may lag by a moment).
  circle::v1::RoomInfo info_snapshot() const;

 private:
  Strand strand_;
  core::Room room_;  // only on strand_
  std::atomic<std::uint32_t> member_count_{0};
  // id/title/created never change after construction, so they are read freely.
  friend class RoomRegistry;
  circle::v1::RoomInfo static_info_;
};

class RoomRegistry {
 public:
  RoomRegistry(boost::asio::any_io_executor executor, const core::Limits& limits)
      : executor_(std::move(executor)), limits_(limits) {}

  // Creates a room; an empty id gets a generated one.
  core::Result<circle::v1::RoomInfo> create(std::string room_id, std::string title,
                                            core::ConnectionId creator, std::int64_t now_ms);
  std::shared_ptr<RoomHost> find(const std::string& room_id) const;
  std::vector<circle::v1::RoomInfo> list() const;

 private:
  boost::asio::any_io_executor executor_;
  const core::Limits& limits_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RoomHost>> rooms_;
  std::uint64_t generated_ids_ = 0;
};

}  // namespace circle::server
