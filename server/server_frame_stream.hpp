// The layer under Beast's websocket::stream in a session. Reads pass straight
// through to Beast. Every write (Circle's messages and Beast's own bytes: the
// upgrade answer, pongs, keep-alive pings, close frames) leaves through this
// one ordered queue, so nothing is ever interleaved on the socket.
//
// Circle's messages skip Beast's write operations, which cost several layered
// operations, allocations and posts per message: a message is a FrameHeader
// and its payload buffers in one gather write. It is written at once when the
// socket takes it (plaintext, or TLS through TlsSocket), with no operation and
// no handler; only what does not fit waits for the socket to be writable (as
// uWebSockets does). Beast's bytes are copied into the queue and Beast is answered at
// once; when Beast tears the connection down, the queue is drained first.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "beast.hpp"
#include "frame_header.hpp"

namespace circle::server {

// Told, on the stream's strand, when a message that write_message answered
// with kLater has been written, or has failed.
class MessageWriteOwner {
 public:
  virtual void on_message_written(error_code ec) = 0;

 protected:
  ~MessageWriteOwner() = default;
};

template <class Next>
class ServerFrameStream {
 public:
  using executor_type = typename Next::executor_type;
  // kNow: written already, and the owner hears nothing more; kLater: the
  // owner's on_message_written follows; kClosed: not written, because the
  // connection is being torn down (nothing may follow a close frame).
  enum class Written { kNow, kLater, kClosed };

  explicit ServerFrameStream(Next&& next) : next_(std::move(next)) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }

  // Before anything is written: who hears of written messages, and the
  // object whose life covers this stream (the session). It is held while a
  // write waits, so that the socket outlives the write.
  void attach(MessageWriteOwner* owner, std::weak_ptr<void> life) {
    owner_ = owner;
    life_ = std::move(life);
    error_code ignored;
    next_.non_blocking(true, ignored);  // a write the socket cannot take says so
  }

  // Queues one binary message whose payload is `payload` (`payload_size`
  // bytes in all; the buffers must stay valid until it is written), after
  // everything queued before it.
  Written write_message(const std::vector<net::const_buffer>& payload, std::size_t payload_size) {
    if (tearing_down_) return Written::kClosed;
    pending_.push_back(Segment{{}, FrameHeader(payload_size), &payload});
    if (writing_) return Written::kLater;
    return write_pending() ? Written::kNow : Written::kLater;
  }

  // Beast is tearing the connection down: no message may be queued any more.
  // Once nothing is queued or being written (or the writing failed), calls
  // `callback(error_code)`: at once if already so.
  template <class Callback>
  void tear_down_when_drained(Callback callback) {
    tearing_down_ = true;
    if (!writing_ && pending_.empty()) return callback(error_code{});
    drain_waiter_ = std::make_unique<DrainWaiterOf<Callback>>(std::move(callback));
  }

  // The AsyncReadStream half: Beast's reads.
  template <class MutableBuffers, class ReadHandler>
  auto async_read_some(const MutableBuffers& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  // The AsyncWriteStream half, used only by Beast: the bytes join the queue
  // and Beast hears at once that all of them were written.
  template <class ConstBuffers, class WriteHandler>
  auto async_write_some(const ConstBuffers& buffers, WriteHandler&& handler) {
    return net::async_initiate<WriteHandler, void(error_code, std::size_t)>(
        [this](auto write_handler, const ConstBuffers& bytes) {
          assert(owner_ != nullptr && "attach() comes before the handshake");
          std::string copy(net::buffer_size(bytes), '\0');
          net::buffer_copy(net::buffer(copy), bytes);
          const std::size_t size = copy.size();
          pending_.push_back(Segment{std::move(copy), std::nullopt, nullptr});
          if (!writing_) write_pending();  // no message can be waiting while idle
          auto executor = net::get_associated_executor(write_handler, get_executor());
          net::post(executor,
                    beast::bind_front_handler(std::move(write_handler), error_code{}, size));
        },
        handler, buffers);
  }

 private:
  // Beast's bytes (`bytes`) or one of Circle's messages (header and payload).
  struct Segment {
    std::string bytes;
    std::optional<FrameHeader> header;
    const std::vector<net::const_buffer>* payload = nullptr;
  };

  struct DrainWaiter {
    virtual ~DrainWaiter() = default;
    virtual void drained(error_code ec) = 0;
  };
  template <class Callback>
  struct DrainWaiterOf final : DrainWaiter {
    explicit DrainWaiterOf(Callback c) : callback(std::move(c)) {}
    void drained(error_code ec) override { callback(ec); }
    Callback callback;
  };

  static bool holds_message(const std::vector<Segment>& segments) {
    return std::ranges::any_of(segments, [](const Segment& s) { return s.payload != nullptr; });
  }

  // Removes the first `count` bytes from `buffers_`.
  void drop_written(std::size_t count) {
    std::size_t whole = 0;
    while (whole < buffers_.size() && count >= buffers_[whole].size()) {
      count -= buffers_[whole].size();
      ++whole;
    }
    buffers_.erase(buffers_.begin(), buffers_.begin() + static_cast<std::ptrdiff_t>(whole));
    if (count > 0) buffers_.front() += count;
  }

  // Writes everything pending, in order. True when all of it was written
  // here; false when a write is now waiting for the socket (on_written
  // follows) or there is no session left to write for.
  bool write_pending() {
    std::swap(pending_, in_flight_);  // in_flight_ was empty: nothing is being written
    buffers_.clear();
    std::size_t total = 0;
    for (const auto& segment : in_flight_) {
      if (!segment.bytes.empty()) buffers_.emplace_back(segment.bytes.data(), segment.bytes.size());
      if (segment.payload) {
        const auto header = segment.header->bytes();
        buffers_.emplace_back(header.data(), header.size());
        buffers_.insert(buffers_.end(), segment.payload->begin(), segment.payload->end());
      }
    }
    for (const auto& buffer : buffers_) total += buffer.size();
    auto life = life_.lock();
    if (!life) {  // the session is gone: nobody to write for
      in_flight_.clear();
      return false;
    }
    std::size_t written = 0;
    error_code ec;
    while (written < total && !ec) {
      const std::size_t n = next_.write_some(buffers_, ec);
      written += n;
      drop_written(n);
    }
    if (written == total) {
      in_flight_.clear();
      return true;
    }
    // Would block (or failed: the operation below reports it): the rest
    // waits for the socket.
    writing_ = true;
    net::async_write(next_, buffers_, [this, life = std::move(life)](error_code ec, std::size_t) {
      on_written(ec);
    });
    return false;
  }

  void on_written(error_code ec) {
    writing_ = false;
    const bool message_written = holds_message(in_flight_);
    in_flight_.clear();
    if (ec) {
      // Nothing more leaves on this connection; whoever waits is told.
      const bool message_lost = message_written || holds_message(pending_);
      pending_.clear();
      if (auto waiter = std::move(drain_waiter_)) waiter->drained(ec);
      if (message_lost) owner_->on_message_written(ec);
      return;
    }
    if (message_written) owner_->on_message_written({});  // may queue the next message
    if (!writing_ && !pending_.empty()) {
      const bool message_pending = holds_message(pending_);
      if (write_pending() && message_pending) owner_->on_message_written({});
    }
    if (!writing_ && pending_.empty()) {
      if (auto waiter = std::move(drain_waiter_)) waiter->drained({});
    }
  }

  Next next_;
  MessageWriteOwner* owner_ = nullptr;
  std::weak_ptr<void> life_;
  std::vector<Segment> pending_;    // queued, not yet being written
  std::vector<Segment> in_flight_;  // being written
  std::vector<net::const_buffer> buffers_;
  bool writing_ = false;
  bool tearing_down_ = false;
  // Beast's teardown, waiting for the queue to drain. It holds the session
  // (through Beast's operation) until then: the write in flight always ends,
  // written, failed, or cancelled by a deadline that closes the socket.
  std::unique_ptr<DrainWaiter> drain_waiter_;
};

// Beast's teardown after a close: first whatever is still queued (the close
// frame among it), then the next layer's own teardown.
template <class Next, class TeardownHandler>
void async_teardown(beast::role_type role, ServerFrameStream<Next>& stream,
                    TeardownHandler&& handler) {
  stream.tear_down_when_drained(
      [role, &stream, handler = std::forward<TeardownHandler>(handler)](error_code) mutable {
        using beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(handler));
      });
}

}  // namespace circle::server
