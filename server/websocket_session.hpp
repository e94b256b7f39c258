// One client's WebSocket connection (Beast's chat-multi shape): the session
// owns its stream and buffers, keeps itself alive with shared_from_this, reads
// one message at a time into protocol dispatch, and serialises writes through
// a bounded outbound queue on its strand. Everything queued when a write
// finishes goes out as one ServerBatch in one write. Beast does the upgrade,
// the handshake and reading; messages are written by ServerFrameStream, the
// layer under Beast's stream.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "beast.hpp"
#include "dispatcher.hpp"
#include "outbound_queue.hpp"
#include "outbox.hpp"
#include "server_context.hpp"
#include "server_frame_stream.hpp"
#include "tls_socket.hpp"

namespace circle::server {

template <class NextLayer>
class WebSocketSession : public Outbox,
                         public MessageWriteOwner,
                         public std::enable_shared_from_this<WebSocketSession<NextLayer>> {
 public:
  // `slot`: this connection's place under the connection caps, given back
  // when the session is gone.
  WebSocketSession(NextLayer&& stream, ServerContext& context, ConnectionLimits::Slot slot);
  ~WebSocketSession() override;

  // Completes the upgrade that `request` asked for, then serves the client.
  void run(http::request<http::string_body> request);

  // Outbox: both are safe from any thread.
  void deliver(circle::wire::Frame frame) override;
  void close(std::uint16_t code, std::string reason) override;
  void removed_from_room(const std::string& room_id, std::uint64_t join_token) override;

 private:
  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  // On the strand: moves everything delivered since the last call into the
  // outbound queue and starts a write.
  void take_inbox();
  void enqueue(circle::wire::Frame frame);
  void do_write();
  void on_message_written(error_code ec) override;
  void begin_close(std::uint16_t code, std::string reason);
  void do_close();
  void finish(error_code ec);

  websocket::stream<ServerFrameStream<NextLayer>> ws_;
  ServerContext& context_;
  Dispatcher dispatcher_;
  beast::flat_buffer read_buffer_;
  // The Hello deadline; once closing, the deadline for the close to finish.
  net::steady_timer deadline_timer_;
  ConnectionLimits::Slot connection_slot_;

  // Frames handed over by rooms (any thread) wait here until the strand runs
  // take_inbox: one posted handler per flush, not one per delivery, and
  // everything that arrives meanwhile leaves in one batch and one send.
  std::mutex inbox_mutex_;
  std::vector<circle::wire::Frame> inbox_;  // guarded by inbox_mutex_
  bool inbox_flush_posted_ = false;         // guarded by inbox_mutex_
  std::vector<circle::wire::Frame> taken_;  // on the strand: reused swap target

  OutboundQueue queue_;
  std::vector<circle::wire::Frame> in_flight_;
  circle::wire::BatchEncoder batch_;
  std::vector<net::const_buffer> write_buffers_;
  bool writing_ = false;
  std::optional<websocket::close_reason> pending_close_;  // sent once writes drain
  bool closing_ = false;
  bool finished_ = false;
};

extern template class WebSocketSession<Socket>;
extern template class WebSocketSession<TlsSocket>;

}  // namespace circle::server
