// Every open WebSocket session, so that shutdown can close them all and know
// when the last one is gone.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "outbox.hpp"

namespace circle::server {

class SessionTracker {
 public:
  // Returns false when the server is shutting down (the session must close).
  bool add(core::ConnectionId id, std::weak_ptr<Outbox> session);
  void remove(core::ConnectionId id);
  // The open session `id` (expired when it is not open on this node).
  std::weak_ptr<Outbox> find(core::ConnectionId id) const;
  // Refuses new sessions, closes every open one, and calls `on_empty` (once,
  // from whichever thread removes the last session, or now if none is open).
  void close_all(std::uint16_t code, const std::string& reason, std::function<void()> on_empty);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<core::ConnectionId, std::weak_ptr<Outbox>> sessions_;
  bool closing_ = false;
  std::function<void()> on_empty_;
};

}  // namespace circle::server
