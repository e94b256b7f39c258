#include "support_webhook.hpp"

#include <openssl/evp.h>

#include <openssl/hmac.h>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <stdexcept>

#include "logging.hpp"
#include "version.hpp"

namespace circle::server {

std::optional<WebhookTarget> parse_webhook_url(const std::string& url) {
  static constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  const std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  WebhookTarget target{.host = authority, .port = "443", .target = "/"};
  if (slash != std::string::npos) target.target = rest.substr(slash);
  if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    target.host = authority.substr(0, colon);
    target.port = authority.substr(colon + 1);
    if (target.port.empty() || target.port.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  }
  if (target.host.empty() || target.host.find_first_of("@[] ") != std::string::npos) {
    return std::nullopt;
  }
  return target;
}

std::string webhook_signature(const std::string& secret, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string signature = "sha256=";
  for (unsigned int i = 0; i < length; ++i) {
    signature += kHex[digest[i] >> 4];
    signature += kHex[digest[i] & 15];
  }
  return signature;
}

// One attempt at one POST: resolve, connect, TLS (with the host name checked),
// write, read the answer; each step under the attempt's deadline.
class SupportWebhook::Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  Delivery(SupportWebhook& owner, const std::string& body)
      : owner_(owner),
        resolver_(owner.strand_),
        resolve_deadline_(owner.strand_),
        stream_(owner.strand_, owner.tls_) {
    request_.method(http::verb::post);
    request_.target(owner.target_.target);
    request_.version(11);
    request_.set(http::field::host, owner.target_.host);
    request_.set(http::field::user_agent, "circled/" + std::string(kServerVersion));
    request_.set(http::field::content_type, "application/json");
    request_.set("X-Circle-Signature", webhook_signature(owner.options_.secret, body));
    request_.body() = body;
    request_.prepare_payload();
  }

  void run() {
    const auto& host = owner_.target_.host;
    if (!SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str())) {
      return done(false, "TLS server name");
    }
    stream_.set_verify_callback(ssl::host_name_verification(host));
    // A name lookup that hangs must not hold up the deliveries behind it.
    resolve_deadline_.expires_after(owner_.options_.timeout);
    resolve_deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->resolver_.cancel();
    });
    resolver_.async_resolve(host, owner_.target_.port,
                            [self = shared_from_this()](error_code ec, auto results) {
                              self->on_resolve(ec, results);
                            });
  }

 private:
  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    resolve_deadline_.cancel();
    if (ec) return done(false, "resolve: " + ec.message());
    beast::get_lowest_layer(stream_).expires_after(owner_.options_.timeout);
    beast::get_lowest_layer(stream_).async_connect(
        results, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
          if (ec) return self->done(false, "connect: " + ec.message());
          self->stream_.async_handshake(ssl::stream_base::client, [self](error_code ec) {
            if (ec) return self->done(false, "TLS: " + ec.message());
            http::async_write(self->stream_, self->request_, [self](error_code ec, std::size_t) {
              if (ec) return self->done(false, "write: " + ec.message());
              http::async_read(self->stream_, self->buffer_, self->response_,
                               [self](error_code ec, std::size_t) { self->on_read(ec); });
            });
          });
        });
  }

  void on_read(error_code ec) {
    if (ec) return done(false, "read: " + ec.message());
    const auto status = response_.result_int();
    if (status >= 200 && status < 300) return done(true, "");
    done(false, "HTTP " + std::to_string(status));
  }

  void done(bool delivered, const std::string& why) {
    if (!delivered) spdlog::warn("support webhook: attempt failed ({})", why);
    beast::get_lowest_layer(stream_).close();
    owner_.finished(delivered);
  }

  SupportWebhook& owner_;
  tcp::resolver resolver_;
  net::steady_timer resolve_deadline_;
  beast::ssl_stream<beast::basic_stream<tcp, Strand>> stream_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response<http::string_body> response_;
};

SupportWebhook::SupportWebhook(net::io_context& ioc, SupportWebhookOptions options,
                               Metrics& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      tls_(ssl::context::tls_client),
      strand_(net::make_strand(ioc)),
      retry_timer_(strand_) {
  auto target = parse_webhook_url(options_.url);
  if (!target) throw std::invalid_argument("--support-webhook must be https://host[:port]/path");
  target_ = std::move(*target);
  tls_.set_default_verify_paths();
  if (!options_.ca_file.empty()) tls_.load_verify_file(options_.ca_file);
  tls_.set_verify_mode(ssl::verify_peer);
}

SupportWebhook::~SupportWebhook() = default;

bool SupportWebhook::post(std::string body) {
  {
    std::lock_guard lock(queued_mutex_);
    if (queued_ >= options_.max_queued) {
      metrics_.webhook_dropped.add();
      spdlog::error("support webhook: {} deliveries waiting; one dropped", options_.max_queued);
      return false;
    }
    ++queued_;
  }
  net::post(strand_, [this, body = std::move(body)]() mutable {
    queue_.push_back(std::move(body));
    if (!busy_) start_next();
  });
  return true;
}

void SupportWebhook::start_next() {
  if (queue_.empty()) {
    busy_ = false;
    return;
  }
  busy_ = true;
  ++attempts_;
  std::make_shared<Delivery>(*this, queue_.front())->run();
}

void SupportWebhook::finished(bool delivered) {
  if (delivered || attempts_ >= options_.max_attempts) {
    (delivered ? metrics_.webhook_delivered : metrics_.webhook_dropped).add();
    if (!delivered) {
      spdlog::error("support webhook: gave up on a delivery after {} attempts", attempts_);
    }
    queue_.pop_front();
    attempts_ = 0;
    {
      std::lock_guard lock(queued_mutex_);
      --queued_;
    }
    return start_next();
  }
  metrics_.webhook_retries.add();
  // Backoff: first_retry, doubling, at most max_retry.
  auto wait = options_.first_retry;
  for (std::uint32_t i = 1; i < attempts_ && wait < options_.max_retry; ++i) wait *= 2;
  retry_timer_.expires_after(std::min(wait, options_.max_retry));
  retry_timer_.async_wait([this](error_code ec) {
    if (!ec) start_next();
  });
}

}  // namespace circle::server
