// Clients that stop halfway: a member who stops reading must not slow the
// room or grow the server's memory (its outbound queue is bounded, it is
// dropped as "too slow", the others get every message at full speed); a
// connection that stalls in its TLS handshake, before its upgrade request,
// or goes silent is dropped at its deadline.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "circle/wire.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;
using circle::v1::ServerMessage;

// The server's resident memory, KiB.
long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A blocking read on `socket` fails after kDeadline instead of waiting forever.
void give_reads_the_deadline(tcp::socket& socket) {
  const timeval timeout{
      .tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kDeadline).count(), .tv_usec = 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

using TlsTcpStream = beast::ssl_stream<beast::tcp_stream>;

// A raw WebSocket client (over plain TCP, or TLS) that says hello, joins, and
// then never reads again until told to.
template <class Stream>
class StuckReaderOn {
  static constexpr bool kTls = std::is_same_v<Stream, TlsTcpStream>;

 public:
  StuckReaderOn(const TestServer& server, const std::string& room) : ws_(make_stream(server)) {
    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.open(tcp::v4());
    // A small window: the server's writes stall after little data.
    socket.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    tcp::resolver resolver(ioc_);
    beast::get_lowest_layer(ws_).connect(
        resolver.resolve(server.address().host, server.address().port));
    if constexpr (kTls) ws_.next_layer().handshake(boost::asio::ssl::stream_base::client);
    ws_.handshake(server.address().host, "/");
    ws_.binary(true);
    auto hello = client::make_hello("", "stuck", server.token("stuck", "Stuck"));
    hello.set_request_id(1);
    ask(hello, [](const ServerMessage& m) { return m.request_id() == 1; });
    auto join = client::make_join_room(room);
    join.set_request_id(2);
    ask(join, [](const ServerMessage& m) { return m.request_id() == 2; });
  }

  // Sends a close frame (code 1000) by hand, then reads the raw bytes until
  // the server ends the connection, and returns the opcodes of the frames
  // they held, in order. Only when nothing was sent since the last read
  // (Beast may not hold bytes of a frame the raw read would cut in two).
  std::vector<int> close_and_read_frames() {
    static_assert(!kTls, "reads the raw bytes of frames");
    auto& socket = ws_.next_layer().socket();
    // FIN + close, masked, 2-byte payload 1000 (0x03E8) under the mask 0x01020304.
    const unsigned char close_frame[] = {0x88, 0x82, 0x01,        0x02,
                                         0x03, 0x04, 0x03 ^ 0x01, 0xE8 ^ 0x02};
    boost::asio::write(socket, boost::asio::buffer(close_frame));
    give_reads_the_deadline(socket);
    std::string bytes;
    char chunk[65536];
    for (;;) {
      const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
      if (n <= 0) break;
      bytes.append(chunk, static_cast<std::size_t>(n));
    }
    std::vector<int> opcodes;
    std::size_t at = 0;
    while (at + 2 <= bytes.size()) {
      const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
      std::uint64_t length = byte(at + 1) & 0x7F;
      std::size_t header = 2;
      if (length == 126) {
        length = (std::uint64_t{byte(at + 2)} << 8) | byte(at + 3);
        header = 4;
      } else if (length == 127) {
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | byte(at + 2 + i);
        header = 10;
      }
      opcodes.push_back(byte(at) & 0x0F);
      at += header + length;
    }
    return opcodes;
  }

  // Ends the client's side of the TCP connection (FIN), still not reading.
  void hang_up() { ::shutdown(beast::get_lowest_layer(ws_).socket().native_handle(), SHUT_WR); }

  // Reads again: the seqs of the next `count` posted messages, in the order
  // they arrive (batches unwrapped). Fails the test at the deadline.
  std::vector<std::uint64_t> read_posted(std::size_t count) {
    give_reads_the_deadline(beast::get_lowest_layer(ws_).socket());
    std::vector<std::uint64_t> seqs;
    while (seqs.size() < count) {
      beast::flat_buffer buffer;
      beast::error_code ec;
      ws_.read(buffer, ec);
      if (ec) {
        ADD_FAILURE() << "read: " << ec.message() << " after " << seqs.size() << " messages";
        break;
      }
      circle::wire::for_each_server_message(
          beast::buffers_to_string(buffer.data()), [&](const ServerMessage& m) {
            if (m.has_room_event() && m.room_event().has_message_posted()) {
              seqs.push_back(m.room_event().seq());
            }
          });
    }
    return seqs;
  }

 private:
  template <class Done>
  void ask(const circle::v1::ClientMessage& request, Done done) {
    ws_.write(boost::asio::buffer(request.SerializeAsString()));
    for (;;) {
      beast::flat_buffer buffer;
      ws_.read(buffer);
      ServerMessage reply;
      if (!reply.ParseFromString(beast::buffers_to_string(buffer.data()))) continue;
      if (done(reply)) return;
    }
  }

  websocket::stream<Stream> make_stream(const TestServer& server) {
    if constexpr (kTls) {
      tls_ = server.client_tls();
      return websocket::stream<Stream>(ioc_, *tls_);
    } else {
      return websocket::stream<Stream>(ioc_);
    }
  }

  boost::asio::io_context ioc_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  websocket::stream<Stream> ws_;
};
using StuckReader = StuckReaderOn<beast::tcp_stream>;
using TlsStuckReader = StuckReaderOn<TlsTcpStream>;

bool is_posted(const ServerMessage& m) {
  return m.has_room_event() && m.room_event().has_message_posted();
}

TEST(SlowConsumer, AReaderThatStopsIsDroppedAndTheRoomGoesOn) {
  TestServer server({"--requests-per-second", "0", "--outbound-queue-max-bytes", "65536",
                     "--http-request-timeout", "1"},
                    /*tls=*/false);
  auto alex = server.join("Alex", "group", /*create=*/true);
  auto sam = server.join("Sam", "group");
  StuckReader stuck(server, "group");
  const long rss_before = rss_kib(server.process().pid());

  // Alex floods the room until the stuck member is let go (its leave is an
  // event Sam sees), then keeps talking; bounded either way.
  const std::string big(3000, 'x');
  int sent = 0;
  bool dropped = false;
  auto on_leave = [&](const ServerMessage& m) {
    return m.has_room_event() && m.room_event().has_member_left() &&
           m.room_event().member_left().member().display_name() == "Stuck";
  };
  std::vector<std::uint64_t> seqs;
  for (; sent < 20'000 && !dropped; ++sent) {
    auto ack = call(*alex, client::make_send_message("group", big + std::to_string(sent)));
    ASSERT_TRUE(ack.has_send_message()) << ack.DebugString();
    seqs.push_back(ack.send_message().seq());
    // Sam reads as it goes: the member who reads is never held back.
    auto event = sam->wait_event(
        [&](const ServerMessage& m) {
          if (on_leave(m)) dropped = true;
          return is_posted(m) || on_leave(m);
        },
        kDeadline);
    ASSERT_TRUE(event);
    if (is_posted(*event)) {
      ASSERT_EQ(event->room_event().seq(), seqs.back());
    } else {
      // The leave came first; the message is next.
      auto posted = sam->wait_event(is_posted, kDeadline);
      ASSERT_TRUE(posted);
      ASSERT_EQ(posted->room_event().seq(), seqs.back());
    }
  }
  ASSERT_TRUE(dropped) << "the stuck member was never dropped after " << sent << " messages";
  // The room goes on: more messages, each to Sam in order.
  for (int i = 0; i < 20; ++i) {
    auto ack = call(*alex, client::make_send_message("group", "after " + std::to_string(i)));
    ASSERT_TRUE(ack.has_send_message());
    auto posted = sam->wait_event(is_posted, kDeadline);
    ASSERT_TRUE(posted);
    EXPECT_EQ(posted->room_event().message_posted().text(), "after " + std::to_string(i));
  }
  // Memory stayed bounded: the stuck member's queue was capped at 64 KiB and
  // the rest is the room's own history (a few MiB of 3 KB messages). Not
  // under AddressSanitizer, whose quarantine keeps freed memory resident.
#if !defined(__SANITIZE_ADDRESS__)
  const long rss_after = rss_kib(server.process().pid());
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "KiB grown: " << rss_after - rss_before;
#else
  (void)rss_before;
#endif
}

// A member whose client stops reading for a while (a phone in a tunnel) and
// then reads again gets every message, once and in order: the server wrote
// what the socket took at once and the rest when it drained. Over TLS too,
// where a record the socket could not take waits in OpenSSL and the next
// write must begin with its bytes.
template <class Reader>
void a_reader_that_pauses_gets_every_message_in_order(bool tls) {
  TestServer server({"--requests-per-second", "0", "--outbound-queue-max-bytes", "33554432",
                     "--store-sync", "normal"},
                    tls);
  auto alex = server.join("Alex", "group", /*create=*/true);
  Reader paused(server, "group");
  // About 8 MB: more than the socket buffers between them hold (a loopback
  // send buffer grows to 4 MiB here), less than its outbound queue may.
  const std::string text(3000, 'x');
  std::vector<std::future<ServerMessage>> replies;
  for (int i = 0; i < 2800; ++i) {
    replies.push_back(
        alex->call_async(client::make_send_message("group", text + std::to_string(i))));
  }
  std::vector<std::uint64_t> acked;
  for (auto& reply : replies) {
    ASSERT_EQ(reply.wait_for(kDeadline), std::future_status::ready);
    auto ack = reply.get();
    ASSERT_TRUE(ack.has_send_message()) << ack.DebugString();
    acked.push_back(ack.send_message().seq());
  }
  EXPECT_EQ(paused.read_posted(acked.size()), acked);
}

TEST(SlowConsumer, AReaderThatPausesGetsEveryMessageInOrderOnceItReadsAgain) {
  a_reader_that_pauses_gets_every_message_in_order<StuckReader>(/*tls=*/false);
}

TEST(SlowConsumer, ATlsReaderThatPausesGetsEveryMessageInOrderOnceItReadsAgain) {
  a_reader_that_pauses_gets_every_message_in_order<TlsStuckReader>(/*tls=*/true);
}

// A client that hangs up (FIN) while the server still has a backlog waiting
// for it, and never reads again: the server lets the connection go, rather
// than holding the waiting write, the session and its socket for good.
TEST(SlowConsumer, AClientThatHangsUpWithABacklogWaitingIsLetGo) {
  TestServer server({"--requests-per-second", "0", "--outbound-queue-max-bytes", "33554432",
                     "--store-sync", "normal"},
                    /*tls=*/false);
  auto alex = server.join("Alex", "group", /*create=*/true);
  StuckReader leaving(server, "group");
  const std::string text(3000, 'x');
  std::vector<std::future<ServerMessage>> replies;
  for (int i = 0; i < 2800; ++i) {  // more than the sockets between them hold
    replies.push_back(alex->call_async(client::make_send_message("group", text)));
  }
  for (auto& reply : replies) ASSERT_EQ(reply.wait_for(kDeadline), std::future_status::ready);
  const auto connections = [&] {
    return metric_sample(http_get(server.metrics_url()).body, "circle_connections");
  };
  ASSERT_EQ(connections(), 2);
  leaving.hang_up();
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (connections() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
  EXPECT_EQ(connections(), 1) << "the hung-up connection is still held";
}

// A client that closes while its room is busy: the server answers with its
// close frame and sends nothing after it (RFC 6455 section 5.5.1), however
// many messages were on their way to that client.
TEST(SlowConsumer, NothingFollowsTheServersCloseFrame) {
  TestServer server({"--requests-per-second", "0", "--store-sync", "normal"}, /*tls=*/false);
  auto alex = server.join("Alex", "group", /*create=*/true);
  for (int round = 0; round < 5; ++round) {
    StuckReader leaving(server, "group");
    std::vector<std::future<ServerMessage>> replies;
    for (int i = 0; i < 300; ++i) {
      replies.push_back(
          alex->call_async(client::make_send_message("group", "busy " + std::to_string(i))));
    }
    const auto opcodes = leaving.close_and_read_frames();
    ASSERT_FALSE(opcodes.empty());
    EXPECT_EQ(opcodes.back(), 0x8) << "round " << round << ": the last frame is the close";
    EXPECT_EQ(std::count(opcodes.begin(), opcodes.end(), 0x8), 1) << "round " << round;
    for (auto& reply : replies) ASSERT_EQ(reply.wait_for(kDeadline), std::future_status::ready);
  }
}

}  // namespace

namespace {

// Reads from a raw socket until the server closes it; true if it did
// before the deadline.
bool server_drops(tcp::socket& socket) {
  give_reads_the_deadline(socket);
  char byte;
  for (;;) {
    const auto n = ::recv(socket.native_handle(), &byte, 1, 0);
    if (n == 0) return true;                // closed
    if (n < 0) return errno == ECONNRESET;  // reset, or the timeout: still open
  }
}

TEST(Deadlines, AHalfOpenTlsHandshakeIsDropped) {
  TestServer server({"--tls-handshake-timeout", "1"});
  boost::asio::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  boost::asio::connect(socket, resolver.resolve(server.address().host, server.address().port));
  // Never says hello at the TLS layer.
  EXPECT_TRUE(server_drops(socket));
  // The server still serves everyone else.
  EXPECT_TRUE(server.sign_in("sam") != nullptr);
}

TEST(Deadlines, AConnectionThatNeverSendsItsUpgradeRequestIsDropped) {
  TestServer server({"--http-request-timeout", "1"}, /*tls=*/false);
  boost::asio::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  boost::asio::connect(socket, resolver.resolve(server.address().host, server.address().port));
  EXPECT_TRUE(server_drops(socket));
}

TEST(Deadlines, ASilentClientIsDroppedAfterTheIdleTimeout) {
  TestServer server({"--idle-timeout", "1"}, /*tls=*/false);
  auto alex = server.join("Alex", "group", /*create=*/true);
  StuckReader silent(server, "group");  // never reads again, so never answers a ping
  auto left = alex->wait_event(
      [](const ServerMessage& m) {
        return m.has_room_event() && m.room_event().has_member_left() &&
               m.room_event().member_left().member().display_name() == "Stuck";
      },
      kDeadline);
  EXPECT_TRUE(left) << "the silent member was not dropped";
  // Alex answered the pings (its library reads all the time) and is still here.
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "still here")).has_send_message());
}

// SIGTERM in the middle of traffic, with one member who never reads and so
// never answers the close: circled still exits at its shutdown deadline (the
// stuck member would hold it for as long as its close handshake may take),
// closes every other client with 1001, and everything it acknowledged is
// there after a restart.
TEST(Drain, SigtermUnderLoadKeepsItsDeadlineAndLosesNothingAcknowledged) {
  const std::string dir = make_temp_dir();
  const std::vector<std::string> args = {
      "--shutdown-timeout", "2",      "--http-request-timeout",    "60",
      "--idle-timeout",     "60",     "--requests-per-second",     "0",
      "--store-sync",       "normal", "--snapshot-history-events", "10000"};
  std::map<std::uint64_t, std::string> acked;  // seq → text
  {
    TestServer server(args, /*tls=*/false, dir);
    std::vector<std::unique_ptr<client::SyncClient>> members;
    members.push_back(server.join("Alex", "group", /*create=*/true));
    StuckReader stuck(server, "group");
    for (int i = 0; i < 3; ++i) members.push_back(server.join("M" + std::to_string(i), "group"));

    std::mutex mutex;
    std::condition_variable acked_more;
    // Joined (after a stop request) when the test ends, also by a failed ASSERT.
    std::vector<std::jthread> senders;
    for (std::size_t n = 0; n < members.size(); ++n) {
      senders.emplace_back([&, n](std::stop_token stop) {
        for (int i = 0; i < 100'000 && !stop.stop_requested(); ++i) {
          const std::string text = "member " + std::to_string(n) + " says " + std::to_string(i);
          auto reply = members[n]->call(client::make_send_message("group", text, text), kDeadline);
          if (!reply || !reply->has_send_message()) return;  // closed by the drain
          std::lock_guard lock(mutex);
          acked.emplace(reply->send_message().seq(), text);
          acked_more.notify_all();
        }
      });
    }
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(acked_more.wait_for(lock, kDeadline, [&] { return acked.size() >= 300; }));
    }
    server.process().signal(SIGTERM);
    const auto status = server.process().wait_exit(kDeadline);
    ASSERT_TRUE(status) << "circled did not exit within its shutdown deadline";
    EXPECT_EQ(*status, 0);
    for (auto& sender : senders) sender.join();
    for (auto& member : members) {
      auto closed = member->wait_closed(kDeadline);
      ASSERT_TRUE(closed);
      EXPECT_EQ(closed->code, 1001);
    }
  }
  TestServer server(args, /*tls=*/false, dir);
  auto later = server.hello("Later");
  auto joined = call(*later, client::make_join_room("group"));
  ASSERT_TRUE(joined.has_join_room()) << joined.DebugString();
  std::map<std::uint64_t, std::string> stored;
  for (const auto& event : joined.join_room().snapshot().recent_events()) {
    if (event.has_message_posted()) stored.emplace(event.seq(), event.message_posted().text());
  }
  ASSERT_GE(acked.size(), 300u);
  for (const auto& [seq, text] : acked) {
    auto found = stored.find(seq);
    ASSERT_NE(found, stored.end()) << "acknowledged message " << seq << " lost";
    EXPECT_EQ(found->second, text);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
