// Google Benchmark: writing one server message to a client socket, the way
// circled does now (ServerFrameStream: its own header, one gather write,
// straight to the socket when it takes it) and the way it did before (Beast's
// websocket::stream::async_write). Both write to a real loopback TCP
// connection whose other end a thread drains, so each iteration includes the
// send system call; the difference between the two is what Beast's layered
// write operations cost per message.
//   build/release/bench/micro_benchmarks --benchmark_filter=Write
#include <benchmark/benchmark.h>

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "beast.hpp"
#include "server_frame_stream.hpp"
#include "write_messages.hpp"

namespace {

using namespace circle::server;
using circle::server::bench::message;

// A loopback connection: `server` is circled's side (a strand-bound socket),
// and a thread reads and discards everything that reaches the client side,
// after answering a WebSocket handshake if asked to.
class LoopbackClient {
 public:
  LoopbackClient(net::io_context& ioc, bool websocket_handshake) : server(net::make_strand(ioc)) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto endpoint = acceptor.local_endpoint();
    reader_ = std::thread([this, endpoint, websocket_handshake] {
      net::io_context client_ioc;
      websocket::stream<tcp::socket> client(client_ioc);
      client.next_layer().connect(endpoint);
      if (websocket_handshake) client.handshake("127.0.0.1", "/");
      std::vector<char> sink(1 << 16);
      const int fd = client.next_layer().native_handle();
      while (::recv(fd, sink.data(), sink.size(), 0) > 0) {
      }
    });
    acceptor.accept(server);
  }
  ~LoopbackClient() {
    error_code ignored;
    server.shutdown(tcp::socket::shutdown_both, ignored);
    reader_.join();
  }

  Socket server;

 private:
  std::thread reader_;
};

void BM_WriteMessageServerFrameStream(benchmark::State& state) {
  net::io_context ioc;
  LoopbackClient client(ioc, false);
  ServerFrameStream<Socket> stream(std::move(client.server));
  bench::write_messages(state, ioc, stream);
  error_code ignored;
  stream.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
}
BENCHMARK(BM_WriteMessageServerFrameStream)->UseRealTime();

void BM_WriteMessageBeastAsyncWrite(benchmark::State& state) {
  net::io_context ioc;
  LoopbackClient client(ioc, true);
  websocket::stream<Socket> ws(std::move(client.server));
  ws.accept();
  ws.binary(true);
  const std::vector<net::const_buffer> payload{net::buffer(message())};
  for (auto _ : state) {
    bool done = false;
    ws.async_write(payload, [&done](error_code, std::size_t) { done = true; });
    ioc.restart();
    while (!done) ioc.run_one();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  error_code ignored;
  ws.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
}
BENCHMARK(BM_WriteMessageBeastAsyncWrite)->UseRealTime();

}  // namespace
