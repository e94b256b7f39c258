// The real circled over real TLS WebSockets on 127.0.0.1, driven by the real
// client library.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "support/test_server.hpp"

namespace {

using namespace circle::test;
using circle::client::SyncClient;
using circle::v1::ServerMessage;
namespace client = circle::client;

bool is_message(const ServerMessage& m) {
  return m.has_room_event() && m.room_event().has_message_posted();
}

// Collects the message events `client` receives until it has `count` of them.
std::vector<circle::v1::RoomEvent> receive_messages(SyncClient& c, std::size_t count) {
  std::vector<circle::v1::RoomEvent> events;
  while (events.size() < count) {
    auto event = c.wait_event(is_message, kDeadline);
    if (!event) break;
    events.push_back(event->room_event());
  }
  return events;
}

TEST(Server, HelloGetsWelcomeWithLimits) {
  TestServer server;
  auto c = server.connect();
  auto reply = call(*c, hello_with_token(server, "Sam"));
  ASSERT_TRUE(reply.has_welcome()) << reply.DebugString();
  EXPECT_EQ(reply.welcome().protocol_version(), circle::v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(reply.welcome().session_id().size(), 32u);
  EXPECT_EQ(reply.welcome().limits().max_text_bytes(), 4096u);
  EXPECT_EQ(reply.welcome().limits().max_message_bytes(), 65536u);
  EXPECT_NE(reply.welcome().server_version().find("circled"), std::string::npos);
}

TEST(Server, ReadsSettingsFromAConfigFile) {
  const std::string dir = make_temp_dir();
  const std::string file = dir + "/circled.toml";
  std::ofstream(file) << "# a circled config file\nmax-text-bytes = 100\nmax-joined-rooms = 3\n";
  TestServer server({"--config", file});
  auto reply = call(*server.connect(), hello_with_token(server, "Sam"));
  ASSERT_TRUE(reply.has_welcome());
  EXPECT_EQ(reply.welcome().limits().max_text_bytes(), 100u);
  EXPECT_EQ(reply.welcome().limits().max_joined_rooms(), 3u);
  std::filesystem::remove_all(dir);
}

TEST(Server, WrongProtocolVersionIsRefusedAndClosed) {
  TestServer server;
  auto c = server.connect();
  auto hello = hello_with_token(server, "Sam");
  hello.mutable_hello()->set_protocol_version(static_cast<circle::v1::ProtocolVersion>(2));
  auto reply = call(*c, hello);
  ASSERT_TRUE(reply.has_error());
  EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNSUPPORTED_PROTOCOL_VERSION);
  auto closed = c->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1002);
  EXPECT_EQ(closed->reason, "unsupported protocol version");
}

TEST(Server, RequestsBeforeHelloAreRefused) {
  TestServer server;
  auto c = server.connect();
  auto reply = call(*c, client::make_list_rooms());
  ASSERT_TRUE(reply.has_error());
  EXPECT_EQ(reply.error().code(), circle::v1::ERROR_CODE_UNAUTHENTICATED);
  // The connection stays usable.
  EXPECT_TRUE(call(*c, hello_with_token(server, "Sam")).has_welcome());
  EXPECT_TRUE(call(*c, client::make_list_rooms()).has_list_rooms());
}

TEST(Server, NoHelloInTimeCloses) {
  TestServer server({"--hello-timeout", "1"});
  auto c = server.connect();
  auto closed = c->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, "no hello in time");
}

TEST(Server, CreateListJoinLeave) {
  TestServer server;
  auto alex = server.hello("Alex");
  auto created = call(*alex, client::make_create_room("tuesday-evening", "Tuesday evening"));
  ASSERT_TRUE(created.has_create_room()) << created.DebugString();
  EXPECT_EQ(created.create_room().room().title(), "Tuesday evening");
  auto duplicate = call(*alex, client::make_create_room("tuesday-evening", "Again"));
  ASSERT_TRUE(duplicate.has_error());
  EXPECT_EQ(duplicate.error().code(), circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS);
  auto generated = call(*alex, client::make_create_room("", "No id given"));
  ASSERT_TRUE(generated.has_create_room());
  EXPECT_FALSE(generated.create_room().room().room_id().empty());

  auto joined = call(*alex, client::make_join_room("tuesday-evening"));
  ASSERT_TRUE(joined.has_join_room());
  EXPECT_EQ(joined.join_room().snapshot().members(0).role(), circle::v1::ROLE_FACILITATOR);
  auto again = call(*alex, client::make_join_room("tuesday-evening"));
  ASSERT_TRUE(again.has_error());
  EXPECT_EQ(again.error().code(), circle::v1::ERROR_CODE_ALREADY_IN_ROOM);
  auto missing = call(*alex, client::make_join_room("no-such-room"));
  ASSERT_TRUE(missing.has_error());
  EXPECT_EQ(missing.error().code(), circle::v1::ERROR_CODE_ROOM_NOT_FOUND);

  auto sam = server.join("Sam", "tuesday-evening");
  auto list = call(*sam, client::make_list_rooms());
  ASSERT_TRUE(list.has_list_rooms());
  ASSERT_EQ(list.list_rooms().rooms_size(), 2);
  std::map<std::string, std::uint32_t> counts;
  for (const auto& room : list.list_rooms().rooms()) counts[room.room_id()] = room.member_count();
  EXPECT_EQ(counts["tuesday-evening"], 2u);

  auto left = call(*sam, client::make_leave_room("tuesday-evening"));
  ASSERT_TRUE(left.has_leave_room()) << left.DebugString();
  auto not_in = call(*sam, client::make_send_message("tuesday-evening", "hello?"));
  ASSERT_TRUE(not_in.has_error());
  EXPECT_EQ(not_in.error().code(), circle::v1::ERROR_CODE_NOT_IN_ROOM);
}

TEST(Server, EveryMemberGetsEveryMessageOnceInTheSameOrder) {
  TestServer server;
  constexpr int kMembers = 4;
  constexpr int kPerMember = 50;
  std::vector<std::unique_ptr<SyncClient>> members;
  members.push_back(server.join("Member0", "group", /*create=*/true));
  for (int i = 1; i < kMembers; ++i)
    members.push_back(server.join("Member" + std::to_string(i), "group"));

  // Everyone sends at once, from its own thread, without waiting for acks.
  std::vector<std::vector<std::future<ServerMessage>>> acks(kMembers);
  {
    std::vector<std::jthread> senders;
    for (int m = 0; m < kMembers; ++m) {
      senders.emplace_back([&, m] {
        for (int i = 0; i < kPerMember; ++i) {
          acks[m].push_back(members[m]->call_async(client::make_send_message(
              "group", "from " + std::to_string(m) + " #" + std::to_string(i),
              std::to_string(m) + "-" + std::to_string(i))));
        }
      });
    }
  }
  std::map<std::string, std::uint64_t> acked_seq;  // client_message_id -> seq
  for (int m = 0; m < kMembers; ++m) {
    for (int i = 0; i < kPerMember; ++i) {
      ASSERT_EQ(acks[m][i].wait_for(kDeadline), std::future_status::ready);
      auto ack = acks[m][i].get();
      ASSERT_TRUE(ack.has_send_message()) << ack.DebugString();
      acked_seq[std::to_string(m) + "-" + std::to_string(i)] = ack.send_message().seq();
    }
  }

  const std::size_t total = kMembers * kPerMember;
  std::vector<std::uint64_t> reference;
  for (int m = 0; m < kMembers; ++m) {
    auto events = receive_messages(*members[m], total);
    ASSERT_EQ(events.size(), total) << "member " << m << " missed messages";
    std::vector<std::uint64_t> order;
    std::set<std::string> ids;
    for (const auto& event : events) {
      order.push_back(event.seq());
      ids.insert(event.message_posted().client_message_id());
      EXPECT_EQ(acked_seq[event.message_posted().client_message_id()], event.seq())
          << "the ack's seq is the event's seq";
    }
    EXPECT_EQ(ids.size(), total) << "each message exactly once";
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
    // Messages follow the joins with no gap: seqs are consecutive.
    EXPECT_EQ(order.back() - order.front() + 1, total);
    if (m == 0) {
      reference = order;
    } else {
      EXPECT_EQ(order, reference) << "same order for everyone";
    }
    // Per sender, messages arrive in the order they were sent.
    std::map<std::string, int> next_from;
    for (const auto& event : events) {
      const auto& text = event.message_posted().text();
      const std::string sender = text.substr(0, text.find(' ', 5));
      const int index = std::stoi(text.substr(text.find('#') + 1));
      EXPECT_EQ(index, next_from[sender]++) << text;
    }
  }
}

TEST(Server, LeaveAndDisconnectProduceLeaveEvents) {
  TestServer server;
  auto alex = server.join("Alex", "group", true);
  auto sam = server.join("Sam", "group");
  auto riya = server.join("Riya", "group");
  auto left_event = [](const ServerMessage& m) {
    return m.has_room_event() && m.room_event().has_member_left();
  };

  ASSERT_TRUE(call(*sam, client::make_leave_room("group")).has_leave_room());
  auto first = alex->wait_event(left_event, kDeadline);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->room_event().member_left().member().display_name(), "Sam");
  EXPECT_EQ(first->room_event().member_left().reason(), circle::v1::LEAVE_REASON_LEFT);

  riya.reset();  // closes the connection
  auto second = alex->wait_event(left_event, kDeadline);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->room_event().member_left().member().display_name(), "Riya");
  EXPECT_EQ(second->room_event().member_left().reason(), circle::v1::LEAVE_REASON_DISCONNECTED);
  EXPECT_EQ(second->room_event().seq(), first->room_event().seq() + 1);
}

TEST(Server, RandomBytesGetATypedErrorAndTheServerKeepsServing) {
  TestServer server;
  auto alex = server.join("Alex", "group", true);
  auto mallory = server.hello("Mallory");
  mallory->send_raw(std::string("\xff\x13\x37\xde\xad\xbe\xef\x00\x01", 9), /*binary=*/true);
  auto error = mallory->wait_event([](const ServerMessage& m) { return m.has_error(); }, kDeadline);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->request_id(), 0u);
  EXPECT_EQ(error->error().code(), circle::v1::ERROR_CODE_MALFORMED_MESSAGE);
  // Mallory's connection still works, and so does everyone else's.
  EXPECT_TRUE(call(*mallory, client::make_list_rooms()).has_list_rooms());
  auto ack = call(*alex, client::make_send_message("group", "still here"));
  EXPECT_TRUE(ack.has_send_message());
}

TEST(Server, InvalidInputIsRefusedWithTypedErrors) {
  TestServer server;
  auto c = server.connect();
  auto bad_name = call(*c, client::make_hello("\x1b[31mred"));
  ASSERT_TRUE(bad_name.has_error());
  EXPECT_EQ(bad_name.error().code(), circle::v1::ERROR_CODE_INVALID_ARGUMENT);
  ASSERT_TRUE(call(*c, hello_with_token(server, "Sam")).has_welcome());
  ASSERT_TRUE(call(*c, client::make_create_room("group", "Group")).has_create_room());
  ASSERT_TRUE(call(*c, client::make_join_room("group")).has_join_room());

  auto too_long = call(*c, client::make_send_message("group", std::string(4097, 'a')));
  ASSERT_TRUE(too_long.has_error());
  EXPECT_EQ(too_long.error().code(), circle::v1::ERROR_CODE_TEXT_TOO_LONG);

  // Invalid UTF-8 never parses as a protobuf string: malformed.
  circle::v1::ClientMessage raw;
  raw.set_request_id(777);
  raw.mutable_send_message()->set_room_id("group");
  raw.mutable_send_message()->set_text("ok");
  std::string bytes = raw.SerializeAsString();
  bytes.replace(bytes.find("ok"), 2, "\xC3\x28");
  c->send_raw(bytes, true);
  auto malformed = c->wait_event([](const ServerMessage& m) { return m.has_error(); }, kDeadline);
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->error().code(), circle::v1::ERROR_CODE_MALFORMED_MESSAGE);

  auto no_room_id = call(*c, client::make_join_room(""));
  ASSERT_TRUE(no_room_id.has_error());
  EXPECT_EQ(no_room_id.error().code(), circle::v1::ERROR_CODE_INVALID_ARGUMENT);
  // Nothing was posted by any refused request.
  auto ok = call(*c, client::make_send_message("group", "fine"));
  ASSERT_TRUE(ok.has_send_message());
  EXPECT_EQ(ok.send_message().seq(), 2u);
}

TEST(Server, OversizedMessageClosesWithTooBig) {
  TestServer server({"--read-message-max", "8192", "--max-text-bytes", "4096"});
  auto alex = server.join("Alex", "group", true);
  auto mallory = server.hello("Mallory");
  mallory->send_raw(std::string(9000, 'x'), true);
  auto closed = mallory->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1009);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "unaffected")).has_send_message());
}

TEST(Server, TextFrameClosesThatConnectionOnly) {
  TestServer server;
  auto alex = server.join("Alex", "group", true);
  auto mallory = server.hello("Mallory");
  mallory->send_raw("{\"hello\": true}", /*binary=*/false);
  auto closed = mallory->wait_closed(kDeadline);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1003);
  EXPECT_EQ(closed->reason, "binary protobuf messages only");
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "unaffected")).has_send_message());
}

TEST(Server, ClientRefusesACertificateItDoesNotTrust) {
  TestServer server;
  // Trust only the system CAs, which did not sign the development certificate.
  SyncClient stranger(client::make_tls_context(""));
  auto failure = stranger.connect(server.address());
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->reason.find("certificate"), std::string::npos) << failure->reason;
}

TEST(Server, HealthzAnswersOverTlsAndOtherPathsGet4xx) {
  TestServer server;
  namespace beast = boost::beast;
  namespace http = beast::http;
  auto get = [&](const std::string& target) {
    boost::asio::io_context ioc;
    auto tls = server.client_tls();
    beast::ssl_stream<beast::tcp_stream> stream(ioc, *tls);
    boost::asio::ip::tcp::resolver resolver(ioc);
    beast::get_lowest_layer(stream).expires_after(kDeadline);
    beast::get_lowest_layer(stream).connect(
        resolver.resolve(server.address().host, server.address().port));
    stream.handshake(boost::asio::ssl::stream_base::client);
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  };
  auto health = get("/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "{\"status\":\"ok\"}\n");
  EXPECT_EQ(get("/").result_int(), 426);
  EXPECT_EQ(get("/secret").result_int(), 404);
}

TEST(Server, PlaintextModeServesWs) {
  TestServer server({}, /*tls=*/false);
  EXPECT_EQ(server.url().rfind("ws://", 0), 0u);
  auto alex = server.join("Alex", "group", true);
  EXPECT_TRUE(call(*alex, client::make_send_message("group", "plain")).has_send_message());
}

TEST(Server, SigtermClosesEveryClientWithAReasonAndExitsZero) {
  TestServer server;
  auto alex = server.join("Alex", "group", true);
  auto sam = server.join("Sam", "group");
  server.process().signal(SIGTERM);
  for (auto* c : {alex.get(), sam.get()}) {
    auto closed = c->wait_closed(kDeadline);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->code, 1001);
    EXPECT_EQ(closed->reason, "server shutting down");
  }
  auto status = server.process().wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

TEST(Server, RefusesToStartWithoutACertificate) {
  const std::string empty_dir = make_temp_dir();
  ChildProcess circled({circled_path(), "--port", "0", "--cert", empty_dir + "/none.crt", "--key",
                        empty_dir + "/none.key", "--data-dir", empty_dir},
                       {.capture_stdout = true, .capture_stderr = true});
  auto status = circled.wait_exit(kDeadline);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  EXPECT_NE(circled.read_stderr(kDeadline).find("--insecure-plaintext"), std::string::npos);
}

}  // namespace
