// A call for help nobody answers goes further, through the real server: to
// every operator (admin account) connected, wherever they are, and to the
// operators' on-call webhook (a small HTTPS receiver on loopback here):
// signed, retried after a failure, and never holding up the room.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/https_receiver.hpp"
#include "support/test_server.hpp"

namespace {

using namespace circle::test;
namespace client = circle::client;
namespace v1 = circle::v1;
using circle::v1::ServerMessage;

const std::string kSecret = "a webhook secret of at least thirty-two bytes";

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

bool is_private(const ServerMessage& m, v1::PrivateEvent::KindCase kind) {
  return m.has_private_event() && m.private_event().kind_case() == kind;
}

class Escalation : public ::testing::Test {
 protected:
  explicit Escalation(std::vector<std::string> args = {}) : server_(std::move(args)) {}

  // An operator: an admin account, signed in but in no room.
  std::unique_ptr<client::SyncClient> operator_signs_in() {
    auto ops = server_.connect();
    auto welcome = call(*ops, client::make_hello("", "ops", server_.token("ops", "Ops", true)));
    EXPECT_TRUE(welcome.has_welcome()) << welcome.DebugString();
    return ops;
  }
  std::unique_ptr<client::SyncClient> opens_group() {
    auto alex = server_.sign_in("alex");
    EXPECT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
    EXPECT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
    return alex;
  }
  ServerMessage ask_for_support(client::SyncClient& c, const std::string& text) {
    auto help = client::make_room_action("group");
    help.mutable_room_action()->mutable_request_support()->set_text(text);
    return call(c, help);
  }

  TestServer server_;
};

TEST_F(Escalation, WithNoFacilitatorThereEveryConnectedOperatorIsToldAtOnce) {
  auto ops = operator_signs_in();
  auto alex = opens_group();
  ASSERT_TRUE(call(*alex, client::make_leave_room("group")).has_leave_room());
  auto sam = server_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());

  auto asked = ask_for_support(*sam, "I'm not feeling safe right now");
  ASSERT_TRUE(asked.has_room_action()) << asked.DebugString();
  EXPECT_EQ(asked.room_action().support().facilitators_present(), 0u);

  auto told = ops->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportEscalated); },
      kDeadline);
  ASSERT_TRUE(told) << "the operator, in no room, hears of it";
  EXPECT_EQ(told->private_event().room_id(), "group");
  const auto& escalated = told->private_event().support_escalated();
  EXPECT_EQ(escalated.reason(), v1::ESCALATION_REASON_NO_FACILITATOR);
  EXPECT_EQ(escalated.alert().alert_id(), asked.room_action().alert_id());
  EXPECT_EQ(escalated.alert().text(), "I'm not feeling safe right now");

  auto yours = sam->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kYourAlertEscalated); },
      kDeadline);
  ASSERT_TRUE(yours);
  EXPECT_EQ(yours->private_event().your_alert_escalated().operators_reached(), 1u);
  EXPECT_FALSE(yours->private_event().your_alert_escalated().on_call_notified());

  // The operator answers it by joining the room (admins always may).
  ASSERT_TRUE(call(*ops, client::make_join_room("group")).has_join_room());
  auto ack = client::make_room_action("group");
  ack.mutable_room_action()->mutable_acknowledge_support()->set_alert_id(
      escalated.alert().alert_id());
  ASSERT_TRUE(call(*ops, ack).has_room_action());
  EXPECT_TRUE(sam->wait_event(
      [](const ServerMessage& m) {
        return is_private(m, v1::PrivateEvent::kYourAlertAcknowledged);
      },
      kDeadline));
}

TEST_F(Escalation, AnOperatorWhoSignsInLaterIsShownItUntilItIsResolved) {
  auto alex = opens_group();
  ASSERT_TRUE(call(*alex, client::make_leave_room("group")).has_leave_room());
  auto sam = server_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());
  auto asked = ask_for_support(*sam, "is anyone there");
  ASSERT_TRUE(asked.has_room_action());
  auto yours = sam->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kYourAlertEscalated); },
      kDeadline);
  ASSERT_TRUE(yours);
  EXPECT_EQ(yours->private_event().your_alert_escalated().operators_reached(), 0u)
      << "nobody was connected, and the asker is told so";

  auto ops = operator_signs_in();
  auto shown = ops->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportEscalated); },
      kDeadline);
  ASSERT_TRUE(shown) << "an operator signing in sees the open call for help";
  EXPECT_EQ(shown->private_event().room_id(), "group");
  EXPECT_EQ(shown->private_event().support_escalated().alert().alert_id(),
            asked.room_action().alert_id());
  EXPECT_EQ(shown->private_event().support_escalated().reason(),
            v1::ESCALATION_REASON_NO_FACILITATOR);
}

class EscalationAfterADelay : public Escalation {
 protected:
  EscalationAfterADelay() : Escalation({"--support-escalate-after", "1"}) {}
};

TEST(EscalationAcrossARestart, AnAlertOpenAtACrashStillEscalatesThoughNobodyComesBack) {
  const std::string dir = make_temp_dir();
  {
    TestServer server({"--support-escalate-after", "3"}, true, dir);
    auto alex = server.sign_in("alex");
    ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
    ASSERT_TRUE(call(*alex, client::make_join_room("group")).has_join_room());
    auto sam = server.sign_in("sam");
    ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());
    auto help = client::make_room_action("group");
    help.mutable_room_action()->mutable_request_support()->set_text("please");
    auto asked = call(*sam, help);
    ASSERT_TRUE(asked.has_room_action());
    EXPECT_EQ(asked.room_action().support().facilitators_present(), 1u);
    server.stop();  // SIGKILL before anyone answered
  }
  TestServer server({"--support-escalate-after", "3"}, true, dir);
  auto ops = server.connect();
  ASSERT_TRUE(
      call(*ops, client::make_hello("", "ops", server.token("ops", "Ops", true))).has_welcome());
  auto told = ops->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportEscalated); },
      kDeadline);
  ASSERT_TRUE(told) << "no one touched the room after the restart";
  EXPECT_EQ(told->private_event().support_escalated().alert().text(), "please");
  server.stop();
  std::filesystem::remove_all(dir);
}

TEST_F(EscalationAfterADelay, AnAlertNobodyAcknowledgesGoesToTheOperators) {
  auto ops = operator_signs_in();
  auto alex = opens_group();
  auto sam = server_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());
  auto asked = ask_for_support(*sam, "");
  ASSERT_TRUE(asked.has_room_action());
  EXPECT_EQ(asked.room_action().support().facilitators_present(), 1u);

  // Alex does not answer: a second later the operators are told.
  auto told = ops->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportEscalated); },
      kDeadline);
  ASSERT_TRUE(told);
  EXPECT_EQ(told->private_event().support_escalated().reason(),
            v1::ESCALATION_REASON_NOT_ACKNOWLEDGED);
  EXPECT_TRUE(alex->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kSupportEscalated); },
      kDeadline))
      << "the room's facilitators see that it went further";
}

// circled's options for a webhook at `url`, its secret written under `dir`.
std::vector<std::string> webhook_args(const std::string& dir, const std::string& url) {
  std::ofstream(dir + "/webhook-secret") << kSecret << "\n";
  return {"--support-webhook",
          url,
          "--support-webhook-secret-file",
          dir + "/webhook-secret",
          "--support-webhook-ca",
          test_cert_dir() + "/ca.crt"};
}

// The webhook: a receiver that fails once, then takes it.
class WebhookEscalation : public ::testing::Test {
 protected:
  WebhookEscalation()
      : dir_(make_temp_dir()), receiver_({500}), server_(webhook_args(dir_, receiver_.url())) {}
  ~WebhookEscalation() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  HttpsReceiver receiver_;
  TestServer server_;
};

TEST_F(WebhookEscalation, TheOnCallSystemGetsASignedBodyWithoutTextAndARetryAfterAFailure) {
  auto alex = server_.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  auto sam = server_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());
  auto help = client::make_room_action("group");
  help.mutable_room_action()->mutable_request_support()->set_text("private words");
  auto asked = call(*sam, help);
  ASSERT_TRUE(asked.has_room_action());

  ASSERT_TRUE(receiver_.wait_requests(2, kDeadline)) << "a 500, then a retry";
  const auto requests = receiver_.requests();
  for (const auto& request : requests) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/hook");
    EXPECT_EQ(request.headers.at("content-type"), "application/json");
    EXPECT_EQ(request.headers.at("x-circle-signature"),
              "sha256=" + hmac_hex(kSecret, request.body));
  }
  EXPECT_EQ(requests[0].body, requests[1].body) << "the same delivery, retried";
  const auto body = nlohmann::json::parse(requests[1].body);
  EXPECT_EQ(body["type"], "support_escalation");
  EXPECT_EQ(body["room_id"], "group");
  EXPECT_EQ(body["alert_id"], asked.room_action().alert_id());
  EXPECT_EQ(body["reason"], "no_facilitator");
  EXPECT_GT(body["escalated_at_unix_ms"].get<std::int64_t>(), 0);
  EXPECT_FALSE(body.contains("text"));
  EXPECT_FALSE(body.contains("display_name"));
  EXPECT_EQ(requests[1].body.find("private words"), std::string::npos);

  auto yours = sam->wait_event(
      [](const ServerMessage& m) { return is_private(m, v1::PrivateEvent::kYourAlertEscalated); },
      kDeadline);
  ASSERT_TRUE(yours);
  EXPECT_TRUE(yours->private_event().your_alert_escalated().on_call_notified());
  const auto metrics = http_get(server_.metrics_url()).body;
  EXPECT_EQ(metric_sample(metrics, "circle_support_webhook_retries_total"), 1) << metrics;
  EXPECT_EQ(metric_sample(metrics, "circle_support_escalations_total"), 1) << metrics;
}

// A receiver that accepts and never answers.
class DeadWebhook : public ::testing::Test {
 protected:
  DeadWebhook()
      : dir_(make_temp_dir()),
        receiver_({}, /*stall=*/true),
        server_(webhook_args(dir_, receiver_.url())) {}
  ~DeadWebhook() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  HttpsReceiver receiver_;
  TestServer server_;
};

TEST_F(DeadWebhook, NeverHoldsUpTheRoom) {
  auto alex = server_.sign_in("alex");
  ASSERT_TRUE(call(*alex, client::make_create_room("group", "Group")).has_create_room());
  auto sam = server_.sign_in("sam");
  ASSERT_TRUE(call(*sam, client::make_join_room("group")).has_join_room());
  auto riya = server_.sign_in("riya");
  ASSERT_TRUE(call(*riya, client::make_join_room("group")).has_join_room());
  auto help = client::make_room_action("group");
  help.mutable_room_action()->mutable_request_support();
  ASSERT_TRUE(call(*sam, help).has_room_action());
  ASSERT_TRUE(receiver_.wait_connections(1, kDeadline));

  // While the webhook's connection hangs, the room goes on as ever.
  for (int i = 0; i < 20; ++i) {
    auto ack = call(*riya, client::make_send_message("group", "message " + std::to_string(i)));
    ASSERT_TRUE(ack.has_send_message()) << ack.DebugString();
  }
  ASSERT_TRUE(call(*sam, help).has_room_action()) << "and a second call for help too";
}

}  // namespace
