// How fast one connection may send requests: a token bucket (steady rate,
// bounded burst) and, for a client that keeps sending into an empty bucket,
// the point where refusing each request is no longer enough. Pure logic,
// with time passed in, so that it is tested without a clock or a network.
#pragma once

#include <algorithm>
#include <cstdint>

namespace circle::core {

class RequestRateLimit {
 public:
  enum class Verdict {
    kAllowed,
    kRefused,  // answer RATE_LIMITED and go on
    kClose,    // a persistent flooder: close the connection
  };

  // `per_second` tokens a second up to `burst`; the bucket starts full. A
  // client refused `close_after` times in a row (no request allowed in
  // between) is closed. per_second == 0 turns the limit off.
  RequestRateLimit(std::uint32_t per_second, std::uint32_t burst, std::uint32_t close_after)
      : per_second_(per_second),
        burst_(std::max<std::uint32_t>(burst, 1)),
        close_after_(close_after),
        tokens_milli_(static_cast<std::int64_t>(burst_) * 1000) {}

  Verdict take(std::int64_t now_ms) {
    if (per_second_ == 0) return Verdict::kAllowed;
    if (last_ms_ >= 0 && now_ms > last_ms_) {
      // per_second tokens a second is per_second thousandths of a token a ms.
      tokens_milli_ = std::min<std::int64_t>(static_cast<std::int64_t>(burst_) * 1000,
                                             tokens_milli_ + (now_ms - last_ms_) * per_second_);
    }
    // A clock that steps back (rooms pass wall-clock time) restarts the
    // count from there rather than freezing the bucket until it catches up.
    last_ms_ = now_ms;
    if (tokens_milli_ >= 1000) {
      tokens_milli_ -= 1000;
      refused_in_a_row_ = 0;
      return Verdict::kAllowed;
    }
    ++refused_in_a_row_;
    return close_after_ && refused_in_a_row_ >= close_after_ ? Verdict::kClose : Verdict::kRefused;
  }

  // The bucket's level, so that a copy of a room (RoomReplica) goes on
  // exactly where the original was.
  struct State {
    std::int64_t tokens_milli = 0;
    std::int64_t last_ms = -1;
    std::uint32_t refused_in_a_row = 0;
  };
  State state() const { return {tokens_milli_, last_ms_, refused_in_a_row_}; }
  void restore(const State& state) {
    tokens_milli_ = state.tokens_milli;
    last_ms_ = state.last_ms;
    refused_in_a_row_ = state.refused_in_a_row;
  }

 private:
  std::uint32_t per_second_;
  std::uint32_t burst_;
  std::uint32_t close_after_;
  std::int64_t tokens_milli_;  // thousandths of a token: whole-ms refills stay exact
  std::int64_t last_ms_ = -1;
  std::uint32_t refused_in_a_row_ = 0;
};

}  // namespace circle::core
