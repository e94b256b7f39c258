// Building the one reply a request gets: its result, or a refusal as an Error.
#pragma once

#include <cstdint>

#include "circle/v1/circle.pb.h"
#include "core/result.hpp"
#include "metrics.hpp"

namespace circle::server {

inline circle::v1::ServerMessage reply_to(std::uint64_t request_id) {
  circle::v1::ServerMessage reply;
  reply.set_request_id(request_id);
  return reply;
}

inline void set_error(circle::v1::ServerMessage& reply, const core::Refusal& refusal,
                      Metrics& metrics) {
  metrics.count_error(refusal.code);
  reply.mutable_error()->set_code(refusal.code);
  reply.mutable_error()->set_message(refusal.message);
}

inline circle::v1::ServerMessage refusal_reply(std::uint64_t request_id,
                                               const core::Refusal& refusal, Metrics& metrics) {
  auto reply = reply_to(request_id);
  set_error(reply, refusal, metrics);
  return reply;
}

// The one reply to `request_id`: `fill` puts the result in, or the refusal
// becomes an Error.
template <class T, class Fill>
circle::v1::ServerMessage make_reply(Metrics& metrics, std::uint64_t request_id,
                                     core::Result<T>& result, Fill fill) {
  circle::v1::ServerMessage reply = reply_to(request_id);
  if (result) {
    fill(reply, result.value());
  } else {
    set_error(reply, result.refusal(), metrics);
  }
  return reply;
}

}  // namespace circle::server
