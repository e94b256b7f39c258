// Wire helpers shared by circled and the client library: one encoded
// ServerMessage is a Frame, and several Frames become one ServerBatch without
// re-serialising anything.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "circle/v1/circle.pb.h"

namespace circle::wire {

// One serialised ServerMessage, shared read-only among every recipient.
using Frame = std::shared_ptr<const std::string>;

// Serialises a message once into a shareable Frame.
Frame encode(const google::protobuf::MessageLite& message);

// Builds the byte pieces of one ServerMessage{batch: ServerBatch{messages: frames}}.
// A repeated message field is, per element, its tag, its length and its bytes,
// so the batch is a short header per frame followed by the frame itself. The
// pieces point into `frames` and into this object, so both must outlive them.
class BatchEncoder {
 public:
  // Replaces the pieces with a batch of `frames` (which must hold 2 or more).
  void build(std::span<const Frame> frames);
  // The pieces to write, in order; their concatenation is one ServerMessage.
  const std::vector<std::string_view>& pieces() const { return pieces_; }
  // Total bytes of all pieces.
  std::size_t size() const { return size_; }

 private:
  std::string headers_;
  std::vector<std::string_view> pieces_;
  std::size_t size_ = 0;
};

// Bytes that the batch wrapping adds to `payload_bytes` of frames, at most.
std::size_t batch_overhead(std::size_t frame_count);

// Parses one WebSocket message from the server and calls `on_message` for each
// ServerMessage it carries, unwrapping a ServerBatch. Returns false when the
// bytes are not a valid ServerMessage (nothing is called then).
bool for_each_server_message(
    std::string_view bytes,
    const std::function<void(const circle::v1::ServerMessage&)>& on_message);

}  // namespace circle::wire
