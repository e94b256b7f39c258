#include "tls_socket.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace circle::server {
namespace {

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when the
// peer has gone; this one sends with MSG_NOSIGNAL, as Asio does. The BIO's
// data is the descriptor's number.
int descriptor_of(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int socket_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n =
        ::send(descriptor_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return -1;
  }
}

int socket_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::recv(descriptor_of(bio), data, static_cast<std::size_t>(size), 0);
    if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // the peer's end of the stream
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
    return -1;
  }
}

long socket_control(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;         // nothing is buffered here
    case BIO_CTRL_EOF:  // tells a cut connection from a peer's close_notify
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "circle socket");
    if (m) {
      BIO_meth_set_write(m, socket_write);
      BIO_meth_set_read(m, socket_read);
      BIO_meth_set_ctrl(m, socket_control);
    }
    return m;
  }();
  return method;
}

SSL* new_server_connection(ssl::context& context, int descriptor) {
  BIO_METHOD* method = socket_method();
  if (!method) return nullptr;
  SSL* ssl = SSL_new(context.native_handle());
  BIO* bio = BIO_new(method);
  if (!ssl || !bio) {
    SSL_free(ssl);
    BIO_free(bio);
    return nullptr;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(descriptor)));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // the connection owns the BIO
  SSL_set_accept_state(ssl);
  // Partial writes: SSL_write returns after each record it sent, so a full
  // socket leaves at most one record waiting. Moving buffer: the retry of a
  // waiting record may come from another copy of the same bytes. Release
  // buffers: record buffers only while a record is in flight. Read-ahead:
  // one recv for a record's header and body, and for records behind it.
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl, 1);
  return ssl;
}

}  // namespace

TlsSocket::TlsSocket(Socket&& socket, ssl::context& context)
    : socket_(std::move(socket)), ssl_(nullptr) {
  error_code ec;
  socket_.native_non_blocking(true, ec);
  if (!ec && socket_.is_open()) ssl_ = new_server_connection(context, socket_.native_handle());
}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)) {}

TlsSocket::~TlsSocket() {
  SSL_free(ssl_);
}

std::optional<TlsSocket::Step> TlsSocket::unusable() const {
  if (!socket_.is_open()) return Step{Want::kNothing, net::error::bad_descriptor, 0};
  if (!ssl_) return Step{Want::kNothing, net::error::no_memory, 0};
  return std::nullopt;
}

TlsSocket::Step TlsSocket::handshake_step() {
  if (const auto refused = unusable()) return *refused;
  ERR_clear_error();
  return finish(SSL_do_handshake(ssl_), 0);
}

TlsSocket::Step TlsSocket::read_step(net::mutable_buffer buffer) {
  if (const auto refused = unusable()) return *refused;
  if (buffer.size() == 0) return {};
  ERR_clear_error();
  std::size_t n = 0;
  const int result = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
  return finish(result, n);
}

TlsSocket::Step TlsSocket::write_record(net::const_buffer bytes) {
  if (const auto refused = unusable()) return *refused;
  if (bytes.size() == 0) return {};
  ERR_clear_error();
  std::size_t n = 0;
  const int result = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n);
  return finish(result, n);
}

TlsSocket::Step TlsSocket::shutdown_step() {
  if (const auto refused = unusable()) return *refused;
  ERR_clear_error();
  if (!(SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) || SSL_want_write(ssl_)) {
    const int sent = SSL_shutdown(ssl_);
    if (sent < 0) {
      const Step step = finish(sent, 0);
      if (step.want != Want::kNothing) return step;
      return {};  // failed: there is no TLS left to close
    }
  }
  // Then read until the peer's close_notify or the end of the stream,
  // discarding what comes before it; a peer that keeps sending yields the
  // strand between chunks (and meets the session's deadline).
  char discard[4096];
  for (int chunk = 0; chunk < 16; ++chunk) {
    ERR_clear_error();
    std::size_t n = 0;
    const Step step = finish(SSL_read_ex(ssl_, discard, sizeof discard, &n), n);
    if (step.want != Want::kNothing) return step;
    if (step.ec) return {};  // closed: by close_notify, end of stream or error alike
  }
  // More may be waiting inside OpenSSL (read-ahead), where the socket will
  // not say so: run again rather than wait for it.
  return {SSL_has_pending(ssl_) ? Want::kAgain : Want::kRead, {}, 0};
}

TlsSocket::Step TlsSocket::finish(int result, std::size_t bytes) {
  const int saved_errno = errno;
  if (result > 0) return {Want::kNothing, {}, bytes};
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return {Want::kRead, {}, 0};
    case SSL_ERROR_WANT_WRITE:
      return {Want::kWrite, {}, 0};
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      return {Want::kNothing, net::error::eof, 0};
    case SSL_ERROR_SYSCALL:
      if (const unsigned long code = ERR_get_error()) {
        return {Want::kNothing, error_code(static_cast<int>(code), net::error::get_ssl_category()),
                0};
      }
      if (saved_errno == 0) return {Want::kNothing, ssl::error::stream_truncated, 0};
      return {Want::kNothing, error_code(saved_errno, boost::system::system_category()), 0};
    case SSL_ERROR_SSL: {
      const unsigned long code = ERR_get_error();
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return {Want::kNothing, ssl::error::stream_truncated, 0};  // as Asio says it
      }
      if (code == 0) return {Want::kNothing, net::error::fault, 0};
      return {Want::kNothing, error_code(static_cast<int>(code), net::error::get_ssl_category()),
              0};
    }
    default:  // a callback's wait (X.509 lookup, async engine): none is configured
      return {Want::kNothing, net::error::operation_not_supported, 0};
  }
}

}  // namespace circle::server
