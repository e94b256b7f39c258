// A connection's frames waiting to be written, in order, with their byte
// count. A vector with a moving head rather than a std::deque: an empty deque
// already holds a 512-byte block and its map, paid by every idle connection,
// while this holds nothing until the first frame and then only pointers.
#pragma once

#include <cstddef>
#include <vector>

#include "circle/wire.hpp"

namespace circle::server {

class OutboundQueue {
 public:
  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }
  std::size_t bytes() const { return bytes_; }

  void push(circle::wire::Frame frame) {
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
  }
  const circle::wire::Frame& front() const { return frames_[head_]; }
  circle::wire::Frame pop() {
    circle::wire::Frame frame = std::move(frames_[head_++]);
    bytes_ -= frame->size();
    if (head_ == frames_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= frames_.size()) {
      // Taken from the front in batches: drop the taken half now and then,
      // so that a long queue neither grows without end nor shifts per frame.
      frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return frame;
  }
  void clear() {
    frames_.clear();
    head_ = 0;
    bytes_ = 0;
  }

 private:
  std::vector<circle::wire::Frame> frames_;
  std::size_t head_ = 0;  // frames_[0, head_) were taken
  std::size_t bytes_ = 0;
};

}  // namespace circle::server
