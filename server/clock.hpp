// Wall-clock time as the protocol carries it: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace circle::server {

inline std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace circle::server
