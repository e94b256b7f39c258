#include "https_client.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>
#include <memory>

#include "version.hpp"

namespace circle::server {

std::optional<HttpsUrl> parse_https_url(const std::string& url) {
  static constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  const std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  HttpsUrl parsed{.host = authority, .port = "443", .target = "/"};
  if (slash != std::string::npos) parsed.target = rest.substr(slash);
  if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    parsed.host = authority.substr(0, colon);
    parsed.port = authority.substr(colon + 1);
    if (parsed.port.empty() || parsed.port.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  }
  if (parsed.host.empty() || parsed.host.find_first_of("@[] ") != std::string::npos) {
    return std::nullopt;
  }
  return parsed;
}

ssl::context https_client_context(const std::string& ca_file) {
  ssl::context tls(ssl::context::tls_client);
  tls.set_default_verify_paths();
  if (!ca_file.empty()) tls.load_verify_file(ca_file);
  tls.set_verify_mode(ssl::verify_peer);
  return tls;
}

namespace {

class HttpsExchange : public std::enable_shared_from_this<HttpsExchange> {
 public:
  HttpsExchange(Strand strand, ssl::context& tls, HttpsUrl url,
                http::request<http::string_body> request, std::chrono::milliseconds timeout,
                std::size_t body_limit, HttpsHandler done)
      : url_(std::move(url)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(strand),
        resolve_deadline_(strand),
        stream_(strand, tls),
        request_(std::move(request)) {
    request_.version(11);
    request_.set(http::field::host, url_.host);
    request_.set(http::field::user_agent, "circled/" + std::string(kServerVersion));
    request_.prepare_payload();
    parser_.body_limit(body_limit);
  }

  void run() {
    if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str())) {
      return finish("TLS server name");
    }
    stream_.set_verify_callback(ssl::host_name_verification(url_.host));
    // One deadline for the whole exchange, a hanging name lookup included.
    deadline_ = std::chrono::steady_clock::now() + timeout_;
    resolve_deadline_.expires_at(deadline_);
    resolve_deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->resolver_.cancel();
    });
    resolver_.async_resolve(url_.host, url_.port,
                            [self = shared_from_this()](error_code ec, auto results) {
                              self->on_resolve(ec, results);
                            });
  }

 private:
  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    resolve_deadline_.cancel();
    if (ec) return finish("resolve: " + ec.message());
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    beast::get_lowest_layer(stream_).async_connect(
        results, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
          if (ec) return self->finish("connect: " + ec.message());
          self->stream_.async_handshake(ssl::stream_base::client, [self](error_code ec) {
            if (ec) return self->finish("TLS: " + ec.message());
            http::async_write(self->stream_, self->request_, [self](error_code ec, std::size_t) {
              if (ec) return self->finish("write: " + ec.message());
              http::async_read(self->stream_, self->buffer_, self->parser_,
                               [self](error_code ec, std::size_t) {
                                 self->finish(ec ? "read: " + ec.message() : std::string());
                               });
            });
          });
        });
  }

  void finish(const std::string& error) {
    beast::get_lowest_layer(stream_).close();
    done_(error, error.empty() ? parser_.release() : HttpsResponse{});
  }

  HttpsUrl url_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  HttpsHandler done_;
  tcp::resolver resolver_;
  net::steady_timer resolve_deadline_;
  beast::ssl_stream<beast::basic_stream<tcp, Strand>> stream_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace

void https_exchange(Strand strand, ssl::context& tls, const HttpsUrl& url,
                    http::request<http::string_body> request, std::chrono::milliseconds timeout,
                    std::size_t body_limit, HttpsHandler done) {
  std::make_shared<HttpsExchange>(strand, tls, url, std::move(request), timeout, body_limit,
                                  std::move(done))
      ->run();
}

}  // namespace circle::server
