// What protocol dispatch needs from a connection: queue a frame, or close after
// everything queued so far has been written. Both are safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/event_sink.hpp"

namespace circle::server {

// WebSocket close codes Circle uses (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t kGoingAway = 1001;        // server shutting down
inline constexpr std::uint16_t kProtocolError = 1002;    // wrong protocol version
inline constexpr std::uint16_t kUnsupportedData = 1003;  // a text frame
inline constexpr std::uint16_t kPolicyViolation = 1008;  // no hello in time, too slow
inline constexpr std::uint16_t kServiceRestart = 1012;   // reconnect: a room was reloaded
}  // namespace close_code

class Outbox : public core::EventSink {
 public:
  virtual void close(std::uint16_t code, std::string reason) = 0;
  void must_reconnect(const std::string& reason) override {
    close(close_code::kServiceRestart, reason);
  }
};

}  // namespace circle::server
