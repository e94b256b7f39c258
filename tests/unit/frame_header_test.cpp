#include "frame_header.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using circle::server::FrameHeader;

std::string bytes_of(std::uint64_t payload_size) {
  return std::string(FrameHeader(payload_size).bytes());
}

TEST(FrameHeader, ShortPayloadsFitTheSecondByte) {
  EXPECT_EQ(bytes_of(0), std::string("\x82\x00", 2));
  EXPECT_EQ(bytes_of(125), std::string("\x82\x7d", 2));
}

TEST(FrameHeader, MediumPayloadsTakeTwoLengthBytesBigEndian) {
  EXPECT_EQ(bytes_of(126), std::string("\x82\x7e\x00\x7e", 4));
  EXPECT_EQ(bytes_of(300), std::string("\x82\x7e\x01\x2c", 4));
  EXPECT_EQ(bytes_of(65535), std::string("\x82\x7e\xff\xff", 4));
}

TEST(FrameHeader, LongPayloadsTakeEightLengthBytesBigEndian) {
  EXPECT_EQ(bytes_of(65536), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(bytes_of(0x0102030405ULL), std::string("\x82\x7f\x00\x00\x00\x01\x02\x03\x04\x05", 10));
}

TEST(FrameHeader, IsAFinalBinaryFrameAndNeverMasked) {
  for (std::uint64_t size : {0ULL, 1ULL, 125ULL, 126ULL, 70000ULL}) {
    const auto header = bytes_of(size);
    EXPECT_EQ(static_cast<unsigned char>(header[0]), 0x82u) << size;       // FIN + binary
    EXPECT_EQ(static_cast<unsigned char>(header[1]) & 0x80u, 0u) << size;  // no mask bit
  }
}

}  // namespace
