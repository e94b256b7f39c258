// The Boost.Beast/Asio names the network floor uses, in one place.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>

namespace circle::server {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// Every connection and room runs on a strand of the one io_context. The
// concrete executor type (not any_io_executor) matters for speed: a strand
// does not fit in any_io_executor's small buffer, so each type-erased copy in
// Asio's and Beast's composed operations would be a heap allocation.
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;

// A connection's transport is the bare Socket or a TlsSocket over it
// (tls_socket.hpp): sessions keep their own deadlines, so no basic_stream
// timeout layer sits under every operation. The metrics listener, which
// answers one request per connection, uses basic_stream's timeouts.
using PlainStream = beast::basic_stream<tcp, Strand>;

// Both listeners (clients, metrics): open, bind and listen, as Beast's
// examples do; throws boost::system::system_error on failure.
inline void open_and_listen(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
}

// Closes `acceptor` on its own strand (safe from any thread); `owner` keeps
// it alive until then.
inline void close_on_its_strand(tcp::acceptor& acceptor, std::shared_ptr<const void> owner) {
  net::post(acceptor.get_executor(), [&acceptor, owner = std::move(owner)] {
    error_code ignored;
    acceptor.close(ignored);
  });
}

}  // namespace circle::server
