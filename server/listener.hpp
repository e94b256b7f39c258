// Accepts TCP connections and starts an HttpSession for each, on a strand of
// its own. TLS unless the server runs with --insecure-plaintext. The web app's
// listener also serves the app's files.
#pragma once

#include <memory>

#include "beast.hpp"
#include "server_certificate.hpp"
#include "server_context.hpp"
#include "web_root.hpp"

namespace circle::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; throws boost::system::system_error on failure.
  // `web`: the web app to serve besides WebSocket upgrades, or null.
  // `certificate`: null for plaintext.
  Listener(net::io_context& ioc, tcp::endpoint endpoint, const ServerCertificate* certificate,
           ServerContext& context, const WebRoot* web = nullptr);
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run();
  // Stops accepting; safe from any thread.
  void stop();

 private:
  void do_accept();
  void on_accept(error_code ec, Socket socket);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const ServerCertificate* certificate_;
  ServerContext& context_;
  const WebRoot* web_;
};

}  // namespace circle::server
