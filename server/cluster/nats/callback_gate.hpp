// Lets callbacks from NATS threads into an object only while it is open:
// close() shuts later calls out and waits for the ones running, so that the
// object can then be destroyed while libnats may still hold its address.
#pragma once

#include <atomic>
#include <thread>

namespace circle::cluster {

class CallbackGate {
 public:
  class Pass {
   public:
    explicit Pass(CallbackGate& gate) : gate_(gate) { gate_.running_.fetch_add(1); }
    ~Pass() { gate_.running_.fetch_sub(1); }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    // Whether the call may go on (false once closing).
    explicit operator bool() const { return !gate_.closed_.load(); }

   private:
    CallbackGate& gate_;
  };
  // At the start of each callback: `if (auto pass = gate.enter(); !pass) return;`
  Pass enter() { return Pass(*this); }
  // Idempotent. Never from inside a callback it guards.
  void close() {
    closed_ = true;
    while (running_.load() > 0) std::this_thread::yield();
  }
  bool closed() const { return closed_; }

 private:
  std::atomic<bool> closed_{false};
  std::atomic<int> running_{0};
};

}  // namespace circle::cluster
