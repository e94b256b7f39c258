// The header of one server-to-client WebSocket message (RFC 6455 section 5.2):
// a single final binary frame, unmasked (servers never mask), with the
// shortest length encoding. Circle writes its own messages with this header
// instead of through Beast's write operations, which cost several layered
// operations and allocations per message (docs/PERFORMANCE.md). Pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace circle::server {

class FrameHeader {
 public:
  static constexpr std::size_t kMaxSize = 10;

  explicit FrameHeader(std::uint64_t payload_size) {
    bytes_[0] = static_cast<char>(0x80 | 0x2);  // FIN, opcode 2: binary
    if (payload_size < 126) {
      bytes_[1] = static_cast<char>(payload_size);
      size_ = 2;
    } else if (payload_size <= 0xFFFF) {
      bytes_[1] = 126;
      put_big_endian(payload_size, 2);
      size_ = 4;
    } else {
      bytes_[1] = 127;
      put_big_endian(payload_size, 8);
      size_ = 10;
    }
  }

  std::string_view bytes() const { return {bytes_.data(), size_}; }

 private:
  void put_big_endian(std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
      bytes_[2 + i] = static_cast<char>((value >> (8 * (width - 1 - i))) & 0xFF);
    }
  }

  std::array<char, kMaxSize> bytes_{};
  std::size_t size_ = 0;
};

}  // namespace circle::server
