// A server-side TLS connection run by OpenSSL directly on the socket.
//
// asio::ssl::stream keeps two fixed 17 KiB record buffers per connection and
// encrypts into one of them before a further write operation sends it: an
// idle connection holds 34 KiB, and every message costs a copy and an extra
// operation. Here OpenSSL reads and writes the non-blocking descriptor itself
// (with SSL_MODE_RELEASE_BUFFERS, its record buffers exist only while a
// record is in flight), and Asio only waits for the socket to be readable or
// writable when OpenSSL says it must. So a write can be tried at once, with
// no operation, exactly as on a plaintext socket (write_some).
//
// An AsyncStream for Beast: the HTTP parser and the WebSocket read through
// it; ServerFrameStream writes through it. Everything runs on the socket's
// strand. OpenSSL holds the descriptor's number, so no OpenSSL I/O happens
// once the socket is closed (a reused number would be another connection).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "beast.hpp"

namespace circle::server {

class TlsSocket {
 public:
  using executor_type = Socket::executor_type;
  using next_layer_type = Socket;

  // `context` supplies the certificate, key and options (server side).
  TlsSocket(Socket&& socket, ssl::context& context);
  TlsSocket(TlsSocket&& other) noexcept;
  TlsSocket& operator=(TlsSocket&&) = delete;
  ~TlsSocket();

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  Socket& next_layer() noexcept { return socket_; }
  const Socket& next_layer() const noexcept { return socket_; }

  // The socket is always non-blocking underneath; this only answers what a
  // plaintext socket's caller expects.
  void non_blocking(bool, error_code& ec) { ec = {}; }

  // Writes what it can of `buffers` now, without waiting: the count of bytes
  // taken, and net::error::would_block when the socket is full. Bytes OpenSSL
  // took into a record it could not send yet are not counted: the next write
  // must begin with them (ServerFrameStream's queue does).
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, error_code& ec) {
    const Step step = write_records(buffers);
    ec = step.want == Want::kNothing ? step.ec : make_error_code(net::error::would_block);
    return step.bytes;
  }

  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return net::async_compose<Handler, void(error_code)>(
        Operation<Kind::kHandshake, net::const_buffer>{*this, {}}, handler, socket_);
  }
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return net::async_compose<Handler, void(error_code, std::size_t)>(
        Operation<Kind::kRead, MutableBuffers>{*this, buffers}, handler, socket_);
  }
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return net::async_compose<Handler, void(error_code, std::size_t)>(
        Operation<Kind::kWrite, ConstBuffers>{*this, buffers}, handler, socket_);
  }
  // Sends close_notify and waits for the peer's (or its end of the stream).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return net::async_compose<Handler, void(error_code)>(
        Operation<Kind::kShutdown, net::const_buffer>{*this, {}}, handler, socket_);
  }

 private:
  // kAgain: run once more after a post (OpenSSL holds bytes the socket will
  // not announce again).
  enum class Want { kNothing, kRead, kWrite, kAgain };
  enum class Kind { kHandshake, kRead, kWrite, kShutdown };
  // What one OpenSSL call came to: done (with `ec` and `bytes`), or it must
  // wait for the socket.
  struct Step {
    Want want = Want::kNothing;
    error_code ec;
    std::size_t bytes = 0;
  };

  // Why no OpenSSL call may be made now, if one may not: the socket is closed
  // (its descriptor's number may be another connection's by now), or the
  // connection could not be set up.
  std::optional<Step> unusable() const;
  Step handshake_step();
  Step read_step(net::mutable_buffer buffer);
  // One SSL_write of at most kRecordBytes.
  Step write_record(net::const_buffer bytes);
  Step shutdown_step();
  // Turns OpenSSL's answer `result` to a call into a Step.
  Step finish(int result, std::size_t bytes);

  // At most one record's plaintext per SSL_write. Given more, OpenSSL 3.0 may
  // encrypt several records in one go (TLS 1.2 "multiblock", CBC ciphers),
  // and then a retry after a full socket must be longer than the 64 KiB that
  // Asio's async_write hands over at a time: the connection would fail.
  static constexpr std::size_t kRecordBytes = 16 * 1024;

  // Writes `buffers` a record at a time while the socket takes them: the
  // bytes written, or what OpenSSL waits for if it took none. A record it
  // encrypted but could not send is not counted: the retry begins with it.
  template <class ConstBuffers>
  Step write_records(const ConstBuffers& buffers) {
    beast::buffers_suffix<ConstBuffers> rest(buffers);
    std::size_t written = 0;
    for (;;) {
      const auto record = contiguous(beast::buffers_prefix(kRecordBytes, rest));
      if (record.size() == 0) break;
      const Step step = write_record(record);
      if (step.want != Want::kNothing || step.ec) {
        if (written > 0) break;  // say what went; the next call meets the rest
        return step;
      }
      written += step.bytes;
      rest.consume(step.bytes);
    }
    return {Want::kNothing, {}, written};
  }

  // OpenSSL writes one buffer: a record's worth in several pieces is copied
  // into a per-thread scratch buffer (OpenSSL encrypts it at once).
  template <class ConstBuffers>
  static net::const_buffer contiguous(const ConstBuffers& buffers) {
    const auto begin = net::buffer_sequence_begin(buffers);
    const auto end = net::buffer_sequence_end(buffers);
    if (begin == end) return {};
    if (std::next(begin) == end) return net::const_buffer(*begin);
    thread_local std::string scratch;
    scratch.resize(net::buffer_size(buffers));
    net::buffer_copy(net::buffer(scratch), buffers);
    return net::buffer(scratch);
  }
  template <class MutableBuffers>
  static net::mutable_buffer first(const MutableBuffers& buffers) {
    const auto begin = net::buffer_sequence_begin(buffers);
    return begin == net::buffer_sequence_end(buffers) ? net::mutable_buffer() : *begin;
  }

  template <Kind kKind, class Buffers>
  struct Operation {
    Operation(TlsSocket& socket, const Buffers& b) : tls(socket), buffers(b) {}
    TlsSocket& tls;
    Buffers buffers;
    bool waited = false;  // false: still inside the initiating call
    bool done = false;    // step holds the outcome
    Step step;

    template <class Self>
    void operator()(Self& self, error_code ec = {}) {
      if (done) return complete(self);  // back from the post below
      if (ec) {
        step = Step{Want::kNothing, ec, 0};
      } else {
        step = run();
        if (step.want == Want::kAgain) {
          waited = true;
          return net::post(std::move(self));
        }
        if (step.want != Want::kNothing) {
          waited = true;
          return tls.socket_.async_wait(
              step.want == Want::kRead ? Socket::wait_read : Socket::wait_write, std::move(self));
        }
      }
      done = true;
      // Asio's rule: a handler never runs inside the call that started it.
      if (!waited) return net::post(std::move(self));
      complete(self);
    }

    Step run() {
      if constexpr (kKind == Kind::kHandshake) return tls.handshake_step();
      if constexpr (kKind == Kind::kRead) return tls.read_step(first(buffers));
      if constexpr (kKind == Kind::kWrite) return tls.write_records(buffers);
      if constexpr (kKind == Kind::kShutdown) return tls.shutdown_step();
    }
    template <class Self>
    void complete(Self& self) {
      if constexpr (kKind == Kind::kHandshake || kKind == Kind::kShutdown) {
        self.complete(step.ec);
      } else {
        self.complete(step.ec, step.bytes);
      }
    }
  };

  Socket socket_;
  SSL* ssl_;
};

// Beast's WebSocket teardown on a TlsSocket: the TLS close, as for Beast's own
// ssl_stream; the session's end closes the socket.
template <class Handler>
void async_teardown(beast::role_type, TlsSocket& stream, Handler&& handler) {
  stream.async_shutdown(std::forward<Handler>(handler));
}

}  // namespace circle::server
