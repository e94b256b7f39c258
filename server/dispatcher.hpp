// Protocol dispatch for one connection: decodes each ClientMessage, validates
// it, routes it to the room it concerns (on that room's strand) and sends
// exactly one reply per request. Runs on the connection's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/rate_limit.hpp"
#include "core/result.hpp"
#include "outbox.hpp"
#include "server_context.hpp"

namespace circle::server {

class Dispatcher {
 public:
  Dispatcher(ServerContext& context, core::ConnectionId id, boost::asio::any_io_executor strand);

  // Must be called before the first message.
  void attach(std::weak_ptr<Outbox> outbox) { outbox_ = std::move(outbox); }
  // One binary WebSocket message from the client.
  void on_message(std::string_view bytes);
  // The connection closed: leave every joined room. Called once.
  void on_closed();
  // The room dropped this connection's join `join_token` (removed, banned,
  // denied, ended); a newer join of the same room stays.
  void forget_room(const std::string& room_id, std::uint64_t join_token);
  bool said_hello() const { return display_name_.has_value(); }
  core::ConnectionId id() const { return id_; }

 private:
  using ServerMessage = circle::v1::ServerMessage;
  using ClientMessage = circle::v1::ClientMessage;

  void handle_hello(const ClientMessage& request);
  // Hello with an account token; may wait for the identity provider's keys
  // to be fetched once (a key not seen yet).
  void check_account_token(const ClientMessage& request, std::string display_name,
                           bool may_refresh_keys);
  // Hello accepted: the Welcome.
  void welcome(const ClientMessage& request, std::string display_name);
  void handle_create_room(const ClientMessage& request);
  void handle_list_rooms(const ClientMessage& request);
  void handle_join_room(const ClientMessage& request);
  void handle_leave_room(const ClientMessage& request);
  void handle_send_message(const ClientMessage& request);
  void handle_room_action(const ClientMessage& request);

  void send(const ServerMessage& message);
  void refuse(std::uint64_t request_id, const core::Refusal& refusal);
  // Refuses Hello and closes: an unauthenticated connection gets nothing else.
  void refuse_account_full(std::uint64_t request_id);
  void refuse_and_close(std::uint64_t request_id, const core::Refusal& refusal,
                        const char* close_reason);
  // Ends the session when its token expires.
  void arm_token_expiry(std::int64_t expires_at_s);

  ServerContext& context_;
  core::ConnectionId id_;
  boost::asio::any_io_executor strand_;
  std::weak_ptr<Outbox> outbox_;
  std::optional<std::string> display_name_;
  bool hello_pending_ = false;  // a Hello waits for the identity provider's keys
  std::string session_id_;
  // The token's `sub` (or a throwaway "anon-..." id with --allow-anonymous).
  // Rooms use it for roles and bans; other participants never see it.
  std::string account_id_;
  bool is_admin_ = false;  // the token's roles include "admin"
  // A guest (said hello with an invite): the only room it may join, and the
  // invite it came with.
  std::string invite_room_;
  std::uint64_t invite_id_ = 0;
  boost::asio::steady_timer token_expiry_;
  core::RequestRateLimit rate_limit_;
  ConnectionLimits::Slot account_slot_;  // this connection's place under its account's cap
  // Rooms this connection has joined (or asked to join: a room processes
  // requests in order, so a send after a pending join sees the join's
  // result), each with its join token, which tells this join apart from a
  // later join of the same room, so that a refused join's clean-up never
  // removes a newer, successful one.
  std::map<std::string, std::uint64_t> joined_;
  std::uint64_t last_join_token_ = 0;
};

}  // namespace circle::server
