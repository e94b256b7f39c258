// Google Benchmark: writing one server message over TLS, the way circled does
// now (ServerFrameStream on TlsSocket: OpenSSL writes the socket itself, at
// once when it takes the record) and through Asio's ssl::stream as Beast's
// WebSocket writes it (encrypt into the stream's buffer, then a write
// operation). Both write to a real loopback TLS connection whose client end a
// thread decrypts and discards, so each iteration includes the encryption and
// the send system call.
//   build/release/bench/micro_benchmarks --benchmark_filter=Tls
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "beast.hpp"
#include "server_frame_stream.hpp"
#include "tls_socket.hpp"
#include "write_messages.hpp"

namespace {

using namespace circle::server;
using circle::server::bench::message;

ssl::context server_context() {
  ssl::context tls(ssl::context::tls_server);
  tls.use_certificate_chain_file(CIRCLE_DEV_CERT_DIR "/server.crt");
  tls.use_private_key_file(CIRCLE_DEV_CERT_DIR "/server.key", ssl::context::pem);
  SSL_CTX_set_mode(tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(tls.native_handle(), 0);
  return tls;
}

// A loopback TLS connection: `server` is circled's side (a strand-bound
// socket, not yet handshaken), and a thread completes the client's TLS (and,
// if asked, WebSocket) handshake, then reads and discards everything.
class LoopbackTlsClient {
 public:
  LoopbackTlsClient(net::io_context& ioc, bool websocket_handshake)
      : server(net::make_strand(ioc)) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto endpoint = acceptor.local_endpoint();
    reader_ = std::thread([endpoint, websocket_handshake] {
      net::io_context client_ioc;
      ssl::context tls(ssl::context::tls_client);
      tls.load_verify_file(CIRCLE_DEV_CERT_DIR "/ca.crt");
      websocket::stream<ssl::stream<tcp::socket>> client(client_ioc, tls);
      error_code ec;
      beast::get_lowest_layer(client).connect(endpoint, ec);
      client.next_layer().handshake(ssl::stream_base::client, ec);
      if (!ec && websocket_handshake) client.handshake("127.0.0.1", "/", ec);
      std::vector<char> sink(1 << 16);
      while (!ec) client.next_layer().read_some(net::buffer(sink), ec);
    });
    acceptor.accept(server);
  }
  ~LoopbackTlsClient() { reader_.join(); }

  Socket server;

 private:
  std::thread reader_;
};

void BM_TlsWriteMessageServerFrameStream(benchmark::State& state) {
  net::io_context ioc;
  auto tls = server_context();
  LoopbackTlsClient client(ioc, false);
  ServerFrameStream<TlsSocket> stream(TlsSocket(std::move(client.server), tls));
  bool handshaken = false;
  stream.next_layer().async_handshake([&](error_code) { handshaken = true; });
  while (!handshaken) ioc.run_one();
  bench::write_messages(state, ioc, stream);
  error_code ignored;
  stream.next_layer().next_layer().shutdown(tcp::socket::shutdown_both, ignored);
}
BENCHMARK(BM_TlsWriteMessageServerFrameStream)->UseRealTime();

void BM_TlsWriteMessageBeastAsyncWrite(benchmark::State& state) {
  net::io_context ioc;
  auto tls = server_context();
  LoopbackTlsClient client(ioc, true);
  websocket::stream<ssl::stream<Socket>> ws(std::move(client.server), tls);
  ws.next_layer().handshake(ssl::stream_base::server);
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
  beast::get_lowest_layer(ws).shutdown(tcp::socket::shutdown_both, ignored);
}
BENCHMARK(BM_TlsWriteMessageBeastAsyncWrite)->UseRealTime();

}  // namespace
