// libFuzzer: a client's bytes through decode, validation and the room they
// reach. A fresh room per input, with a facilitator and two participants;
// the input is one ClientMessage, acted out by the member its request_id
// picks (or a newcomer joining). Nothing may crash, leak or misbehave under
// ASan/UBSan, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/room.hpp"
#include "core/validation.hpp"

namespace {

using namespace circle::core;

class DiscardingSink : public EventSink {
 public:
  void deliver(circle::wire::Frame) override {}
  void removed_from_room(const std::string&, std::uint64_t) override {}
  void must_reconnect(const std::string&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Limits limits;
  static const auto sink = std::make_shared<DiscardingSink>();
  auto decoded = decode_client_message(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded) return 0;
  const auto& message = decoded.value();
  if (check_client_message(message, limits)) return 0;  // refused: never reaches a room

  std::int64_t now = 1'000'000;
  Room room("fuzz", "Fuzz", circle::v1::ROOM_KIND_FACILITATED_GROUP, "acct-1", now, limits,
            nullptr);
  for (ConnectionId id = 1; id <= 3; ++id) {
    (void)room.join({.connection = id,
                     .display_name = "member " + std::to_string(id),
                     .account_id = "acct-" + std::to_string(id),
                     .is_admin = false,
                     .sink = sink,
                     .join_token = id},
                    now);
  }
  const ConnectionId actor = 1 + message.request_id() % 3;
  now += 1000;
  switch (message.payload_case()) {
    case circle::v1::ClientMessage::kJoinRoom:
      (void)room.join({.connection = 4,
                       .display_name = "newcomer",
                       .account_id = "acct-4",
                       .is_admin = false,
                       .sink = sink,
                       .join_token = 4},
                      now);
      break;
    case circle::v1::ClientMessage::kLeaveRoom:
      (void)room.leave(actor, circle::v1::LEAVE_REASON_LEFT, now);
      break;
    case circle::v1::ClientMessage::kSendMessage:
      (void)room.post(actor, message.send_message().text(),
                      message.send_message().client_message_id(), now);
      break;
    case circle::v1::ClientMessage::kRoomAction:
      (void)room.act(actor, message.room_action(), now);
      break;
    default:
      break;
  }
  // Time passes: mutes expire, the facilitator's grace runs out.
  room.tick(now + 24LL * 3600 * 1000);
  (void)room.info();
  return 0;
}
