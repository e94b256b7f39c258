#include "session_tracker.hpp"

#include <vector>

namespace circle::server {

bool SessionTracker::add(core::ConnectionId id, std::weak_ptr<Outbox> session) {
  std::lock_guard lock(mutex_);
  if (closing_) return false;
  sessions_.emplace(id, std::move(session));
  return true;
}

void SessionTracker::remove(core::ConnectionId id) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(id) == 0) return;
    if (closing_ && sessions_.empty()) notify = std::exchange(on_empty_, nullptr);
  }
  if (notify) notify();
}

std::weak_ptr<Outbox> SessionTracker::find(core::ConnectionId id) const {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(id);
  return found == sessions_.end() ? std::weak_ptr<Outbox>() : found->second;
}

void SessionTracker::close_all(std::uint16_t code, const std::string& reason,
                               std::function<void()> on_empty) {
  std::vector<std::shared_ptr<Outbox>> open;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    if (sessions_.empty()) {
      on_empty_ = nullptr;
    } else {
      on_empty_ = std::move(on_empty);
      on_empty = nullptr;
    }
    for (auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  // Close outside the lock: a close may complete and call remove() at once.
  for (auto& session : open) session->close(code, reason);
  if (on_empty) on_empty();
}

std::size_t SessionTracker::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace circle::server
