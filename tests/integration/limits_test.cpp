// Issue 7's limits, each just under (accepted) and just over (a typed error
// or a close), with the rest of the server unaffected.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;
namespace beast = boost::beast;
namespace http = beast::http;

bool refused_with(const v1::ServerMessage& reply, v1::ErrorCode code) {
  return reply.has_error() && reply.error().code() == code;
}

// Sends `request` as raw bytes, past the client library's own pacing (a
// flooder does not pace itself), and waits for its reply.
std::optional<v1::ServerMessage> unpaced_call(client::SyncClient& c, v1::ClientMessage request) {
  static std::uint64_t next_id = 1'000'000;
  const std::uint64_t id = ++next_id;
  request.set_request_id(id);
  c.send_raw(request.SerializeAsString(), true);
  return c.wait_event([id](const v1::ServerMessage& m) { return m.request_id() == id; }, kDeadline);
}

TEST(Limits, AFlooderIsRateLimitedThenClosedWhileTheRoomGoesOn) {
  // 5 requests at once, then 1 a second; closed after 10 refusals in a row.
  TestServer server(
      {"--requests-per-second", "1", "--request-burst", "5", "--rate-limited-close-after", "10"});
  auto alex = server.join("Alex", "group", /*create=*/true);  // hello + create + join: 3
  auto sam = server.join("Sam", "group");
  // What is left of Alex's burst is accepted; the request after it is not.
  int accepted = 0;
  v1::ServerMessage refused;
  for (int i = 0; i < 6; ++i) {
    auto reply =
        unpaced_call(*alex, client::make_send_message("group", "hello " + std::to_string(i)));
    ASSERT_TRUE(reply);
    if (!reply->has_send_message()) {
      refused = *reply;
      break;
    }
    ++accepted;
  }
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 4);  // signing in and joining took at least one of the 5
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_RATE_LIMITED);
  EXPECT_NE(refused.error().message().find("at most 1 a second"), std::string::npos);

  // Keeping on regardless: refused each time, then closed as a policy violation.
  for (int i = 0; i < 20 && !alex->is_closed(); ++i) {
    unpaced_call(*alex, client::make_send_message("group", "flood"));
  }
  auto closed = alex->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_NE(closed->reason.find("rate limit"), std::string::npos) << closed->reason;

  // Sam, in the same room, was never limited and still talks.
  EXPECT_TRUE(call(*sam, client::make_send_message("group", "still here")).has_send_message());
}

// Connects a fresh client; the failure's reason, or "" when it connected.
std::string try_connect(const TestServer& server, std::unique_ptr<client::SyncClient>& out,
                        const std::string& origin = {}) {
  out = std::make_unique<client::SyncClient>(server.client_tls());
  client::ConnectOptions options;
  options.origin = origin;
  auto failure = out->connect(server.address(), options);
  return failure ? failure->reason : "";
}

// Connects until it succeeds (a closed connection's place comes back once
// the server has let it go) or the deadline passes.
bool connects_again(const TestServer& server) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::unique_ptr<client::SyncClient> again;
  while (std::chrono::steady_clock::now() < deadline) {
    if (try_connect(server, again).empty()) return true;
  }
  return false;
}

TEST(Limits, OneAddressGetsItsCapOfConnectionsAndAPlaceBackWhenOneCloses) {
  TestServer server({"--max-connections-per-address", "2"});
  auto first = server.connect();
  auto second = server.connect();  // just under
  std::unique_ptr<client::SyncClient> third;
  const auto refused = try_connect(server, third);  // just over
  EXPECT_NE(refused.find("HTTP 429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too many connections from your network address"), std::string::npos);
  // The two inside are unaffected.
  EXPECT_TRUE(call(*first, client::make_hello("", "t", server.token("a", "A"))).has_welcome());
  first->close(1000, "bye");
  ASSERT_TRUE(first->wait_closed(kDeadline));
  EXPECT_TRUE(connects_again(server));
}

TEST(Limits, AFullServerSaysSo) {
  TestServer server({"--max-connections", "1"});
  auto only = server.connect();
  std::unique_ptr<client::SyncClient> another;
  const auto refused = try_connect(server, another);
  EXPECT_NE(refused.find("HTTP 503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("the server is full"), std::string::npos) << refused;
  EXPECT_TRUE(call(*only, client::make_hello("", "t", server.token("a", "A"))).has_welcome());
}

TEST(Limits, PastTheRefusalBudgetAConnectionOverACapIsClosedUnanswered) {
  TestServer server({"--max-connections", "1", "--max-refusals-in-progress", "0"});
  auto only = server.connect();
  std::unique_ptr<client::SyncClient> another;
  const auto refused = try_connect(server, another);
  EXPECT_FALSE(refused.empty());
  EXPECT_EQ(refused.find("HTTP"), std::string::npos) << "no handshake, no answer: " << refused;
  EXPECT_TRUE(call(*only, client::make_hello("", "t", server.token("a", "A"))).has_welcome());
}

TEST(Limits, AnAccountGetsItsCapOfSignedInConnections) {
  TestServer server({"--max-connections-per-account", "2"});
  auto phone = server.sign_in("sam");
  auto laptop = server.sign_in("sam");  // just under
  auto tablet = server.connect();       // just over
  auto refused = call(*tablet, client::make_hello("", "t", server.token("sam", "Sam")));
  ASSERT_TRUE(refused.has_error()) << refused.DebugString();
  EXPECT_EQ(refused.error().code(), v1::ERROR_CODE_LIMIT_EXCEEDED);
  auto closed = tablet->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  // Another account is not affected, and the first two still work.
  EXPECT_TRUE(server.sign_in("alex") != nullptr);
  EXPECT_TRUE(call(*phone, client::make_list_rooms()).has_list_rooms());
  laptop->close(1000, "bye");
  ASSERT_TRUE(laptop->wait_closed(kDeadline));
  // Its place comes back once the server has let the connection go.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool signed_in = false;
  while (!signed_in && std::chrono::steady_clock::now() < deadline) {
    auto again = server.connect();
    signed_in = call(*again, client::make_hello("", "t", server.token("sam", "Sam"))).has_welcome();
  }
  EXPECT_TRUE(signed_in);
}

TEST(Limits, OnlyAllowedBrowserOriginsMayConnect) {
  TestServer server({"--allowed-origin", "https://circle.example.org"});
  std::unique_ptr<client::SyncClient> c;
  const auto refused = try_connect(server, c, "https://elsewhere.example");
  EXPECT_NE(refused.find("HTTP 403"), std::string::npos) << refused;
  EXPECT_EQ(try_connect(server, c, "https://circle.example.org"), "");
  EXPECT_EQ(try_connect(server, c), "");  // not a browser: no Origin, no check
}

TEST(Limits, RoomsAndMembersHoldAtTheirCounts) {
  TestServer server({"--max-rooms", "2", "--max-room-members", "2"});
  auto alex = server.hello("Alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("first", "First")).has_create_room());
  ASSERT_TRUE(call(*alex, client::make_create_room("second", "Second")).has_create_room());
  auto third = call(*alex, client::make_create_room("third", "Third"));  // one room over
  ASSERT_TRUE(refused_with(third, v1::ERROR_CODE_LIMIT_EXCEEDED)) << third.DebugString();
  EXPECT_NE(third.error().message().find("maximum of 2 rooms"), std::string::npos);

  ASSERT_TRUE(call(*alex, client::make_join_room("first")).has_join_room());
  auto sam = server.hello("Sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("first")).has_join_room());  // the 2nd member
  auto riya = server.hello("Riya");
  auto full = call(*riya, client::make_join_room("first"));  // one member over
  ASSERT_TRUE(refused_with(full, v1::ERROR_CODE_LIMIT_EXCEEDED)) << full.DebugString();
  EXPECT_NE(full.error().message().find("is full"), std::string::npos);
  // The members inside are unaffected, the other room is open, and a place
  // that is given up can be taken.
  EXPECT_TRUE(call(*sam, client::make_send_message("first", "still here")).has_send_message());
  EXPECT_TRUE(call(*riya, client::make_join_room("second")).has_join_room());
  ASSERT_TRUE(call(*sam, client::make_leave_room("first")).has_leave_room());
  EXPECT_TRUE(call(*riya, client::make_join_room("first")).has_join_room());
}

TEST(Limits, AConnectionJoinsAtMostItsCapOfRoomsAndALeaveGivesAPlaceBack) {
  TestServer server({"--max-joined-rooms", "2"});
  auto alex = server.hello("Alex");
  for (const char* room : {"first", "second", "third"}) {
    ASSERT_TRUE(call(*alex, client::make_create_room(room, room)).has_create_room());
  }
  ASSERT_TRUE(call(*alex, client::make_join_room("first")).has_join_room());
  ASSERT_TRUE(call(*alex, client::make_join_room("second")).has_join_room());  // just under
  auto third = call(*alex, client::make_join_room("third"));                   // just over
  ASSERT_TRUE(refused_with(third, v1::ERROR_CODE_LIMIT_EXCEEDED)) << third.DebugString();
  // The rooms it is in are unaffected, and leaving one makes room for another.
  EXPECT_TRUE(call(*alex, client::make_send_message("second", "still here")).has_send_message());
  ASSERT_TRUE(call(*alex, client::make_leave_room("first")).has_leave_room());
  EXPECT_TRUE(call(*alex, client::make_join_room("third")).has_join_room());
}

TEST(Limits, NamesTitlesAgreementsAndTextHoldAtTheirLengths) {
  TestServer server({"--max-display-name-bytes", "12", "--max-room-title-bytes", "20",
                     "--max-agreement-bytes", "40", "--max-text-bytes", "64"});
  auto c = server.connect();
  const auto token = server.token("sam");
  auto long_name = call(*c, client::make_hello(std::string(13, 'n'), "t", token));
  EXPECT_TRUE(refused_with(long_name, v1::ERROR_CODE_INVALID_ARGUMENT)) << long_name.DebugString();
  // Multi-byte UTF-8 counts in bytes: six two-byte letters are 12.
  auto named = call(*c, client::make_hello("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "t", token));
  ASSERT_TRUE(named.has_welcome()) << named.DebugString();

  auto long_title = call(*c, client::make_create_room("tuesday", std::string(21, 't')));
  EXPECT_TRUE(refused_with(long_title, v1::ERROR_CODE_INVALID_ARGUMENT));
  ASSERT_TRUE(
      call(*c, client::make_create_room("tuesday", std::string(20, 't'))).has_create_room());
  ASSERT_TRUE(call(*c, client::make_join_room("tuesday")).has_join_room());

  const auto edit_agreement = [&](std::size_t bytes) {
    auto edit = client::make_room_action("tuesday");
    edit.mutable_room_action()->mutable_edit_room()->set_agreement(std::string(bytes, 'a'));
    return call(*c, edit);
  };
  EXPECT_TRUE(refused_with(edit_agreement(41), v1::ERROR_CODE_INVALID_ARGUMENT));
  EXPECT_TRUE(edit_agreement(40).has_room_action());

  auto long_text = call(*c, client::make_send_message("tuesday", std::string(65, 'x')));
  EXPECT_TRUE(refused_with(long_text, v1::ERROR_CODE_TEXT_TOO_LONG));
  auto sent = call(*c, client::make_send_message("tuesday", std::string(64, 'x')));
  ASSERT_TRUE(sent.has_send_message()) << sent.DebugString();
  EXPECT_EQ(sent.send_message().seq(), 3u) << "nothing refused was posted (join, agreement, text)";
}

TEST(Limits, AWebSocketMessageOfTheLargestSizeIsReadAndOneByteMoreCloses) {
  TestServer server({"--read-message-max", "2048", "--max-text-bytes", "1024"});
  auto alex = server.join("Alex", "group", /*create=*/true);
  // A SendMessage of exactly `bytes` on the wire: a short text and an
  // unknown field (which a server must skip) as padding.
  const auto message_of_size = [](std::size_t bytes, std::uint64_t request_id) {
    auto send = client::make_send_message("group", "padded");
    send.set_request_id(request_id);
    std::string wire = send.SerializeAsString();
    const std::string tag = "\xfa\x7f";  // field 2047, length-delimited
    std::string length;
    for (std::size_t padding = bytes - wire.size() - tag.size() - 1;; --padding) {
      length.clear();
      for (std::size_t v = padding; v >= 0x80; v >>= 7) length += static_cast<char>(v | 0x80);
      length += static_cast<char>(padding >> (7 * length.size()));
      if (wire.size() + tag.size() + length.size() + padding == bytes) {
        return wire + tag + length + std::string(padding, 'p');
      }
    }
  };
  alex->send_raw(message_of_size(2048, 9001), true);
  auto reply = alex->wait_event([](const v1::ServerMessage& m) { return m.request_id() == 9001; },
                                kDeadline);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->has_send_message()) << reply->DebugString();
  auto sam = server.join("Sam", "group");
  sam->send_raw(message_of_size(2049, 9002), true);
  auto closed = sam->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1009);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "unaffected")).has_send_message());
}

// Sends an upgrade request of exactly `bytes` (request line, fields and the
// blank line) over TLS and returns the HTTP status the server answers.
int upgrade_status_for_request_of(const TestServer& server, std::size_t bytes) {
  boost::asio::io_context ioc;
  auto tls = server.client_tls();
  boost::asio::ssl::stream<beast::tcp_stream> stream(ioc, *tls);
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::get_lowest_layer(stream).connect(
      resolver.resolve(server.address().host, server.address().port));
  stream.handshake(boost::asio::ssl::stream_base::client);
  const std::string head =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "X-Padding: ";
  const std::string tail = "\r\n\r\n";
  EXPECT_GT(bytes, head.size() + tail.size());
  const std::string request = head + std::string(bytes - head.size() - tail.size(), 'p') + tail;
  boost::asio::write(stream, boost::asio::buffer(request));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code ec;
  http::read(stream, buffer, response, ec);
  if (ec) ADD_FAILURE() << "no HTTP answer: " << ec.message();
  return response.result_int();
}

TEST(Limits, AnUpgradeRequestHeaderOfTheLargestSizeIsAcceptedAndOneByteMoreIsRefused) {
  TestServer server({"--http-header-limit", "1024"});
  EXPECT_EQ(upgrade_status_for_request_of(server, 1024), 101);
  EXPECT_EQ(upgrade_status_for_request_of(server, 1025), 431);
  EXPECT_EQ(upgrade_status_for_request_of(server, 4096), 431);
  // The server goes on serving.
  EXPECT_TRUE(server.hello("Sam") != nullptr);
}

}  // namespace
