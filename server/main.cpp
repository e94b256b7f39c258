// circled: parse settings, bind, print where to connect, serve until a signal.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "auth/secret.hpp"
#include "auth/token.hpp"
#include "clock.hpp"
#include "cluster/nats/jetstream_log.hpp"
#include "cluster/nats/nats_cluster.hpp"
#include "config.hpp"
#include "logging.hpp"
#include "server.hpp"
#include "store/sqlite_backup.hpp"
#include "store/sqlite_store.hpp"

namespace {

// `circled audit --backend nats`: the newest entries of the service's audit
// log in the cluster, oldest first.
int print_nats_audit(const circle::server::Config& config) {
  circle::cluster::NatsCluster cluster(circle::server::nats_cluster_options(config));
  if (!cluster.wait_connected(std::chrono::seconds(10))) {
    std::cerr << "circled audit: no NATS server answers at the --nats-url given\n";
    return 1;
  }
  circle::cluster::JetStreamLog audit(
      cluster, circle::cluster::JetStreamLogOptions::audit_for_namespace(config.nats_namespace));
  const auto last = audit.stream_last_sequence();
  if (!last.answered) {
    std::cerr << "circled audit: the cluster does not answer for the audit log\n";
    return 1;
  }
  const auto& query = *config.audit_query;
  std::vector<std::string> newest_first;
  for (std::uint64_t sequence = last.value.value_or(0);
       sequence > 0 && newest_first.size() < query.limit; --sequence) {
    const auto entry = audit.read(sequence);
    if (!entry.answered) {
      std::cerr << "circled audit: the cluster stopped answering\n";
      return 1;
    }
    if (!entry.value || (!query.room_id.empty() && entry.value->room_id != query.room_id)) {
      continue;
    }
    newest_first.push_back(entry.value->data);
  }
  for (auto json = newest_first.rbegin(); json != newest_first.rend(); ++json) {
    std::cout << *json << '\n';
  }
  return 0;
}

// `circled backup --out FILE`.
int back_up(const circle::server::Config& config) {
  if (config.backend == "nats") {
    std::cerr << "circled backup: with --backend nats the rooms are kept in JetStream; back up "
                 "its streams with `nats stream backup` (docs/OPERATIONS.md, Backups)\n";
    return 2;
  }
  const auto db = std::filesystem::path(config.data_dir) / "circle.db";
  try {
    const auto copy = circle::store::backup_sqlite_database(db.string(), *config.backup_out);
    std::cout << "circled backup: " << db.string() << " copied to " << *config.backup_out << " ("
              << copy.pages << " pages, " << copy.bytes << " bytes)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "circled backup: " << e.what() << "\n";
    return 1;
  }
}

// `circled reload --pid-file F`: SIGHUP to the circled whose id F holds.
int ask_to_reload(const std::string& pid_file) {
  std::ifstream file(pid_file);
  long pid = 0;
  if (!(file >> pid) || pid <= 1) {
    std::cerr << "circled reload: no process id in " << pid_file << "\n";
    return 1;
  }
  // A file left by a circled that crashed may name another program by now:
  // signal only a circled (SIGHUP would end most other programs).
  std::error_code unreadable;
  const auto program =
      std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", unreadable);
  if (unreadable || program.filename() != "circled") {
    std::cerr << "circled reload: process " << pid << " of " << pid_file
              << " is not a running circled (a file left by one that stopped?)\n";
    return 1;
  }
  if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0) {
    std::cerr << "circled reload: cannot signal process " << pid << ": " << std::strerror(errno)
              << "\n";
    return 1;
  }
  std::cout << "circled reload: asked circled (process " << pid
            << ") to reload; its log and circle_reload_success say what was taken\n";
  return 0;
}

// --pid-file: written once circled listens, removed when it stops.
class PidFile {
 public:
  explicit PidFile(std::string path) : path_(std::move(path)) {
    if (path_.empty()) return;
    const std::string partial = path_ + ".partial";
    std::ofstream(partial) << ::getpid() << '\n';
    std::filesystem::rename(partial, path_);
  }
  ~PidFile() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove(path_, ignored);
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto config = circle::server::parse_config(argc, argv, &exit_code);
  if (!config) return exit_code;
  if (config->reload_request) return ask_to_reload(config->pid_file);
  if (config->threads == 0) config->threads = std::max(1u, std::thread::hardware_concurrency());
  if (config->audit_query && config->backend == "nats") return print_nats_audit(*config);
  if (config->backup_out) return back_up(*config);
  if (config->audit_query) {
    const auto db = std::filesystem::path(config->data_dir) / "circle.db";
    if (!std::filesystem::exists(db)) {
      std::cerr << "circled audit: no store at " << db.string() << " (see --data-dir)\n";
      return 2;
    }
    try {
      auto store = circle::store::open_sqlite_store(db.string());
      for (const auto& entry :
           store->load_audit(config->audit_query->room_id, config->audit_query->limit)) {
        std::cout << entry.json << '\n';
      }
      store->close();
    } catch (const std::exception& e) {
      std::cerr << "circled audit: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  try {
    config->token_secret =
        circle::auth::load_token_secret(config->token_secret_file, config->data_dir);
  } catch (const std::exception& e) {
    std::cerr << "circled: " << e.what()
              << "\n  set $CIRCLE_TOKEN_SECRET or --token-secret-file (at least "
              << circle::auth::kMinSecretBytes << " bytes)\n";
    return 2;
  }
  if (config->mint) {
    const std::int64_t now = circle::server::now_unix_ms() / 1000;
    circle::auth::Identity identity{.account_id = config->mint->subject,
                                    .name = config->mint->name,
                                    .issued_at = now,
                                    .expires_at = now + config->mint->ttl.count(),
                                    .admin = config->mint->admin};
    std::cout << circle::auth::mint_token(identity, config->token_secret, config->token_rules)
              << std::endl;
    return 0;
  }
  circle::server::init_logging(config->log_level, config->log_format);

  if (!config->insecure_plaintext &&
      (!std::filesystem::exists(config->cert_file) || !std::filesystem::exists(config->key_file))) {
    std::cerr
        << "circled: no TLS certificate at " << config->cert_file << " / " << config->key_file
        << "\n  make development certificates with: certs/make-dev-certs"
           "\n  or pass --cert and --key (or --insecure-plaintext for a plain ws:// server)\n";
    return 2;
  }
  try {
    std::filesystem::create_directories(config->data_dir);
    circle::server::Server server(*config);
    const auto endpoint = server.local_endpoint();
    const std::string scheme = server.tls() ? "wss" : "ws";
    std::string host = endpoint.address().to_string();
    if (endpoint.address().is_v6()) host = "[" + host + "]";
    const std::string url = scheme + "://" + host + ":" + std::to_string(endpoint.port());
    // Tests and scripts read this line to learn the port.
    std::cout << "circled: listening on " << url << std::endl;
    spdlog::info("listening on {} with {} threads", url, config->threads);
    if (const auto web = server.web_endpoint()) {
      std::string web_host = web->address().to_string();
      if (web->address().is_v6()) web_host = "[" + web_host + "]";
      const std::string web_url = std::string(server.tls() ? "https" : "http") + "://" + web_host +
                                  ":" + std::to_string(web->port()) + "/";
      std::cout << "circled: web app on " << web_url << std::endl;
      spdlog::info("web app on {}", web_url);
    }
    if (const auto metrics = server.metrics_endpoint()) {
      const std::string metrics_url = "http://" + metrics->address().to_string() + ":" +
                                      std::to_string(metrics->port()) + "/metrics";
      std::cout << "circled: metrics on " << metrics_url << std::endl;
      spdlog::info("metrics on {}", metrics_url);
    }
    const PidFile pid_file(config->pid_file);
    const int status = server.run();
    spdlog::info("stopped");
    if (status != 0) return status;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    std::cerr << "circled: cannot start: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
