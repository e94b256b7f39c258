#include "server.hpp"

#include <fmt/ranges.h>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "clock.hpp"
#include "cluster/cluster_backend.hpp"
#include "cluster_operators.hpp"
#include "jwks_url.hpp"
#include "listener.hpp"
#include "logging.hpp"
#include "rooms/local_backend.hpp"
#include "rooms/room_commands.hpp"
#include "server_certificate.hpp"
#include "store/sqlite_store.hpp"

namespace circle::server {

circle::cluster::NatsClusterOptions nats_cluster_options(const Config& config) {
  return {.urls = config.nats_urls,
          .wait = std::chrono::milliseconds(5000),
          .replicas = config.nats_replicas,
          .ping_interval = std::chrono::milliseconds(2000)};
}

namespace {

std::unique_ptr<PublishedKeys> make_published_keys(const Config& config, net::io_context& ioc,
                                                   Metrics& metrics) {
  if (!config.jwks_file.empty()) return std::make_unique<JwksFile>(config.jwks_file, metrics);
  if (config.jwks_url.empty()) return nullptr;
  return std::make_unique<JwksUrl>(
      ioc,
      JwksUrlOptions{.url = config.jwks_url,
                     .ca_file = config.jwks_ca_file,
                     .min_refresh = config.jwks_min_refresh,
                     .max_refresh = config.jwks_max_refresh,
                     // A Hello may wait for a fetch:
                     // it must end well within the Hello's time.
                     .timeout = std::min<std::chrono::milliseconds>(config.jwks_timeout,
                                                                    config.hello_timeout / 2)},
      metrics);
}

std::unique_ptr<circle::store::Store> open_store(const Config& config, net::io_context& ioc) {
  if (config.backend != "sqlite") return nullptr;
  return circle::store::open_sqlite_store(
      (std::filesystem::path(config.data_dir) / "circle.db").string(),
      {.synchronous = config.store_sync,
       .busy_timeout_ms = 5000,
       .min_commit_interval = config.store_commit_interval,
       .cache_mib = config.store_cache_mib,
       .max_mib = config.store_max_mib,
       .run_completions = [&ioc](std::function<void()> completions) {
         net::post(ioc, std::move(completions));
       }});
}

// This node's connection-id prefix: random, so that nodes need no
// coordination to tell their connections apart (2^23 values).
std::uint64_t random_node_prefix() {
  std::random_device random;
  const std::uint64_t bits = (std::uint64_t{random()} << 32) | random();
  return 1 + bits % ((std::uint64_t{1} << 23) - 1);
}

}  // namespace

Server::Server(const Config& config)
    : config_(config),
      limits_(config.connection_caps),
      ioc_(static_cast<int>(config.threads)),
      store_(open_store(config, ioc_)),
      nats_(config.backend == "nats"
                ? std::make_unique<circle::cluster::NatsCluster>(nats_cluster_options(config))
                : nullptr),
      room_log_(nats_ ? std::make_unique<circle::cluster::JetStreamLog>(
                            *nats_, circle::cluster::JetStreamLogOptions::for_namespace(
                                        config.nats_namespace))
                      : nullptr),
      audit_log_(nats_ ? std::make_unique<circle::cluster::JetStreamLog>(
                             *nats_, circle::cluster::JetStreamLogOptions::audit_for_namespace(
                                         config.nats_namespace))
                       : nullptr),
      node_prefix_(nats_ ? random_node_prefix() : 0),
      backend_(make_backend()),
      support_webhook_(
          config.support_webhook.url.empty()
              ? nullptr
              : std::make_unique<SupportWebhook>(ioc_, config.support_webhook, metrics_)),
      escalation_(std::make_unique<SupportEscalation>(
          operators_, support_webhook_.get(), config.support_webhook_include_text, metrics_)),
      published_keys_(make_published_keys(config, ioc_, metrics_)),
      rooms_(ioc_.get_executor(), config.limits, *backend_, metrics_),
      context_{config, rooms_, sessions_, limits_, metrics_, operators_, published_keys_.get()},
      signals_(ioc_, SIGINT, SIGTERM),
      reload_signals_(ioc_, SIGHUP),
      shutdown_deadline_(ioc_),
      retention_timer_(ioc_) {
  if (published_keys_) published_keys_->start();
  metrics_.reload_ok.set(1);  // no reload has failed
  rooms_.set_support_resources(config.support_resources);
  rooms_.set_escalation(escalation_.get());
  if (const auto restored = rooms_.restore(); restored > 0) {
    spdlog::info("restored {} rooms from the store", restored);
  }
  if (cluster_) {
    context_.last_connection_id = node_prefix_ << kNodePrefixShift;
    rooms_.set_node_prefix(node_prefix_);
    cluster_->set_rooms(rooms_);
    spdlog::info("backend nats ({}), node {}", fmt::join(config.nats_urls, ","), node_prefix_);
    cluster_->start(std::chrono::seconds(30));
    cluster_operators_ = std::make_unique<ClusterOperators>(
        *nats_, operators_,
        ClusterOperatorsOptions{.subject_prefix = config.nats_namespace,
                                .node_prefix = node_prefix_,
                                .heartbeat = std::chrono::milliseconds(1000),
                                .node_timeout = config.node_timeout});
    escalation_->set_elsewhere(cluster_operators_.get());
    cluster_operators_->start();
  }
  if (!config.insecure_plaintext) {
    certificate_ = std::make_unique<ServerCertificate>(config.cert_file, config.key_file, metrics_);
  }
  const tcp::endpoint endpoint(net::ip::make_address(config.listen_address), config.port);
  listener_ = std::make_shared<Listener>(ioc_, endpoint, certificate_.get(), context_);
  if (config.web_enabled) {
    std::string error;
    web_root_ = WebRoot::load(config.web_root, config.web_max_bytes, error);
    if (!web_root_) {
      // Only a root the operator named is an error; the default one is there
      // once the web app is built.
      if (config.web_root_given) throw std::runtime_error(error);
      spdlog::info("no web app served: {}", error);
    } else {
      const tcp::endpoint web_at(net::ip::make_address(config.listen_address), config.web_port);
      web_listener_ =
          std::make_shared<Listener>(ioc_, web_at, certificate_.get(), context_, &*web_root_);
      spdlog::info("web app: {} files, {} bytes from {}", web_root_->file_count(),
                   web_root_->total_bytes(), web_root_->root().string());
    }
  }
  if (config.metrics_enabled) {
    const tcp::endpoint metrics_at(net::ip::make_address(config.metrics_address),
                                   config.metrics_port);
    metrics_listener_ = std::make_shared<MetricsListener>(
        ioc_, metrics_at, config, metrics_, [this] { return gauges(); },
        [this] { return cluster_ ? cluster_->health() : Health{}; });
  }
}

Gauges Server::gauges() const {
  Gauges gauges{.connections = limits_.connections(), .sessions = sessions_.size()};
  for (const auto& room : rooms_.list()) {
    ++gauges.rooms;
    gauges.members += room.member_count();
  }
  gauges.open_escalations = rooms_.open_escalations().size();
  if (cluster_) {
    const auto health = cluster_->health();
    gauges.nats_connected = health.nats_connected.value_or(false) ? 1 : 0;
    gauges.room_log_following = health.room_log_following.value_or(false) ? 1 : 0;
  }
  return gauges;
}

std::optional<tcp::endpoint> Server::web_endpoint() const {
  if (!web_listener_) return std::nullopt;
  return web_listener_->local_endpoint();
}

std::optional<tcp::endpoint> Server::metrics_endpoint() const {
  if (!metrics_listener_) return std::nullopt;
  return metrics_listener_->local_endpoint();
}

std::unique_ptr<RoomBackend> Server::make_backend() {
  if (store_) return std::make_unique<LocalBackend>(*store_);
  auto cluster = std::make_unique<ClusterBackend>(
      ioc_, *nats_, *room_log_, config_.limits, metrics_,
      ReplicationOptions{
          .alive_subject = config_.nats_namespace + ".nodes.alive",
          .node_prefix = node_prefix_,
          .node_timeout = config_.node_timeout,
          .heartbeat = std::chrono::milliseconds(1000),
          .replica_bucket =
              circle::cluster::RoomReplicaBucket::name_for_namespace(config_.nats_namespace),
          .replica_interval = config_.room_copy_interval,
          .purge_delay = config_.room_log_purge_delay,
          .dormant_after = config_.room_dormant_after,
          .find_connection = [this](core::ConnectionId id) -> std::weak_ptr<core::EventSink> {
            return sessions_.find(id);
          },
          .fatal =
              [this](const std::string& why) {
                // Its copies of rooms may now differ from the others': it
                // must not serve from them. Its clients resume on another
                // node; a restart goes on from the rooms' copies.
                spdlog::critical("{}", why);
                exit_status_ = kExitRoomLogMovedOn;
                ioc_.stop();
              }},
      audit_log_.get());
  cluster_ = cluster.get();
  return cluster;
}

Server::~Server() {
  // It hands commands to the rooms from threads of its own: stopped first.
  if (cluster_) cluster_->stop();
}

tcp::endpoint Server::local_endpoint() const {
  return listener_->local_endpoint();
}

int Server::run() {
  listener_->run();
  if (web_listener_) web_listener_->run();
  if (metrics_listener_) metrics_listener_->run();
  signals_.async_wait([this](error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", signal);
    retention_timer_.cancel();
    reload_signals_.cancel();
    shutdown();
  });
  wait_for_reload_signal();
  sweep_retention();
  std::vector<std::jthread> threads;
  for (unsigned i = 1; i < config_.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& thread : threads) thread.join();
  // Everything queued is committed before circled exits.
  if (store_) store_->close();
  if (cluster_operators_) cluster_operators_->stop();
  if (cluster_) cluster_->stop();
  return exit_status_;
}

void Server::wait_for_reload_signal() {
  reload_signals_.async_wait([this](error_code ec, int) {
    if (ec) return;
    spdlog::info("SIGHUP: reloading");
    // On an I/O thread: a few small files, read in milliseconds.
    reload();
    wait_for_reload_signal();
  });
}

bool Server::reload() {
  std::lock_guard lock(reload_mutex_);
  std::vector<std::string> failures;
  // The settings as they read now (the config file may have changed).
  std::vector<std::string> arguments{"circled"};
  arguments.insert(arguments.end(), config_.arguments.begin(), config_.arguments.end());
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  int exit_code = 0;
  std::ostringstream ignored_output;
  auto* old_cerr = std::cerr.rdbuf(ignored_output.rdbuf());
  auto settings = parse_config(static_cast<int>(argv.size()), argv.data(), &exit_code);
  std::cerr.rdbuf(old_cerr);
  if (!settings) {
    auto why = ignored_output.str();
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    failures.push_back("the settings no longer read (" + why + ")");
  } else {
    std::vector<std::string> need_restart;
    for (const auto& name : changed_settings(config_.settings_text, settings->settings_text)) {
      if (name == "log-level") {
        spdlog::set_level(spdlog::level::from_str(settings->log_level));
        spdlog::info("reload: log level {}", settings->log_level);
      } else if (name != "support-resources") {
        need_restart.push_back(name);
      }
    }
    if (!need_restart.empty()) {
      spdlog::warn("reload: changed, but taken only at a restart: {}",
                   fmt::join(need_restart, ", "));
    }
  }
  if (certificate_) {
    if (auto why = certificate_->reload(); !why.empty()) failures.push_back("TLS: " + why);
  }
  if (published_keys_) {
    if (auto why = published_keys_->reload(); !why.empty()) {
      failures.push_back("identity provider keys: " + why);
    }
  }
  // parse_config has read and checked the text already; read it here only
  // when the settings did not parse, from the file named at start.
  const auto& resources_file =
      settings ? settings->support_resources_file : config_.support_resources_file;
  if (!resources_file.empty()) {
    auto text = settings ? std::optional<std::string>(settings->support_resources)
                         : read_support_resources(resources_file);
    if (text) {
      rooms_.set_support_resources(std::move(*text));
      spdlog::info("reload: support resources from {}", resources_file);
    } else {
      failures.push_back("support resources: " + resources_file +
                         " is not a readable file of at most " +
                         std::to_string(kMaxSupportResourcesBytes) + " bytes of UTF-8");
    }
  }
  metrics_.reload_ok.set(failures.empty() ? 1 : 0);
  metrics_.reloads.add();  // after the outcome: a scrape that sees it sees all of it
  if (failures.empty()) {
    spdlog::info("reload: done");
    return true;
  }
  metrics_.reload_failures.add();
  for (const auto& failure : failures) spdlog::error("reload: kept the old state: {}", failure);
  return false;
}

void Server::sweep_retention() {
  if (!store_) return;
  const auto window_ms = static_cast<std::int64_t>(config_.limits.reconnect_window_seconds) * 1000;
  store_->expire(now_unix_ms(), window_ms, [](std::size_t deleted) {
    if (deleted > 0) spdlog::info("retention: deleted {} expired events", deleted);
  });
  retention_timer_.expires_after(config_.retention_sweep);
  retention_timer_.async_wait([this](error_code ec) {
    if (!ec) sweep_retention();
  });
}

void Server::shutdown() {
  if (published_keys_) published_keys_->stop();
  listener_->stop();
  if (web_listener_) web_listener_->stop();
  if (metrics_listener_) metrics_listener_->stop();
  // Bound the wait for clients to answer the close; then stop regardless.
  shutdown_deadline_.expires_after(config_.shutdown_timeout);
  shutdown_deadline_.async_wait([this](error_code ec) {
    if (ec) return;  // every session closed in time
    spdlog::warn("shutdown: {} sessions still open after {}s; stopping", sessions_.size(),
                 config_.shutdown_timeout.count());
    ioc_.stop();
  });
  sessions_.close_all(close_code::kGoingAway, "server shutting down", [this] {
    net::post(ioc_, [this] {
      shutdown_deadline_.cancel();
      // Connections still in their TLS/HTTP handshake hold no client state.
      ioc_.stop();
    });
  });
}

}  // namespace circle::server
