// The operators' on-call webhook (--support-webhook): each escalated support
// alert becomes one HTTPS POST of a JSON body, signed with HMAC-SHA256 in the
// X-Circle-Signature header. Deliveries run in the background, one at a time,
// retried with backoff; a room only queues a body and never waits for the
// receiver, however slow or dead it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "beast.hpp"
#include "config.hpp"
#include "https_client.hpp"
#include "metrics.hpp"

namespace circle::server {

// "sha256=" and the lowercase hex HMAC-SHA256 of `body` under `secret`.
std::string webhook_signature(const std::string& secret, const std::string& body);

class SupportWebhook {
 public:
  // Throws std::invalid_argument when the URL is not https://host[:port]/path
  // or the CA file cannot be read.
  SupportWebhook(net::io_context& ioc, SupportWebhookOptions options, Metrics& metrics);
  ~SupportWebhook();

  // From any thread: queues one POST of `body`. False when the queue is full
  // (the body is dropped and counted).
  bool post(std::string body);

 private:
  void start_next();  // on strand_
  void finished(bool delivered);

  SupportWebhookOptions options_;
  HttpsUrl target_;
  Metrics& metrics_;
  ssl::context tls_;
  Strand strand_;
  net::steady_timer retry_timer_;
  std::deque<std::string> queue_;  // on strand_
  std::uint32_t attempts_ = 0;     // of queue_.front()
  bool busy_ = false;              // a delivery or a retry wait is under way
  std::mutex queued_mutex_;
  std::size_t queued_ = 0;  // guarded by queued_mutex_: bodies not yet done
};

}  // namespace circle::server
