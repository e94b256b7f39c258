#include "listener.hpp"

#include "http_session.hpp"
#include "logging.hpp"

namespace circle::server {

Listener::Listener(net::io_context& ioc, tcp::endpoint endpoint,
                   const ServerCertificate* certificate, ServerContext& context, const WebRoot* web)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      certificate_(certificate),
      context_(context),
      web_(web) {
  open_and_listen(acceptor_, endpoint);
}

void Listener::run() {
  do_accept();
}

void Listener::stop() {
  close_on_its_strand(acceptor_, shared_from_this());
}

void Listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(error_code ec, Socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: keep serving those already here.
    spdlog::warn("accept failed: {}", ec.message());
  } else {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const auto remote = socket.remote_endpoint(ignored);
    // Counted from here, handshake included; over a cap the connection is
    // still answered (an HTTP error saying why) but never upgraded, unless
    // too many refusals are being answered already.
    AdmittedConnection admitted;
    admitted.slot =
        context_.limits.admit_connection(address_key(remote.address()), admitted.refusal);
    if (admitted.refusal == ConnectionLimits::Refusal::kCloseNow) {
      context_.metrics.count_refused(RefusedBecause::kUnanswered);
      socket.close(ignored);
      return do_accept();
    }
    if (certificate_) {
      // The certificate of this moment: a reload swaps it for later handshakes.
      const auto tls = certificate_->current();
      std::make_shared<HttpSession<TlsSocket>>(std::move(socket), tls.get(), context_,
                                               std::move(admitted), web_)
          ->run();
    } else {
      std::make_shared<HttpSession<Socket>>(std::move(socket), nullptr, context_,
                                            std::move(admitted), web_)
          ->run();
    }
  }
  do_accept();
}

}  // namespace circle::server
