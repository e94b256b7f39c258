#include "circle_client/sync_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace circle::client {

SyncClient::SyncClient(std::shared_ptr<boost::asio::ssl::context> tls, ReconnectPolicy reconnect)
    : ioc_(std::make_unique<boost::asio::io_context>(1)), tls_(std::move(tls)) {
  connection_ = ReconnectingConnection::create(ioc_->get_executor(), tls_, reconnect);
  connection_->on_status([this](const LinkStatus& status) {
    if (auto callback = copy_under_lock(status_callback_)) callback(status);
  });
  connection_->on_rejoin([this](const std::string& room_id, const ServerMessage& reply) {
    if (auto callback = copy_under_lock(rejoin_callback_)) callback(room_id, reply);
  });
  connection_->on_event([this](const ServerMessage& message) {
    std::unique_lock lock(mutex_);
    if (event_callback_) {
      auto callback = event_callback_;
      lock.unlock();
      callback(message);
      return;
    }
    events_.push_back(message);
    changed_.notify_all();
  });
  connection_->on_close([this](const CloseInfo& info) {
    std::function<void(const CloseInfo&)> callback;
    {
      std::lock_guard lock(mutex_);
      closed_ = info;
      callback = close_callback_;
      changed_.notify_all();
    }
    if (callback) callback(info);
  });
  io_thread_ = std::jthread([ioc = ioc_.get()] {
    auto work = boost::asio::make_work_guard(*ioc);
    ioc->run();
  });
}

SyncClient::~SyncClient() {
  connection_->close(1000, "client closed");
  // Give the close handshake a moment, bounded, then stop the I/O thread.
  wait_closed(std::chrono::milliseconds(2000));
  ioc_->stop();
  io_thread_.join();
  connection_.reset();
}

std::optional<CloseInfo> SyncClient::connect(const ServerAddress& address, ConnectOptions options) {
  auto result = std::make_shared<std::promise<std::optional<CloseInfo>>>();
  auto future = result->get_future();
  connection_->connect(address, options, [result](const std::optional<CloseInfo>& failure) {
    result->set_value(failure);
  });
  if (future.wait_for(options.timeout) != std::future_status::ready) {
    connection_->close(1000, "connect timed out");  // abandons the attempt
    CloseInfo timed_out{0, "connect timed out"};
    std::lock_guard lock(mutex_);
    closed_ = timed_out;
    changed_.notify_all();
    return timed_out;
  }
  auto failure = future.get();
  if (failure) {
    std::lock_guard lock(mutex_);
    closed_ = failure;
    changed_.notify_all();
  }
  return failure;
}

std::future<SyncClient::ServerMessage> SyncClient::call_async(circle::v1::ClientMessage message) {
  auto reply = std::make_shared<std::promise<ServerMessage>>();
  auto future = reply->get_future();
  connection_->request(std::move(message),
                       [reply](const ServerMessage& message) { reply->set_value(message); });
  return future;
}

void SyncClient::request(circle::v1::ClientMessage message,
                         std::function<void(const ServerMessage&)> on_reply) {
  connection_->request(std::move(message), std::move(on_reply));
}

std::optional<SyncClient::ServerMessage> SyncClient::call(circle::v1::ClientMessage message,
                                                          std::chrono::milliseconds timeout) {
  auto future = call_async(std::move(message));
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

void SyncClient::set_event_callback(std::function<void(const ServerMessage&)> callback) {
  std::lock_guard lock(mutex_);
  event_callback_ = std::move(callback);
}

void SyncClient::set_close_callback(std::function<void(const CloseInfo&)> callback) {
  std::lock_guard lock(mutex_);
  close_callback_ = std::move(callback);
}

void SyncClient::set_status_callback(std::function<void(const LinkStatus&)> callback) {
  std::lock_guard lock(mutex_);
  status_callback_ = std::move(callback);
}

void SyncClient::set_rejoin_callback(ReconnectingConnection::RejoinHandler callback) {
  std::lock_guard lock(mutex_);
  rejoin_callback_ = std::move(callback);
}

std::optional<SyncClient::ServerMessage> SyncClient::next_event(std::chrono::milliseconds timeout) {
  return wait_event([](const ServerMessage&) { return true; }, timeout);
}

std::optional<SyncClient::ServerMessage> SyncClient::wait_event(
    const std::function<bool(const ServerMessage&)>& match, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (true) {
    while (!events_.empty()) {
      ServerMessage event = std::move(events_.front());
      events_.pop_front();
      if (match(event)) return event;
    }
    if (closed_) return std::nullopt;  // closed for good: nothing more will come
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && events_.empty()) {
      return std::nullopt;
    }
  }
}

std::optional<CloseInfo> SyncClient::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return closed_.has_value(); });
  return closed_;
}

bool SyncClient::is_closed() const {
  std::lock_guard lock(mutex_);
  return closed_.has_value();
}

void SyncClient::send_raw(std::string bytes, bool binary) {
  connection_->send_raw(std::move(bytes), binary);
}

void SyncClient::close(std::uint16_t code, std::string reason) {
  connection_->close(code, std::move(reason));
}

void SyncClient::drop() {
  connection_->drop();
}

}  // namespace circle::client
