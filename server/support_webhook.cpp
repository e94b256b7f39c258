#include "support_webhook.hpp"

#include <openssl/evp.h>

#include <openssl/hmac.h>

#include <stdexcept>

#include "logging.hpp"
#include "version.hpp"

namespace circle::server {
namespace {

// The receiver's answer is only looked at for its status.
constexpr std::size_t kAnswerLimit = 64 * 1024;

}  // namespace

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

SupportWebhook::SupportWebhook(net::io_context& ioc, SupportWebhookOptions options,
                               Metrics& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      tls_(https_client_context(options_.ca_file)),
      strand_(net::make_strand(ioc)),
      retry_timer_(strand_) {
  auto target = parse_https_url(options_.url);
  if (!target) throw std::invalid_argument("--support-webhook must be https://host[:port]/path");
  target_ = std::move(*target);
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
  // One attempt at one POST.
  http::request<http::string_body> request(http::verb::post, target_.target, 11);
  request.set(http::field::content_type, "application/json");
  request.set("X-Circle-Signature", webhook_signature(options_.secret, queue_.front()));
  request.body() = queue_.front();
  https_exchange(strand_, tls_, target_, std::move(request), options_.timeout, kAnswerLimit,
                 [this](const std::string& error, const HttpsResponse& response) {
                   const auto status = response.result_int();
                   const bool delivered = error.empty() && status >= 200 && status < 300;
                   if (!delivered) {
                     spdlog::warn("support webhook: attempt failed ({})",
                                  error.empty() ? "HTTP " + std::to_string(status) : error);
                   }
                   finished(delivered);
                 });
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
