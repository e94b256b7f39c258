// The dispatcher without a socket: one connection's requests decoded,
// checked and answered, with the rooms on the memory backend.
#include "dispatcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "auth/token.hpp"
#include "clock.hpp"
#include "rooms/memory_backend.hpp"
#include "support_escalation.hpp"

namespace circle::test {
namespace {

using namespace circle::v1;

// What the network floor would write to the socket, and its close.
class RecordingOutbox : public server::Outbox {
 public:
  void deliver(circle::wire::Frame frame) override {
    ServerMessage message;
    ASSERT_TRUE(message.ParseFromString(*frame));
    sent.push_back(std::move(message));
  }
  void removed_from_room(const std::string&, std::uint64_t) override {}
  void close(std::uint16_t code, std::string) override { closed_with = code; }

  std::vector<ServerMessage> sent;
  std::optional<std::uint16_t> closed_with;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    config_.token_secret = std::string(40, 's');
    dispatcher_.attach(outbox_);
  }
  // Sends `request` as the client would, and returns the one reply to it.
  ServerMessage ask(ClientMessage request) {
    request.set_request_id(++last_request_id_);
    return send_bytes(request.SerializeAsString(), last_request_id_);
  }
  ServerMessage send_bytes(const std::string& bytes, std::uint64_t request_id) {
    const auto before = outbox_->sent.size();
    dispatcher_.on_message(bytes);
    ioc_.restart();
    ioc_.poll();
    for (auto at = before; at < outbox_->sent.size(); ++at) {
      if (outbox_->sent[at].request_id() == request_id) return outbox_->sent[at];
    }
    ADD_FAILURE() << "no reply to request " << request_id;
    return {};
  }
  ClientMessage hello(const std::string& token) {
    ClientMessage message;
    message.mutable_hello()->set_protocol_version(PROTOCOL_VERSION_1);
    message.mutable_hello()->set_token(token);
    return message;
  }
  std::string token_for(const std::string& account, const std::string& secret) {
    return auth::mint_token(
        {.account_id = account, .name = "Sam", .expires_at = server::now_unix_ms() / 1000 + 3600},
        secret);
  }
  static ClientMessage list_rooms() {
    ClientMessage message;
    message.mutable_list_rooms();
    return message;
  }

  boost::asio::io_context ioc_;
  server::Config config_;
  server::Metrics metrics_;
  server::MemoryBackend backend_;
  server::RoomRegistry rooms_{ioc_.get_executor(), config_.limits, backend_, metrics_};
  server::SessionTracker sessions_;
  server::ConnectionLimits limits_{config_.connection_caps};
  server::OperatorDesk operators_;
  server::ServerContext context_{config_, rooms_, sessions_, limits_, metrics_, operators_};
  server::Dispatcher dispatcher_{context_, 1, boost::asio::make_strand(ioc_)};
  std::shared_ptr<RecordingOutbox> outbox_ = std::make_shared<RecordingOutbox>();
  std::uint64_t last_request_id_ = 0;
};

TEST_F(DispatcherTest, EveryRequestBeforeHelloIsRefusedUnauthenticated) {
  EXPECT_EQ(ask(list_rooms()).error().code(), ERROR_CODE_UNAUTHENTICATED);
  EXPECT_FALSE(outbox_->closed_with);
}

TEST_F(DispatcherTest, AValidTokenIsWelcomedUnderItsNameAndASecondHelloIsRefused) {
  const auto welcome = ask(hello(token_for("acct-sam", config_.token_secret)));
  ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  EXPECT_EQ(welcome.welcome().display_name(), "Sam");
  EXPECT_TRUE(dispatcher_.said_hello());
  EXPECT_EQ(ask(hello(token_for("acct-sam", config_.token_secret))).error().code(),
            ERROR_CODE_ALREADY_AUTHENTICATED);
  EXPECT_TRUE(ask(list_rooms()).has_list_rooms());
}

TEST_F(DispatcherTest, ATokenSignedWithAnotherSecretIsRefusedAndTheConnectionClosed) {
  const auto refused = ask(hello(token_for("acct-sam", std::string(40, 'x'))));
  EXPECT_EQ(refused.error().code(), ERROR_CODE_UNAUTHENTICATED);
  EXPECT_FALSE(dispatcher_.said_hello());
  EXPECT_TRUE(outbox_->closed_with);
}

TEST_F(DispatcherTest, BytesThatAreNoClientMessageGetATypedErrorAndTheConnectionGoesOn) {
  const auto refused = send_bytes("\xff\xff\xff not protobuf", 0);
  EXPECT_EQ(refused.error().code(), ERROR_CODE_MALFORMED_MESSAGE);
  EXPECT_FALSE(outbox_->closed_with);
  EXPECT_TRUE(ask(hello(token_for("acct-sam", config_.token_secret))).has_welcome());
}

TEST_F(DispatcherTest, JoiningARoomThatIsNotHereIsRefusedWithoutAnyRoomInvolved) {
  ASSERT_TRUE(ask(hello(token_for("acct-sam", config_.token_secret))).has_welcome());
  ClientMessage join;
  join.mutable_join_room()->set_room_id("nowhere");
  EXPECT_EQ(ask(join).error().code(), ERROR_CODE_ROOM_NOT_FOUND);
}

TEST_F(DispatcherTest, AFloodIsRefusedRateLimitedAndThenClosed) {
  config_.limits.requests_per_second = 1;
  config_.limits.request_burst = 2;
  config_.limits.rate_limited_close_after = 3;
  server::Dispatcher flooded{context_, 2, boost::asio::make_strand(ioc_)};
  flooded.attach(outbox_);
  auto request = list_rooms();
  for (int i = 0; i < 10 && !outbox_->closed_with; ++i) {
    request.set_request_id(100 + i);
    flooded.on_message(request.SerializeAsString());
  }
  const auto rate_limited = std::ranges::count_if(outbox_->sent, [](const ServerMessage& m) {
    return m.error().code() == ERROR_CODE_RATE_LIMITED;
  });
  EXPECT_GE(rate_limited, 1);
  EXPECT_LE(rate_limited, 3);
  EXPECT_EQ(outbox_->closed_with, server::close_code::kPolicyViolation);
}

}  // namespace
}  // namespace circle::test
