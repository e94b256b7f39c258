// A small HTTPS server on 127.0.0.1 standing in for an operator's on-call
// system or an identity provider's key endpoint: it records every request it is sent and answers
// each with the next status of a script (then 200), or, when told to stall, accepts connections and
// never answers (a dead receiver). Uses the test certificates.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace circle::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // field names lowercased
  std::string body;
};

class HttpsReceiver {
 public:
  // `statuses`: the answers to the first requests, in order; 200 after them.
  // `stall`: accept, then never read or answer.
  explicit HttpsReceiver(std::vector<int> statuses = {}, bool stall = false);
  ~HttpsReceiver();
  HttpsReceiver(const HttpsReceiver&) = delete;
  HttpsReceiver& operator=(const HttpsReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;
  // Waits until `count` requests (or, stalling, connections) have come.
  bool wait_requests(std::size_t count, std::chrono::milliseconds timeout);
  bool wait_connections(std::size_t count, std::chrono::milliseconds timeout);
  std::vector<ReceivedRequest> requests();
  // What every answer carries from now on (default: "ok", no Cache-Control):
  // an identity provider's JWK Set, say.
  void serve(std::string body, std::string cache_control = {});

 private:
  struct Connection;
  void accept_next();
  void answered(ReceivedRequest request);
  int next_status();
  std::pair<std::string, std::string> answer_body();

  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const bool stall_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<int> statuses_;
  std::string body_ = "ok";
  std::string cache_control_;
  std::vector<ReceivedRequest> requests_;
  std::size_t connections_ = 0;
  std::vector<std::shared_ptr<Connection>> held_;  // stalled connections, kept open
  std::thread thread_;
};

}  // namespace circle::test
