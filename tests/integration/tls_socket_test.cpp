// TlsSocket, the server's TLS layer, against Asio's TLS client on loopback:
// bytes both ways; a backlog larger than the socket holds arrives whole and in
// order; the peer's close_notify and a cut connection are told apart; and once
// its socket is closed it never writes to the descriptor's next owner.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "support/test_server.hpp"
#include "tls_socket.hpp"

namespace {

using namespace circle::server;
using circle::test::test_cert_dir;
constexpr auto kDeadline = std::chrono::seconds(20);

// Reads `size` bytes from `client`; what it read by the deadline (a read
// still waiting then is woken by shutting the socket down).
std::string read_exactly(ssl::stream<tcp::socket>& client, std::size_t size) {
  auto reading = std::async(std::launch::async, [&] {
    std::string bytes(size, '\0');
    error_code ec;
    bytes.resize(net::read(client, net::buffer(bytes), ec));
    return bytes;
  });
  if (reading.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "the client read nothing by the deadline";
    ::shutdown(client.next_layer().native_handle(), SHUT_RDWR);
  }
  return reading.get();
}

// One loopback listener whose accepted connections become TlsSockets on
// `ioc`; clients are Asio's TLS streams, driven from the test's thread.
class Loopback {
 public:
  // `client_tls12_cbc`: the client speaks only TLS 1.2 with a CBC cipher and
  // without encrypt-then-mac (as BoringSSL, NSS, Go and Java clients do),
  // where OpenSSL 3.0 would encrypt a large write as several records at once.
  explicit Loopback(bool client_tls12_cbc = false)
      : server_tls_(ssl::context::tls_server),
        client_tls_(ssl::context::tls_client),
        acceptor_(ioc_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    server_tls_.use_certificate_chain_file(test_cert_dir() + "/server.crt");
    server_tls_.use_private_key_file(test_cert_dir() + "/server.key", ssl::context::pem);
    ::SSL_CTX_set_num_tickets(server_tls_.native_handle(), 0);  // as circled
    client_tls_.load_verify_file(test_cert_dir() + "/ca.crt");
    client_tls_.set_verify_mode(ssl::verify_peer);
    if (client_tls12_cbc) {
      SSL_CTX_set_max_proto_version(client_tls_.native_handle(), TLS1_2_VERSION);
      SSL_CTX_set_cipher_list(client_tls_.native_handle(), "ECDHE-ECDSA-AES128-SHA");
      SSL_CTX_set_options(client_tls_.native_handle(), SSL_OP_NO_ENCRYPT_THEN_MAC);
    }
  }

  // A client connected and handshaken with a server-side TlsSocket.
  struct Connection {
    std::unique_ptr<ssl::stream<tcp::socket>> client;
    std::optional<TlsSocket> server;
  };
  Connection connect(int client_receive_buffer = 0) {
    Connection c;
    c.client = std::make_unique<ssl::stream<tcp::socket>>(client_ioc_, client_tls_);
    auto& socket = c.client->next_layer();
    socket.open(tcp::v4());
    if (client_receive_buffer) {
      socket.set_option(net::socket_base::receive_buffer_size(client_receive_buffer));
    }
    socket.connect(acceptor_.local_endpoint());
    c.server.emplace(acceptor_.accept(net::make_strand(ioc_)), server_tls_);
    auto client_done =
        std::async(std::launch::async, [&] { c.client->handshake(ssl::stream_base::client); });
    std::optional<error_code> server_done;
    c.server->async_handshake([&](error_code ec) { server_done = ec; });
    run_until([&] { return server_done.has_value(); });
    EXPECT_EQ(client_done.wait_for(kDeadline), std::future_status::ready);
    client_done.get();
    EXPECT_EQ(server_done.value_or(net::error::timed_out), error_code{});
    return c;
  }

  // Runs the server's handlers until `done()` or the deadline.
  template <class Done>
  void run_until(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ioc_.restart();
      ioc_.run_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done()) << "not done by the deadline";
  }

  // One read on `server`: its error and bytes.
  std::pair<error_code, std::string> read(TlsSocket& server) {
    std::string bytes(4096, '\0');
    std::optional<std::pair<error_code, std::size_t>> result;
    server.async_read_some(net::buffer(bytes),
                           [&](error_code ec, std::size_t n) { result.emplace(ec, n); });
    run_until([&] { return result.has_value(); });
    if (!result) return {net::error::timed_out, {}};
    bytes.resize(result->second);
    return {result->first, bytes};
  }

 private:
  net::io_context ioc_;
  net::io_context client_ioc_;
  ssl::context server_tls_;
  ssl::context client_tls_;
  tcp::acceptor acceptor_;
};

class TlsSocketBacklog : public testing::TestWithParam<bool> {};

TEST_P(TlsSocketBacklog, CarriesBytesBothWaysAndABacklogArrivesWholeAndInOrder) {
  Loopback loopback(/*client_tls12_cbc=*/GetParam());
  auto c = loopback.connect(/*client_receive_buffer=*/4096);
  net::write(*c.client, net::buffer(std::string("ping")));
  EXPECT_EQ(loopback.read(*c.server).second, "ping");

  // 4 MiB, more than the loopback socket holds: written at once until the
  // socket is full, then (as ServerFrameStream does) the rest in one piece.
  std::string sent(4 << 20, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7919 % 251);
  std::size_t taken = 0;
  error_code ec;
  while (taken < sent.size() && !ec) {
    taken += c.server->write_some(net::buffer(sent.data() + taken, sent.size() - taken), ec);
  }
  ASSERT_EQ(ec, net::error::would_block) << "the socket never filled up";
  ASSERT_LT(taken, sent.size());
  std::optional<error_code> rest_written;
  net::async_write(*c.server, net::buffer(sent.data() + taken, sent.size() - taken),
                   [&](error_code e, std::size_t) { rest_written = e; });
  auto received =
      std::async(std::launch::async, [&] { return read_exactly(*c.client, sent.size()); });
  loopback.run_until([&] { return rest_written.has_value(); });
  EXPECT_EQ(rest_written.value_or(net::error::timed_out), error_code{});
  EXPECT_TRUE(received.get() == sent) << "the backlog arrived changed";
}

INSTANTIATE_TEST_SUITE_P(TlsSocket, TlsSocketBacklog, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls12Cbc" : "Tls13";
                         });

TEST(TlsSocket, TellsThePeersCloseFromACutConnection) {
  Loopback loopback;
  auto closed = loopback.connect();
  // The client's close_notify; its shutdown then waits for the server's.
  auto client_shut = std::async(std::launch::async, [&] {
    error_code ec;
    closed.client->shutdown(ec);
    return ec;
  });
  EXPECT_EQ(loopback.read(*closed.server).first, error_code(net::error::eof));
  std::optional<error_code> server_shut;
  closed.server->async_shutdown([&](error_code ec) { server_shut = ec; });
  loopback.run_until([&] { return server_shut.has_value(); });
  EXPECT_EQ(server_shut.value_or(net::error::timed_out), error_code{});
  ASSERT_EQ(client_shut.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(client_shut.get(), error_code{}) << "the server's close_notify";

  auto cut = loopback.connect();
  cut.client->next_layer().close();  // no close_notify
  EXPECT_EQ(loopback.read(*cut.server).first, error_code(ssl::error::stream_truncated));
}

TEST(TlsSocket, NeverWritesOnceItsSocketIsClosed) {
  Loopback loopback;
  auto first = loopback.connect();
  first.server->next_layer().close();
  // The next connection is likely to get the same descriptor number, which
  // OpenSSL would still hold for the first.
  auto second = loopback.connect();
  error_code ec;
  EXPECT_EQ(first.server->write_some(net::buffer(std::string("not yours")), ec), 0u);
  EXPECT_EQ(ec, net::error::bad_descriptor);
  EXPECT_EQ(loopback.read(*first.server).first, error_code(net::error::bad_descriptor));

  // The second connection's client reads exactly what its own server wrote.
  const std::string mine = "yours";
  EXPECT_EQ(second.server->write_some(net::buffer(mine), ec), mine.size());
  EXPECT_EQ(ec, error_code{});
  EXPECT_EQ(read_exactly(*second.client, mine.size()), mine);
}

}  // namespace
