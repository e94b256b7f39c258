#include "websocket_session.hpp"

#include "logging.hpp"
#include "version.hpp"

namespace circle::server {
namespace {
// A read waiting for the client holds this much buffer, so an idle connection
// holds little; a longer message arrives in more reads into the same buffer.
constexpr std::size_t kReadChunk = 256;
// After a message, a buffer grown past this for a long one is given back.
constexpr std::size_t kReadBufferKept = 4 * kReadChunk;

websocket::close_reason make_close_reason(std::uint16_t code, const std::string& reason) {
  websocket::close_reason result;
  result.code = code;
  result.reason = reason;
  return result;
}
}  // namespace

template <class NextLayer>
WebSocketSession<NextLayer>::WebSocketSession(NextLayer&& stream, ServerContext& context,
                                              ConnectionLimits::Slot slot)
    : ws_(std::move(stream)),
      context_(context),
      dispatcher_(context, ++context.last_connection_id, ws_.get_executor()),
      deadline_timer_(ws_.get_executor()),
      connection_slot_(std::move(slot)) {}

template <class NextLayer>
WebSocketSession<NextLayer>::~WebSocketSession() {
  spdlog::debug("conn={} session destroyed", dispatcher_.id());
}

template <class NextLayer>
void WebSocketSession<NextLayer>::run(http::request<http::string_body> request) {
  dispatcher_.attach(this->weak_from_this());
  ws_.next_layer().attach(this, this->weak_from_this());
  const auto& config = context_.config;
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = config.http_request_timeout;  // also bounds the close handshake
  timeouts.idle_timeout = config.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
    response.set(http::field::server, std::string(kServerVersion));
  }));
  ws_.read_message_max(config.limits.read_message_max);
  ws_.async_accept(
      request, beast::bind_front_handler(&WebSocketSession::on_accept, this->shared_from_this()));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_accept(error_code ec) {
  if (ec) {
    spdlog::debug("conn={} websocket accept failed: {}", dispatcher_.id(), ec.message());
    return;
  }
  if (!context_.sessions.add(dispatcher_.id(), this->weak_from_this())) {
    finished_ = true;  // never tracked, so nothing to remove
    closing_ = true;
    pending_close_ = make_close_reason(close_code::kGoingAway, "server shutting down");
    do_close();
    return;
  }
  spdlog::debug("conn={} websocket open", dispatcher_.id());
  deadline_timer_.expires_after(context_.config.hello_timeout);
  deadline_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
    if (!ec && !self->dispatcher_.said_hello()) {
      self->begin_close(close_code::kPolicyViolation, "no hello in time");
    }
  });
  do_read();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_read() {
  ws_.async_read_some(
      read_buffer_, kReadChunk,
      beast::bind_front_handler(&WebSocketSession::on_read, this->shared_from_this()));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_read(error_code ec, std::size_t) {
  if (ec) return finish(ec);
  if (!ws_.is_message_done()) return do_read();  // the rest of this message
  if (!ws_.got_binary()) {
    read_buffer_.consume(read_buffer_.size());
    begin_close(close_code::kUnsupportedData, "binary protobuf messages only");
    // Keep reading so that the peer's close reply completes the handshake.
    return do_read();
  }
  if (!closing_) {
    const auto data = read_buffer_.cdata();
    dispatcher_.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  read_buffer_.consume(read_buffer_.size());
  if (read_buffer_.capacity() > kReadBufferKept) read_buffer_.shrink_to_fit();
  do_read();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::deliver(circle::wire::Frame frame) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(frame));
    if (inbox_flush_posted_) return;
    inbox_flush_posted_ = true;
  }
  // Posted, not dispatched: handlers already queued (the rest of this event
  // loop pass, a busy room's fan-out, the sender's ack and its own event)
  // add to the inbox before it is taken.
  net::post(ws_.get_executor(), [self = this->shared_from_this()] { self->take_inbox(); });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::take_inbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    taken_.swap(inbox_);
    inbox_flush_posted_ = false;
  }
  context_.metrics.deliveries.add(taken_.size());  // one atomic add per flush, not per frame
  for (auto& frame : taken_) enqueue(std::move(frame));
  taken_.clear();
  if (!writing_ && !queue_.empty() && !closing_) do_write();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::close(std::uint16_t code, std::string reason) {
  net::post(ws_.get_executor(),
            [self = this->shared_from_this(), code, reason] { self->begin_close(code, reason); });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::removed_from_room(const std::string& room_id,
                                                    std::uint64_t join_token) {
  net::post(ws_.get_executor(), [self = this->shared_from_this(), room_id, join_token] {
    self->dispatcher_.forget_room(room_id, join_token);
  });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::enqueue(circle::wire::Frame frame) {
  // Nothing may follow a close frame, Beast's (the client closed, or broke
  // the protocol) or ours.
  if (closing_ || finished_ || !ws_.is_open()) return;
  const auto& limits = context_.config.limits;
  if (queue_.bytes() + frame->size() > limits.outbound_queue_max_bytes ||
      queue_.size() >= limits.outbound_queue_max_messages) {
    spdlog::info("conn={} disconnected: outbound queue over {} bytes or {} messages",
                 dispatcher_.id(), limits.outbound_queue_max_bytes,
                 limits.outbound_queue_max_messages);
    queue_.clear();
    context_.metrics.outbound_overflows.add();
    begin_close(close_code::kPolicyViolation, "too slow: outbound queue full");
    return;
  }
  queue_.push(std::move(frame));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_write() {
  const std::size_t batch_max = context_.config.limits.write_batch_max_bytes;
  // Each pass writes one message: a frame, or a batch of the queued frames.
  // A message the socket takes at once is done here; the loop goes on to
  // the next until the queue is empty or one has to wait for the socket.
  do {
    in_flight_.clear();
    if (finished_ || !ws_.is_open()) {  // Beast has begun a close: nothing more is sent
      queue_.clear();
      return;
    }
    std::size_t batch_bytes = 0;
    while (!queue_.empty() &&
           (in_flight_.empty() || batch_bytes + queue_.front()->size() <= batch_max)) {
      batch_bytes += queue_.front()->size();
      in_flight_.push_back(queue_.pop());
    }
    write_buffers_.clear();
    std::size_t message_bytes = 0;
    if (in_flight_.size() == 1) {
      write_buffers_.emplace_back(in_flight_.front()->data(), in_flight_.front()->size());
      message_bytes = in_flight_.front()->size();
    } else {
      batch_.build(in_flight_);
      for (auto piece : batch_.pieces()) write_buffers_.emplace_back(piece.data(), piece.size());
      message_bytes = batch_.size();
    }
    writing_ = true;
    const auto written = ws_.next_layer().write_message(write_buffers_, message_bytes);
    if (written == ServerFrameStream<NextLayer>::Written::kLater) return;  // told when done
    writing_ = false;
    if (written == ServerFrameStream<NextLayer>::Written::kClosed) {
      in_flight_.clear();
      queue_.clear();
      return;
    }
  } while (!queue_.empty());
  in_flight_.clear();
  if (pending_close_) do_close();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_message_written(error_code ec) {
  writing_ = false;
  in_flight_.clear();
  if (ec) return finish(ec);
  if (!queue_.empty()) return do_write();
  if (pending_close_) do_close();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::begin_close(std::uint16_t code, std::string reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  pending_close_ = make_close_reason(code, reason);
  // A client that stopped reading never lets the write in flight (or the
  // close frame after it) finish: after this long, drop the connection.
  deadline_timer_.expires_after(context_.config.http_request_timeout);
  deadline_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
    if (ec || self->finished_) return;
    spdlog::debug("conn={} close did not finish in time; dropped", self->dispatcher_.id());
    beast::get_lowest_layer(self->ws_).close();
  });
  if (!writing_) {
    if (queue_.empty()) {
      do_close();
    } else {
      do_write();  // flush what was queued before the close
    }
  }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_close() {
  auto reason = *pending_close_;
  pending_close_.reset();
  writing_ = true;  // the close frame is the last write
  ws_.async_close(reason, [self = this->shared_from_this()](error_code ec) {
    if (ec) spdlog::debug("conn={} close: {}", self->dispatcher_.id(), ec.message());
    // The pending read completes once the peer answers (or the timeout fires).
  });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::finish(error_code ec) {
  if (finished_) return;
  finished_ = true;
  deadline_timer_.cancel();
  queue_.clear();
  // A write still waiting for a client that stopped reading would hold the
  // session (and its socket) for good: the connection is over, so end it.
  if (writing_) {
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }
  if (ec != websocket::error::closed) {
    spdlog::debug("conn={} connection ended: {}", dispatcher_.id(), ec.message());
  }
  dispatcher_.on_closed();
  context_.sessions.remove(dispatcher_.id());
}

template class WebSocketSession<Socket>;
template class WebSocketSession<TlsSocket>;

}  // namespace circle::server
