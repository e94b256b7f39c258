// GET /metrics (Prometheus text) and GET /healthz on a listener of their
// own, plain HTTP, by default on loopback only: what operators scrape is
// kept off the public port. One request per connection, with the same
// request deadline and header limit as the main port.
#pragma once

#include <functional>
#include <memory>

#include "beast.hpp"
#include "config.hpp"
#include "health.hpp"
#include "metrics.hpp"

namespace circle::server {

class MetricsListener : public std::enable_shared_from_this<MetricsListener> {
 public:
  // Binds and listens; throws boost::system::system_error on failure.
  MetricsListener(net::io_context& ioc, tcp::endpoint endpoint, const Config& config,
                  const Metrics& metrics, std::function<Gauges()> gauges,
                  std::function<Health()> health = {});
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run();
  void stop();  // safe from any thread

  // The body of GET /metrics now.
  std::string render() const { return render_prometheus(metrics_, gauges_()); }
  // GET /healthz now.
  Health health() const { return health_ ? health_() : Health{}; }
  const Config& config() const { return config_; }

 private:
  void do_accept();

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const Config& config_;
  const Metrics& metrics_;
  std::function<Gauges()> gauges_;
  std::function<Health()> health_;
};

}  // namespace circle::server
