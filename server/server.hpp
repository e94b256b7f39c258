// The whole server: one io_context run by N threads, the TLS context, the
// rooms, the listener and the signal handling that shuts everything down.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "beast.hpp"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/nats_cluster.hpp"
#include "config.hpp"
#include "metrics_listener.hpp"
#include "rooms/room_backend.hpp"
#include "rooms/room_registry.hpp"
#include "server_context.hpp"
#include "session_tracker.hpp"
#include "store/store.hpp"
#include "web_root.hpp"

namespace circle::server {

// How a node (and `circled audit --backend nats`) connects to the cluster of
// --nats-url: the waits every call to it uses.
circle::cluster::NatsClusterOptions nats_cluster_options(const Config& config);

class Listener;
class ClusterBackend;
class ClusterOperators;

// circled's exit status when the room log moved on without this node.
inline constexpr int kExitRoomLogMovedOn = 75;

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
  bool tls() const { return certificate_ != nullptr; }
  // Reads again what can change without dropping anyone: the TLS certificate
  // and key, --jwks-file, the --support-resources text and the log level
  // (SIGHUP does this too). What cannot be taken is logged and counted, and
  // the state held stays; settings that need a restart are named in the log.
  // Returns whether everything was taken. From any thread.
  bool reload();
  // Serves until SIGINT/SIGTERM, then closes every client and returns 0;
  // or stops at once and returns kExitRoomLogMovedOn (see ReplicationOptions::fatal).
  int run();

 private:
  void shutdown();
  std::unique_ptr<RoomBackend> make_backend();
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
  // The certificate new handshakes present; null with --insecure-plaintext.
  std::unique_ptr<class ServerCertificate> certificate_;
  // Rooms, history and settings: <data-dir>/circle.db (--backend sqlite).
  // Before rooms_, so that it outlives them.
  std::unique_ptr<circle::store::Store> store_;
  // --backend nats: the cluster and the room log every node follows.
  std::unique_ptr<circle::cluster::NatsCluster> nats_;
  std::unique_ptr<circle::cluster::JetStreamLog> room_log_;
  std::unique_ptr<circle::cluster::JetStreamLog> audit_log_;
  std::uint64_t node_prefix_ = 0;  // --backend nats: this node's connection-id prefix
  SessionTracker sessions_;
  // Where rooms are kept and how their commands are ordered; the cluster
  // backend (--backend nats) is stopped explicitly before the rooms go.
  ClusterBackend* cluster_ = nullptr;  // backend_, with --backend nats (set by make_backend)
  std::unique_ptr<RoomBackend> backend_;
  std::atomic<int> exit_status_{0};
  // Support alerts nobody answered: the operators connected, the webhook.
  OperatorDesk operators_;
  std::unique_ptr<SupportWebhook> support_webhook_;  // null: none configured
  std::unique_ptr<SupportEscalation> escalation_;
  // --jwks-file / --jwks-url; null: tokens are checked with the secret only.
  std::unique_ptr<PublishedKeys> published_keys_;
  RoomRegistry rooms_;
  ServerContext context_;
  std::unique_ptr<ClusterOperators> cluster_operators_;  // --backend nats
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<MetricsListener> metrics_listener_;  // null with --no-metrics
  std::optional<WebRoot> web_root_;
  std::shared_ptr<Listener> web_listener_;  // null: no web app
  net::signal_set signals_;
  net::signal_set reload_signals_;  // SIGHUP
  void wait_for_reload_signal();
  std::mutex reload_mutex_;  // one reload at a time
  net::steady_timer shutdown_deadline_;
  net::steady_timer retention_timer_;
};

}  // namespace circle::server
