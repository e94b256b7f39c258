// What the write micro-benchmarks share: the message they write, and the
// timed loop that writes it through a ServerFrameStream (plaintext or TLS).
#pragma once

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "server_frame_stream.hpp"

namespace circle::server::bench {

// A 100-byte message, about one chat event.
inline const std::string& message() {
  static const std::string bytes(100, 'm');
  return bytes;
}

// Writes message() once per iteration through `stream`; when the socket is
// full, runs `ioc` until the write is done.
template <class Next>
void write_messages(benchmark::State& state, net::io_context& ioc,
                    ServerFrameStream<Next>& stream) {
  struct Owner final : MessageWriteOwner {
    void on_message_written(error_code ec) override {
      if (ec) failed = true;
      done = true;
    }
    bool done = false;
    bool failed = false;
  } owner;
  auto life = std::make_shared<int>(0);
  stream.attach(&owner, life);
  const std::vector<net::const_buffer> payload{net::buffer(message())};
  for (auto _ : state) {
    owner.done = false;
    if (stream.write_message(payload, message().size()) ==
        ServerFrameStream<Next>::Written::kLater) {
      ioc.restart();
      while (!owner.done) ioc.run_one();  // the socket was full: wait until it drains
    }
    if (owner.failed) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace circle::server::bench
