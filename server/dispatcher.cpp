#include "dispatcher.hpp"

#include <boost/asio/post.hpp>
#include <chrono>

#include "auth/secret.hpp"
#include "auth/token.hpp"
#include "clock.hpp"
#include "core/validation.hpp"
#include "logging.hpp"
#include "replies.hpp"
#include "version.hpp"

namespace circle::server {
namespace {

// A command for `room_id` from connection `connection`, stamped now.
circle::v1::RoomCommand room_command(const std::string& room_id, core::ConnectionId connection,
                                     std::uint64_t request_id) {
  circle::v1::RoomCommand command;
  command.set_room_id(room_id);
  command.set_connection(connection);
  command.set_time_ms(now_unix_ms());
  command.set_request_id(request_id);
  return command;
}

}  // namespace

Dispatcher::Dispatcher(ServerContext& context, core::ConnectionId id,
                       boost::asio::any_io_executor strand)
    : context_(context),
      id_(id),
      strand_(strand),
      token_expiry_(strand),
      rate_limit_(context.config.limits.requests_per_second, context.config.limits.request_burst,
                  context.config.limits.rate_limited_close_after) {}

void Dispatcher::send(const ServerMessage& message) {
  if (auto outbox = outbox_.lock()) outbox->deliver(circle::wire::encode(message));
}

void Dispatcher::refuse(std::uint64_t request_id, const core::Refusal& refusal) {
  ServerMessage reply = reply_to(request_id);
  set_error(reply, refusal, context_.metrics);
  send(reply);
}

void Dispatcher::on_message(std::string_view bytes) {
  auto decoded = core::decode_client_message(bytes);
  // Counted whatever it is: a flood of garbage costs the server as much.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  context_.metrics.requests.add();
  switch (rate_limit_.take(now_ms)) {
    case core::RequestRateLimit::Verdict::kAllowed:
      break;
    case core::RequestRateLimit::Verdict::kRefused:
      context_.metrics.rate_limited.add();
      refuse(decoded ? decoded.value().request_id() : 0,
             {circle::v1::ERROR_CODE_RATE_LIMITED,
              "too many requests: at most " +
                  std::to_string(context_.config.limits.requests_per_second) +
                  " a second; wait a moment"});
      return;
    case core::RequestRateLimit::Verdict::kClose:
      spdlog::info("conn={} closed: kept sending while rate-limited", id_);
      context_.metrics.rate_limit_closes.add();
      if (auto outbox = outbox_.lock()) {
        outbox->close(close_code::kPolicyViolation, "rate limit: too many requests");
      }
      return;
  }
  if (!decoded) {
    spdlog::debug("conn={} malformed message ({} bytes)", id_, bytes.size());
    refuse(0, decoded.refusal());
    return;
  }
  const ClientMessage& request = decoded.value();
  if (auto refused = core::check_client_message(request, context_.config.limits)) {
    refuse(request.request_id(), *refused);
    return;
  }
  const bool is_hello = request.payload_case() == ClientMessage::kHello;
  if (!is_hello && !said_hello()) {
    refuse(request.request_id(),
           {circle::v1::ERROR_CODE_UNAUTHENTICATED, "send Hello before any other request"});
    return;
  }
  switch (request.payload_case()) {
    case ClientMessage::kHello:
      return handle_hello(request);
    case ClientMessage::kCreateRoom:
      return handle_create_room(request);
    case ClientMessage::kListRooms:
      return handle_list_rooms(request);
    case ClientMessage::kJoinRoom:
      return handle_join_room(request);
    case ClientMessage::kLeaveRoom:
      return handle_leave_room(request);
    case ClientMessage::kSendMessage:
      return handle_send_message(request);
    case ClientMessage::kRoomAction:
      return handle_room_action(request);
    case ClientMessage::PAYLOAD_NOT_SET:
      break;  // check_client_message refused it already
  }
}

void Dispatcher::handle_hello(const ClientMessage& request) {
  const auto& hello = request.hello();
  if (said_hello() || hello_pending_) {
    refuse(request.request_id(), {circle::v1::ERROR_CODE_ALREADY_AUTHENTICATED,
                                  "hello: this connection already said hello"});
    return;
  }
  if (hello.protocol_version() != circle::v1::PROTOCOL_VERSION_1) {
    refuse(request.request_id(),
           {circle::v1::ERROR_CODE_UNSUPPORTED_PROTOCOL_VERSION,
            "hello: protocol version " + std::to_string(hello.protocol_version()) +
                " is not supported; this server speaks version 1"});
    if (auto outbox = outbox_.lock()) {
      outbox->close(close_code::kProtocolError, "unsupported protocol version");
    }
    return;
  }
  session_id_ = auth::random_hex(16);
  std::string display_name = hello.display_name();
  if (!hello.invite().empty()) {
    // A guest: the invite says which room; the guest key, which person.
    auto invite = auth::verify_invite(hello.invite(), context_.config.token_secret);
    if (!invite) {
      spdlog::info("conn={} hello refused: invalid invite", id_);
      return refuse_and_close(request.request_id(), invite.refusal(), "invalid invite");
    }
    if (display_name.empty()) {
      return refuse_and_close(
          request.request_id(),
          {circle::v1::ERROR_CODE_INVALID_ARGUMENT, "hello: a guest chooses a display_name"},
          "no display name");
    }
    const auto account = auth::guest_account_id(hello.guest_key());
    account_slot_ = context_.limits.admit_account(account);
    if (!account_slot_) return refuse_account_full(request.request_id());
    account_id_ = account;
    invite_room_ = invite.value().room_id;
    invite_id_ = invite.value().invite_id;
  } else if (hello.token().empty() && context_.config.allow_anonymous) {
    account_id_ = "anon-" + session_id_.substr(0, 12);
  } else {
    return check_account_token(request, std::move(display_name), /*may_refresh_keys=*/true);
  }
  welcome(request, std::move(display_name));
}

void Dispatcher::check_account_token(const ClientMessage& request, std::string display_name,
                                     bool may_refresh_keys) {
  const auto now_s = now_unix_ms() / 1000;
  PublishedKeys* published = context_.published_keys;
  const auto keys = published != nullptr ? published->current() : nullptr;
  auth::TokenFault fault = auth::TokenFault::kNone;
  auto identity = auth::verify_token(
      request.hello().token(),
      auth::TokenKeys{.secret = context_.config.token_secret, .published = keys.get()},
      context_.config.token_rules, now_s, &fault);
  if (!identity && fault == auth::TokenFault::kUnknownKey && may_refresh_keys &&
      published != nullptr) {
    // The provider may have rotated its keys: this Hello waits for one
    // fetch (if one may run now), then is checked once more.
    hello_pending_ = true;
    // Nothing of `this` is touched until the session is known to be alive:
    // the strand is captured by value.
    published->refresh_for_unknown_key([this, strand = strand_, weak = outbox_, request,
                                        display_name = std::move(display_name)](bool) mutable {
      boost::asio::post(strand, [this, weak, request = std::move(request),
                                 display_name = std::move(display_name)]() mutable {
        const auto alive = weak.lock();  // keeps `this` alive across the call
        if (!alive) return;
        hello_pending_ = false;
        check_account_token(request, std::move(display_name), /*may_refresh_keys=*/false);
      });
    });
    return;
  }
  if (!identity) {
    context_.metrics.token_refusals[static_cast<std::size_t>(fault)].add();
    // Logged without the token or its claims.
    spdlog::info("conn={} hello refused: {} ({})", id_,
                 circle::v1::ErrorCode_Name(identity.refusal().code), auth::name_of(fault));
    const bool expired = identity.refusal().code == circle::v1::ERROR_CODE_TOKEN_EXPIRED;
    return refuse_and_close(request.request_id(), identity.refusal(),
                            expired ? "token expired" : "unauthenticated");
  }
  account_slot_ = context_.limits.admit_account(identity.value().account_id);
  if (!account_slot_) return refuse_account_full(request.request_id());
  account_id_ = identity.value().account_id;
  is_admin_ = identity.value().admin;
  if (is_admin_) context_.operators.add(id_, outbox_);
  if (display_name.empty()) display_name = identity.value().name;
  // A token the leeway let in lasts as long as the leeway.
  arm_token_expiry(identity.value().expires_at + context_.config.token_rules.leeway_s);
  welcome(request, std::move(display_name));
}

void Dispatcher::welcome(const ClientMessage& request, std::string display_name) {
  const auto& hello = request.hello();
  if (display_name.empty()) {
    return refuse_and_close(request.request_id(),
                            {circle::v1::ERROR_CODE_INVALID_ARGUMENT,
                             "hello: give a display_name (the token has no name)"},
                            "no display name");
  }
  if (auto refused = core::check_display_name(display_name, context_.config.limits)) {
    return refuse_and_close(request.request_id(), *refused, "invalid display name");
  }
  display_name_ = display_name;
  spdlog::debug("conn={} hello client={:.40}", id_, hello.client_name());

  ServerMessage reply = reply_to(request.request_id());
  auto* welcome = reply.mutable_welcome();
  welcome->set_session_id(session_id_);
  welcome->set_server_version(std::string(kServerVersion));
  welcome->set_protocol_version(circle::v1::PROTOCOL_VERSION_1);
  welcome->set_display_name(*display_name_);
  const auto& limits = context_.config.limits;
  auto* advertised = welcome->mutable_limits();
  advertised->set_max_message_bytes(limits.read_message_max);
  advertised->set_max_text_bytes(limits.max_text_bytes);
  advertised->set_max_content_warning_bytes(limits.max_content_warning_bytes);
  advertised->set_max_invites(limits.max_invites);
  advertised->set_max_display_name_bytes(limits.max_display_name_bytes);
  advertised->set_max_room_title_bytes(limits.max_room_title_bytes);
  advertised->set_max_joined_rooms(limits.max_joined_rooms);
  advertised->set_snapshot_history_events(limits.snapshot_history_events);
  advertised->set_reconnect_window_seconds(limits.reconnect_window_seconds);
  advertised->set_max_retention_days(limits.max_retention_days);
  advertised->set_requests_per_second(limits.requests_per_second);
  advertised->set_request_burst(limits.request_burst);
  send(reply);
  // An operator signing in is shown every call for help that went to the
  // operators and is still open.
  if (is_admin_) {
    for (const auto& escalation : context_.rooms.open_escalations()) send(escalation);
  }
}

void Dispatcher::refuse_account_full(std::uint64_t request_id) {
  context_.metrics.count_refused(RefusedBecause::kAccountFull);
  spdlog::info("conn={} hello refused: the account has its maximum of {} connections", id_,
               context_.config.connection_caps.max_per_account);
  refuse_and_close(request_id,
                   {circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                    "hello: this account already has " +
                        std::to_string(context_.config.connection_caps.max_per_account) +
                        " connections open; close one first"},
                   "too many connections for this account");
}

void Dispatcher::refuse_and_close(std::uint64_t request_id, const core::Refusal& refusal,
                                  const char* close_reason) {
  refuse(request_id, refusal);
  if (auto outbox = outbox_.lock()) outbox->close(close_code::kPolicyViolation, close_reason);
}

void Dispatcher::arm_token_expiry(std::int64_t expires_at_s) {
  // Seconds first (no overflow for any exp), at most a day per wait: a
  // longer-lived token re-arms.
  constexpr std::int64_t kMaxWaitS = 86'400;
  const std::int64_t remaining_s = expires_at_s - now_unix_ms() / 1000;
  if (remaining_s > kMaxWaitS) {
    token_expiry_.expires_after(std::chrono::seconds(kMaxWaitS));
    token_expiry_.async_wait([this, weak = outbox_, expires_at_s](boost::system::error_code ec) {
      auto alive = weak.lock();  // keeps `this` alive across the call
      if (!ec && alive) arm_token_expiry(expires_at_s);
    });
    return;
  }
  const auto remaining_ms = std::max<std::int64_t>(0, expires_at_s * 1000 - now_unix_ms());
  token_expiry_.expires_after(std::chrono::milliseconds(remaining_ms));
  // Holds only a weak reference: a closed connection's timer is cancelled
  // with it, and then `this` is not touched.
  token_expiry_.async_wait([this, weak = outbox_](boost::system::error_code ec) {
    if (ec) return;
    auto outbox = weak.lock();
    if (!outbox) return;
    spdlog::info("conn={} session ended: token expired", id_);
    ServerMessage notice = reply_to(0);
    notice.mutable_error()->set_code(circle::v1::ERROR_CODE_TOKEN_EXPIRED);
    notice.mutable_error()->set_message("session ended: the token has expired");
    send(notice);
    outbox->close(close_code::kPolicyViolation, "token expired");
  });
}

void Dispatcher::handle_create_room(const ClientMessage& request) {
  const auto& create = request.create_room();
  if (!invite_room_.empty()) {
    return refuse(request.request_id(), {circle::v1::ERROR_CODE_PERMISSION_DENIED,
                                         "create room: a guest may only join the room it was "
                                         "invited to"});
  }
  auto command = room_command(create.room_id(), id_, request.request_id());
  auto* created = command.mutable_create();
  created->set_title(create.title());
  created->set_kind(create.has_kind() ? create.kind() : circle::v1::ROOM_KIND_FACILITATED_GROUP);
  created->set_creator_account(account_id_);
  context_.rooms.submit(std::move(command), outbox_);
}

void Dispatcher::handle_list_rooms(const ClientMessage& request) {
  ServerMessage reply = reply_to(request.request_id());
  auto* list = reply.mutable_list_rooms();
  for (auto& info : context_.rooms.list()) {
    // A guest sees only the room it was invited to.
    if (!invite_room_.empty() && info.room_id() != invite_room_) continue;
    *list->add_rooms() = std::move(info);
  }
  send(reply);
}

void Dispatcher::handle_join_room(const ClientMessage& request) {
  const std::string& room_id = request.join_room().room_id();
  const std::uint64_t request_id = request.request_id();
  if (joined_.contains(room_id)) {
    return refuse(request_id, {circle::v1::ERROR_CODE_ALREADY_IN_ROOM,
                               "join: this connection is already in room '" + room_id + "'"});
  }
  if (!invite_room_.empty() && room_id != invite_room_) {
    return refuse(request_id, {circle::v1::ERROR_CODE_PERMISSION_DENIED,
                               "join: a guest may only join the room it was invited to"});
  }
  if (joined_.size() >= context_.config.limits.max_joined_rooms) {
    return refuse(request_id,
                  {circle::v1::ERROR_CODE_LIMIT_EXCEEDED,
                   "join: a connection may be in at most " +
                       std::to_string(context_.config.limits.max_joined_rooms) + " rooms"});
  }
  if (!context_.rooms.may_hold(room_id)) {
    // (Across nodes, a room another node just created may not be here yet:
    // the join is relayed after its creation, and answered by the room.)
    return refuse(request_id, {circle::v1::ERROR_CODE_ROOM_NOT_FOUND,
                               "join: there is no room '" + room_id + "'"});
  }
  // Recorded now, before the room has answered: the room handles this
  // connection's requests in order, so a send right after the join sees it.
  // A refused join is taken back (forget_room) with its token.
  const std::uint64_t join_token = ++last_join_token_;
  joined_.emplace(room_id, join_token);
  auto command = room_command(room_id, id_, request_id);
  auto* join = command.mutable_join();
  join->set_display_name(*display_name_);
  join->set_account_id(account_id_);
  join->set_is_admin(is_admin_);
  join->set_join_token(join_token);
  join->set_resume_after_seq(request.join_room().resume_after_seq());
  join->set_invite_id(invite_id_);
  context_.rooms.submit(std::move(command), outbox_);
}

void Dispatcher::handle_leave_room(const ClientMessage& request) {
  const std::string& room_id = request.leave_room().room_id();
  auto found = joined_.find(room_id);
  if (found == joined_.end()) {
    return refuse(request.request_id(),
                  {circle::v1::ERROR_CODE_NOT_IN_ROOM,
                   "leave: this connection has not joined room '" + room_id + "'"});
  }
  const std::uint64_t join_token = found->second;
  joined_.erase(found);
  auto command = room_command(room_id, id_, request.request_id());
  command.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_LEFT);
  command.mutable_leave()->set_join_token(join_token);
  context_.rooms.submit(std::move(command), outbox_);
}

void Dispatcher::handle_send_message(const ClientMessage& request) {
  const auto& send_request = request.send_message();
  if (!joined_.contains(send_request.room_id())) {
    return refuse(request.request_id(), {circle::v1::ERROR_CODE_NOT_IN_ROOM,
                                         "send message: this connection has not joined room '" +
                                             send_request.room_id() + "'"});
  }
  auto command = room_command(send_request.room_id(), id_, request.request_id());
  auto* post = command.mutable_post();
  post->set_text(send_request.text());
  post->set_client_message_id(send_request.client_message_id());
  post->set_account_id(account_id_);
  post->set_content_warning(send_request.content_warning());
  context_.rooms.submit(std::move(command), outbox_);
}

void Dispatcher::handle_room_action(const ClientMessage& request) {
  const auto& action = request.room_action();
  if (!joined_.contains(action.room_id())) {
    return refuse(request.request_id(),
                  {circle::v1::ERROR_CODE_NOT_IN_ROOM,
                   "room action: this connection has not joined room '" + action.room_id() + "'"});
  }
  auto command = room_command(action.room_id(), id_, request.request_id());
  *command.mutable_act() = action;
  if (action.has_create_invite()) {
    // The link is minted here (the room has no secret) and travels with the
    // command, so every node applies the same invite.
    auto* invite = command.mutable_act()->mutable_create_invite();
    const auto ttl_s = std::clamp<std::int64_t>(invite->ttl_seconds(), 60,
                                                context_.config.limits.max_invite_ttl_seconds);
    invite->set_ttl_seconds(static_cast<std::uint32_t>(ttl_s));
    invite->set_invite_id(auth::random_id());
    invite->set_token(auth::mint_invite({.room_id = action.room_id(),
                                         .invite_id = invite->invite_id(),
                                         .expires_at = command.time_ms() / 1000 + ttl_s},
                                        context_.config.token_secret));
  }
  context_.rooms.submit(std::move(command), outbox_);
}

void Dispatcher::forget_room(const std::string& room_id, std::uint64_t join_token) {
  auto found = joined_.find(room_id);
  if (found != joined_.end() && found->second == join_token) joined_.erase(found);
}

void Dispatcher::on_closed() {
  for (const auto& [room_id, join_token] : joined_) {
    auto command = room_command(room_id, id_, 0);
    command.mutable_leave()->set_reason(circle::v1::LEAVE_REASON_DISCONNECTED);
    command.mutable_leave()->set_join_token(join_token);
    context_.rooms.submit(std::move(command), {});
  }
  joined_.clear();
  token_expiry_.cancel();
  if (is_admin_) context_.operators.remove(id_);
}

}  // namespace circle::server
