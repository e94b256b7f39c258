// The whole server: one io_context run by N threads, the TLS context, the
// rooms, the listener and the signal handling that shuts everything down.
#pragma once

#include <memory>
#include <optional>

#include "beast.hpp"
#include "config.hpp"
#include "metrics_listener.hpp"
#include "room_registry.hpp"
#include "server_context.hpp"
#include "session_tracker.hpp"
#include "store/jetstream_log.hpp"
#include "store/nats_cluster.hpp"
#include "store/store.hpp"
#include "web_root.hpp"

namespace circle::server {

// How a node (and `circled audit --backend nats`) connects to the cluster of
// --nats-url: the waits every call to it uses.
circle::store::NatsClusterOptions nats_cluster_options(const Config& config);

class Listener;
class RoomReplication;
class ClusterOperators;

class Server {
 public:
  // Binds the port and loads the certificate; throws std::exception on failure.
  explicit Server(const Config& config);
  ~Server();
  tcp::endpoint local_endpoint() const;
  // Where the web app is served; none without a web root or with --no-web.
  std::optional<tcp::endpoint> web_endpoint() const;
  // Where GET /metrics is served; none with --no-metrics.
  std::optional<tcp::endpoint> metrics_endpoint() const;
  bool tls() const { return tls_.has_value(); }
  // Serves until SIGINT/SIGTERM, then closes every client and returns.
  void run();

 private:
  void shutdown();
  // Deletes expired history from the store now and then.
  void sweep_retention();
  // The gauges /metrics reports, read now.
  Gauges gauges() const;

  const Config& config_;
  // Before ioc_: connections destroyed with the io_context give their
  // places back to it.
  ConnectionLimits limits_;
  Metrics metrics_;
  net::io_context ioc_;
  std::optional<ssl::context> tls_;
  // Rooms, history and settings: <data-dir>/circle.db (--backend sqlite).
  // Before rooms_, so that it outlives them.
  std::unique_ptr<circle::store::Store> store_;
  // --backend nats: the cluster and the room log every node follows.
  std::unique_ptr<circle::store::NatsCluster> nats_;
  std::unique_ptr<circle::store::JetStreamLog> room_log_;
  std::unique_ptr<circle::store::JetStreamLog> audit_log_;
  // Support alerts nobody answered: the operators connected, the webhook.
  OperatorDesk operators_;
  std::unique_ptr<SupportWebhook> support_webhook_;  // null: none configured
  std::unique_ptr<SupportEscalation> escalation_;
  RoomRegistry rooms_;
  SessionTracker sessions_;
  ServerContext context_;
  // --backend nats; after the rooms and sessions it hands commands to, so
  // that it stops first.
  std::unique_ptr<RoomReplication> replication_;
  std::unique_ptr<ClusterOperators> cluster_operators_;  // --backend nats
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<MetricsListener> metrics_listener_;  // null with --no-metrics
  std::optional<WebRoot> web_root_;
  std::shared_ptr<Listener> web_listener_;  // null: no web app
  net::signal_set signals_;
  net::steady_timer shutdown_deadline_;
  net::steady_timer retention_timer_;
};

}  // namespace circle::server
