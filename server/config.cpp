#include "config.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/validation.hpp"

#include "version.hpp"

namespace circle::server {

std::optional<std::string> read_support_resources(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  std::string resources = text.str();
  while (!resources.empty() && std::isspace(static_cast<unsigned char>(resources.back()))) {
    resources.pop_back();
  }
  if (resources.size() > kMaxSupportResourcesBytes || !core::is_valid_utf8(resources)) {
    return std::nullopt;
  }
  return resources;
}

std::optional<Config> parse_config(int argc, char** argv, int* exit_code) {
  Config c;
  CLI::App app{"circled: the Circle group-session chat server"};
  app.set_version_flag("--version", std::string(kServerVersion));
  app.set_config("--config", "",
                 "Read settings from this TOML/INI file (keys as the long options)");
  app.option_defaults()->always_capture_default();

  app.add_option("--listen", c.listen_address, "Address to listen on");
  app.add_option("--port", c.port, "TCP port (0 picks a free one)");
  app.add_option("--threads", c.threads, "I/O threads (0: one per hardware thread)");
  app.add_option("--cert", c.cert_file, "TLS certificate chain (PEM)");
  app.add_option("--key", c.key_file, "TLS private key (PEM)");
  app.add_flag("--insecure-plaintext", c.insecure_plaintext,
               "Serve plain ws:// without TLS (development and benchmarks only)");
  app.add_option("--data-dir", c.data_dir, "Directory for server data");
  app.add_option("--backend", c.backend,
                 "sqlite: rooms kept by this node in <data-dir>/circle.db; nats: several nodes "
                 "share rooms through a NATS JetStream cluster (--nats-url)")
      ->check(CLI::IsMember({"sqlite", "nats"}));
  app.add_option("--nats-url", c.nats_urls,
                 "With --backend nats: a NATS server of the cluster (repeat for several)")
      ->delimiter(',');
  app.add_option("--nats-namespace", c.nats_namespace,
                 "With --backend nats: names this service's subjects (<ns>.room.*) and stream "
                 "(<NS>_EVENTS) in the cluster; nodes of one service share it")
      ->check([](const std::string& ns) {
        const bool ok = !ns.empty() && ns.size() <= 32 &&
                        std::all_of(ns.begin(), ns.end(), [](unsigned char c) {
                          return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
                        });
        return ok ? std::string() : std::string("1 to 32 of a-z, 0-9, _ and -");
      });
  app.add_option("--nats-replicas", c.nats_replicas,
                 "With --backend nats: copies of the room log the cluster keeps")
      ->check(CLI::Range(1, 5));
  app.add_option_function<unsigned>(
         "--node-timeout-ms", [&c](unsigned v) { c.node_timeout = std::chrono::milliseconds(v); },
         "With --backend nats: a node not heard from for this long is taken for stopped and "
         "its connections leave their rooms (nodes say they are alive every second)")
      ->default_str(std::to_string(c.node_timeout.count()))
      ->check(CLI::Range(3000u, 600'000u));
  app.add_option_function<unsigned>(
         "--room-copy-seconds",
         [&c](unsigned v) { c.room_copy_interval = std::chrono::seconds(v); },
         "With --backend nats: a changed room is copied to the cluster this often (at once "
         "after a redaction or a session end); nodes starting up go on from the copies, and the "
         "room log before a copy is deleted")
      ->default_str(std::to_string(c.room_copy_interval.count()))
      ->check(CLI::Range(1u, 3600u));
  app.add_option_function<unsigned>(
         "--room-log-purge-delay-seconds",
         [&c](unsigned v) { c.room_log_purge_delay = std::chrono::seconds(v); },
         "With --backend nats: the room log before a room's copy is deleted this long after the "
         "copy is written (a node reading the log back meanwhile still finds what it needs)")
      ->default_str(std::to_string(c.room_log_purge_delay.count()))
      ->check(CLI::Range(5u, 3600u));
  app.add_option_function<unsigned>(
         "--room-dormant-seconds",
         [&c](unsigned v) { c.room_dormant_after = std::chrono::seconds(v); },
         "With --backend nats: a node applies only the rooms it has members in; one without "
         "members here for this long is left to the nodes that have (a member joining here "
         "again goes on from the room's copy)")
      ->default_str(std::to_string(c.room_dormant_after.count()))
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--store-sync", c.store_sync,
                 "full: each group commit is synced to disk (survives power loss); normal: "
                 "survives a crash of circled, may lose the last commits on power loss")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option_function<unsigned>(
         "--store-commit-interval-us",
         [&c](unsigned v) { c.store_commit_interval = std::chrono::microseconds(v); },
         "Least time between the store's group commits (bigger groups, fewer syncs); an ack "
         "waits at most this much longer")
      ->default_str(std::to_string(c.store_commit_interval.count()))
      ->check(CLI::Range(0u, 1'000'000u));
  app.add_option("--store-cache-mib", c.store_cache_mib,
                 "The store writer's page cache in MiB (the B-tree pages of recent messages)")
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--metrics-address", c.metrics_address,
                 "Address for GET /metrics (Prometheus) and /healthz; loopback by default");
  app.add_option("--metrics-port", c.metrics_port, "Port for /metrics (0 picks a free one)");
  app.add_flag("--no-metrics{false}", c.metrics_enabled, "Serve no /metrics listener");
  app.add_option("--store-max-mib", c.store_max_mib,
                 "The largest the store may grow, MiB (0: as the disk allows); past it writes "
                 "fail as on a full disk and senders get UNAVAILABLE")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", c.log_format,
                 "text (a line for people) or json (one object per line, for log shippers)")
      ->check(CLI::IsMember({"text", "json"}));

  auto seconds = [&](const char* name, std::chrono::seconds& target, const char* help) {
    app.add_option_function<unsigned>(
           name, [target = &target](unsigned v) { *target = std::chrono::seconds(v); }, help)
        ->default_str(std::to_string(target.count()))
        ->check(CLI::Range(1u, 86'400u));
  };
  seconds("--tls-handshake-timeout", c.tls_handshake_timeout,
          "Seconds to finish the TLS handshake");
  seconds("--http-request-timeout", c.http_request_timeout,
          "Seconds to send the HTTP upgrade request");
  seconds("--hello-timeout", c.hello_timeout, "Seconds after connecting to send Hello");
  seconds("--idle-timeout", c.idle_timeout,
          "Seconds of silence before a ping; as long again without a pong closes the connection");
  seconds("--shutdown-timeout", c.shutdown_timeout,
          "Seconds to flush and close clients on SIGTERM before exiting");
  app.add_option("--http-header-limit", c.http_header_limit, "Largest HTTP request header, bytes")
      ->check(CLI::Range(1024u, 1024u * 1024u));

  auto& l = c.limits;
  app.add_option("--read-message-max", l.read_message_max,
                 "Largest client WebSocket message, bytes")
      ->check(CLI::Range(1024u, 16u * 1024u * 1024u));
  app.add_option("--max-text-bytes", l.max_text_bytes, "Largest chat text, bytes")
      ->check(CLI::Range(1u, 1024u * 1024u));
  app.add_option("--max-display-name-bytes", l.max_display_name_bytes, "Largest display name")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--max-room-title-bytes", l.max_room_title_bytes, "Largest room title")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--max-joined-rooms", l.max_joined_rooms, "Rooms one connection may join")
      ->check(CLI::Range(1u, 10'000u));
  app.add_option("--max-rooms", l.max_rooms, "Rooms on this server")
      ->check(CLI::Range(1u, 10'000'000u));
  app.add_option("--max-room-members", l.max_room_members, "Members in one room")
      ->check(CLI::Range(2u, 1'000'000u));
  app.add_option("--max-open-reports", l.max_open_reports,
                 "Reports one room keeps open for its facilitators; more are refused until some "
                 "are resolved")
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--max-open-reports-per-account", l.max_open_reports_per_account,
                 "Reports one account may have open in a room")
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--max-ignored", l.max_ignored_per_account,
                 "Members one account may ignore in a room at once")
      ->check(CLI::Range(1u, 10'000u));
  app.add_option("--max-invites", l.max_invites,
                 "Invite links one room keeps open at once (withdrawn, expired and used-up ones "
                 "do not count)")
      ->check(CLI::Range(1u, 10'000u));
  app.add_option("--max-invite-ttl-seconds", l.max_invite_ttl_seconds,
                 "The longest an invite link works")
      ->check(CLI::Range(std::int64_t{60}, std::int64_t{365} * 24 * 3600));
  app.add_option("--max-content-warning-bytes", l.max_content_warning_bytes,
                 "Largest content warning on a message, bytes")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--snapshot-history-events", l.snapshot_history_events,
                 "Recent events kept per room and sent on join")
      ->check(CLI::Range(0u, 100'000u));
  app.add_option("--reconnect-window-seconds", l.reconnect_window_seconds,
                 "Seconds a room's messages are kept (for members to resume), then deleted")
      ->check(CLI::Range(1u, 30u * 86'400u));
  app.add_option("--max-retention-days", l.max_retention_days,
                 "Longest a facilitator may have a room keep its history, in days")
      ->check(CLI::Range(0u, 36'500u));
  app.add_option_function<unsigned>(
         "--retention-sweep-seconds",
         [&c](unsigned v) { c.retention_sweep = std::chrono::seconds(v); },
         "How often expired history is deleted from the store")
      ->default_str(std::to_string(c.retention_sweep.count()))
      ->check(CLI::Range(1u, 86'400u));
  app.add_option("--max-resume-events", l.max_resume_events,
                 "Most events replayed to a client resuming after a dropped connection")
      ->check(CLI::Range(0u, 1'000'000u));
  app.add_option("--remembered-client-message-ids", l.remembered_client_message_ids,
                 "Client message ids a room remembers so that a retried send is not posted twice")
      ->check(CLI::Range(0u, 1'000'000u));
  app.add_option("--facilitator-grace-seconds", l.facilitator_grace_seconds,
                 "Seconds a facilitator who dropped has to return before a co-facilitator "
                 "takes over")
      ->check(CLI::Range(1u, 86'400u));
  app.add_option("--max-agreement-bytes", l.max_agreement_bytes, "Largest group agreement")
      ->check(CLI::Range(1u, 64u * 1024u));
  app.add_option("--outbound-queue-max-bytes", l.outbound_queue_max_bytes,
                 "Bytes queued for a slow client before it is disconnected")
      ->check(CLI::Range(std::size_t{64 * 1024}, std::size_t{1} << 32));
  app.add_option("--outbound-queue-max-messages", l.outbound_queue_max_messages,
                 "Messages queued for a slow client before it is disconnected")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 24));
  app.add_option("--write-batch-max-bytes", l.write_batch_max_bytes,
                 "Most bytes coalesced into one outgoing WebSocket message")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{16} << 20));
  auto& caps = c.connection_caps;
  app.add_option("--max-connections", caps.max_connections,
                 "Connections the server holds at once (TLS handshakes included); over it: "
                 "HTTP 503")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_option("--max-connections-per-address", caps.max_per_address,
                 "Connections from one network address (IPv6: one /64); over it: HTTP 429")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_option("--max-refusals-in-progress", caps.max_refusals_in_progress,
                 "Connections over a cap answered with an HTTP error at once; more are closed "
                 "unanswered")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100'000}));
  app.add_option("--max-connections-per-account", caps.max_per_account,
                 "Signed-in connections of one account; over it: LIMIT_EXCEEDED and a close")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  app.add_option("--web-port", c.web_port,
                 "TCP port of the web app (https://<listen>:<port>/; 0 picks a free one); it "
                 "takes WebSocket connections from its own pages too")
      ->capture_default_str();
  auto* web_root = app.add_option("--web-root", c.web_root,
                                  "The built web app to serve (default: client/web/dist of this "
                                  "source tree, when built)");
  app.add_flag("--no-web{false}", c.web_enabled, "Serve no web app");
  app.add_option("--web-max-bytes", c.web_max_bytes,
                 "The most the web app's files may hold in all (read into memory at start)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
  app.add_option("--allowed-origin", c.allowed_origins,
                 "A browser Origin allowed to connect (repeat for several; none: no check); "
                 "others get HTTP 403");
  app.add_option("--room-joins-per-second", l.room_joins_per_second,
                 "Joins one room takes per second (facilitators excepted; 0: no limit); over "
                 "it: RATE_LIMITED")
      ->check(CLI::Range(0u, 1'000'000u));
  app.add_option("--room-join-burst", l.room_join_burst,
                 "Joins one room takes at once (a big room coming back after a restart)")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--requests-per-second", l.requests_per_second,
                 "Requests one connection may send per second (0: no limit); over it: "
                 "RATE_LIMITED")
      ->check(CLI::Range(0u, 1'000'000u));
  app.add_option("--request-burst", l.request_burst,
                 "Requests one connection may send at once after a quiet moment")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--rate-limited-close-after", l.rate_limited_close_after,
                 "Rate-limited requests in a row after which the connection is closed (1008); "
                 "0: never")
      ->check(CLI::Range(0u, 1'000'000u));

  app.add_option("--token-secret-file", c.token_secret_file,
                 "File holding the account-token secret (default: $CIRCLE_TOKEN_SECRET, else "
                 "<data-dir>/token-secret, created on first start)");
  auto& rules = c.token_rules;
  app.add_option("--jwks-file", c.jwks_file,
                 "Your identity provider's public keys (a JWK Set, JSON): account tokens "
                 "signed RS256, PS256 or ES256 with them are taken; re-read on reload")
      ->check(CLI::ExistingFile);
  app.add_option("--jwks-url", c.jwks_url,
                 "https:// URL of your identity provider's JWK Set (e.g. Keycloak's "
                 ".../protocol/openid-connect/certs), fetched in the background");
  app.add_option("--jwks-ca", c.jwks_ca_file,
                 "A CA certificate (PEM) to trust for --jwks-url besides the system's")
      ->check(CLI::ExistingFile);
  app.add_option_function<unsigned>(
         "--jwks-min-refresh-seconds",
         [&c](unsigned v) { c.jwks_min_refresh = std::chrono::seconds(v); },
         "Fetches of --jwks-url are at least this far apart, also when a token names an "
         "unknown key")
      ->default_str(std::to_string(c.jwks_min_refresh.count()))
      ->check(CLI::Range(1u, 86'400u));
  app.add_option_function<unsigned>(
         "--jwks-max-refresh-seconds",
         [&c](unsigned v) { c.jwks_max_refresh = std::chrono::seconds(v); },
         "--jwks-url is fetched again at least this often, whatever its Cache-Control says")
      ->default_str(std::to_string(c.jwks_max_refresh.count()))
      ->check(CLI::Range(1u, 7u * 86'400u));
  app.add_option("--token-issuer", rules.issuer,
                 "Account tokens must have this iss (your identity provider's issuer URL)");
  app.add_option("--token-audience", rules.audience,
                 "Account tokens must have this among their aud (the client id Circle has at "
                 "your identity provider)");
  app.add_option("--token-leeway-seconds", rules.leeway_s,
                 "Clock difference allowed when checking a token's exp and nbf")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{300}));
  app.add_option("--token-roles-claim", rules.roles_claim,
                 "The claim with a token's roles: a name (roles, https://example.org/roles) or "
                 "a JSON pointer (/realm_access/roles for Keycloak realm roles)");
  app.add_option("--token-admin-role", rules.admin_role,
                 "The role that makes an account an operator (admin in every room)");
  app.add_option("--support-resources", c.support_resources_file,
                 "Text file with your crisis resources (e.g. local crisis lines, at most 2 KiB "
                 "of UTF-8), shown as is to anyone who asks for support; none: a plain "
                 "statement of who was reached")
      ->check(CLI::ExistingFile);
  app.add_option("--support-escalate-after", l.support_escalate_after_seconds,
                 "Seconds a support alert may go unacknowledged before it goes to the operators "
                 "(connected admins and --support-webhook); at once when no facilitator is there")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86'400u));
  auto& hook = c.support_webhook;
  app.add_option("--support-webhook", hook.url,
                 "https://host[:port]/path of your on-call system: each escalated support alert "
                 "is POSTed there as JSON, signed (X-Circle-Signature: sha256=HMAC of the body)");
  app.add_option("--support-webhook-secret-file", c.support_webhook_secret_file,
                 "File with the webhook's HMAC secret (at least 32 bytes); required with "
                 "--support-webhook")
      ->check(CLI::ExistingFile);
  app.add_option("--support-webhook-ca", hook.ca_file,
                 "A CA certificate (PEM) to trust for the webhook besides the system's")
      ->check(CLI::ExistingFile);
  app.add_flag("--support-webhook-include-text", c.support_webhook_include_text,
               "Put the alert's text and the asker's display name in the webhook's body "
               "(default: room, alert id, times and reason only)");
  app.add_option("--support-webhook-attempts", hook.max_attempts,
                 "Attempts per webhook POST (backoff from 1 s doubling to 60 s) before it is "
                 "given up and counted")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100u));
  app.add_option("--support-webhook-max-queued", hook.max_queued,
                 "Webhook POSTs waiting at once; more are dropped and counted")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--pid-file", c.pid_file,
                 "Write circled's process id here while it serves (for `circled reload`)");
  app.add_flag("--allow-anonymous", c.allow_anonymous,
               "Development only: accept a Hello without a token (a throwaway account)");

  Config::MintRequest mint;
  std::string ttl_text = "8h";
  Config::AuditQuery audit_query;
  auto* audit = app.add_subcommand(
      "audit",
      "Print the moderation audit log (one JSON object a line, oldest first) from the data "
      "directory's store and exit; safe while the server runs");
  audit->fallthrough();  // the server's options (--data-dir) may follow the subcommand
  audit->add_option("--room", audit_query.room_id, "Only this room");
  audit->add_option("--limit", audit_query.limit, "The newest N entries")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  std::string backup_out;
  auto* backup = app.add_subcommand(
      "backup",
      "Copy the data directory's store (circle.db) to --out while the server runs, as of one "
      "moment, and exit; start a server on a copy by putting it in an empty --data-dir as "
      "circle.db");
  backup->fallthrough();
  backup->add_option("--out", backup_out, "Where the copy goes (replaced whole when it exists)")
      ->required();
  auto* reload = app.add_subcommand(
      "reload",
      "Tell the running circled of --pid-file to reload its TLS certificate and key, "
      "--jwks-file, --support-resources and --log-level (the same as SIGHUP), and exit");
  reload->fallthrough();
  auto* token = app.add_subcommand(
      "token", "Mint an account token with this server's secret, print it and exit");
  token->fallthrough();
  token->add_option("--sub", mint.subject, "Account id (the token's sub)")->required();
  token->add_option("--name", mint.name, "Display name (the token's name)");
  token->add_flag("--admin", mint.admin, "Operator: admin in every room");
  token->add_option("--ttl", ttl_text, "Lifetime: 90s, 30m, 8h, 2d")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    return std::nullopt;
  }
  c.web_root_given = web_root->count() > 0;
  if (l.max_text_bytes + 1024 > l.read_message_max) {
    std::cerr << "circled: --max-text-bytes must be at least 1024 bytes below --read-message-max\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (!c.support_resources_file.empty()) {
    auto text = read_support_resources(c.support_resources_file);
    if (!text) {
      std::cerr << "circled: --support-resources must name a readable file of at most "
                << kMaxSupportResourcesBytes << " bytes of UTF-8 text\n";
      *exit_code = 2;
      return std::nullopt;
    }
    c.support_resources = std::move(*text);
  }
  if (!hook.url.empty()) {
    std::ifstream secret_file(c.support_webhook_secret_file, std::ios::binary);
    std::ostringstream secret;
    if (secret_file) secret << secret_file.rdbuf();
    hook.secret = secret.str();
    while (!hook.secret.empty() && std::isspace(static_cast<unsigned char>(hook.secret.back()))) {
      hook.secret.pop_back();
    }
    if (hook.secret.size() < 32) {
      std::cerr << "circled: --support-webhook needs --support-webhook-secret-file with a "
                   "secret of at least 32 bytes\n";
      *exit_code = 2;
      return std::nullopt;
    }
    if (hook.url.rfind("https://", 0) != 0) {
      std::cerr << "circled: --support-webhook must be an https:// URL\n";
      *exit_code = 2;
      return std::nullopt;
    }
  }
  if (!c.jwks_url.empty() && !c.jwks_file.empty()) {
    std::cerr << "circled: give --jwks-file or --jwks-url, not both\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (!c.jwks_url.empty() && c.jwks_url.rfind("https://", 0) != 0) {
    std::cerr << "circled: --jwks-url must be an https:// URL\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if ((!c.jwks_url.empty() || !c.jwks_file.empty()) &&
      (rules.issuer.empty() || rules.audience.empty())) {
    // Without them, a token the provider issued to any other app of the same
    // realm or tenant would sign in here, roles and all.
    std::cerr << "circled: with --jwks-url or --jwks-file, give --token-issuer and "
                 "--token-audience (your provider's issuer URL and Circle's client id there)\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (c.jwks_min_refresh > c.jwks_max_refresh) {
    std::cerr << "circled: --jwks-min-refresh-seconds is more than --jwks-max-refresh-seconds\n";
    *exit_code = 2;
    return std::nullopt;
  }
  if (reload->parsed()) {
    if (c.pid_file.empty()) {
      std::cerr << "circled reload: give the --pid-file the server writes\n";
      *exit_code = 2;
      return std::nullopt;
    }
    c.reload_request = true;
  }
  c.arguments.assign(argv + 1, argv + argc);
  c.settings_text = app.config_to_str(/*default_also=*/true, /*write_description=*/false);
  if (audit->parsed()) c.audit_query = audit_query;
  if (backup->parsed()) c.backup_out = backup_out;
  if (token->parsed()) {
    auto ttl = parse_ttl(ttl_text);
    if (!ttl) {
      std::cerr << "circled token: --ttl wants a duration such as 90s, 30m, 8h or 2d\n";
      *exit_code = 2;
      return std::nullopt;
    }
    mint.ttl = *ttl;
    c.mint = mint;
  }
  return c;
}

std::vector<std::string> changed_settings(const std::string& before, const std::string& after) {
  const auto settings = [](const std::string& text) {
    std::map<std::string, std::string> values;
    std::istringstream lines(text);
    std::string line;
    std::string section;
    while (std::getline(lines, line)) {
      if (line.empty() || line.front() == '#') continue;
      if (line.front() == '[') {
        section = line + ".";
        continue;
      }
      const auto equals = line.find('=');
      if (equals == std::string::npos) continue;
      values[section + line.substr(0, equals)] = line.substr(equals + 1);
    }
    return values;
  };
  const auto old_values = settings(before);
  const auto new_values = settings(after);
  std::vector<std::string> changed;
  for (const auto& [key, value] : new_values) {
    const auto old = old_values.find(key);
    if (old == old_values.end() || old->second != value) changed.push_back(key);
  }
  for (const auto& [key, value] : old_values) {
    if (!new_values.contains(key)) changed.push_back(key);
  }
  return changed;
}

std::optional<std::chrono::seconds> parse_ttl(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 9 || text.size() - digits > 1) return std::nullopt;
  const long long amount = std::stoll(text.substr(0, digits));
  long long unit = 1;
  if (digits < text.size()) {
    switch (text[digits]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
  }
  if (amount == 0 || amount * unit > 366LL * 86400) return std::nullopt;
  return std::chrono::seconds(amount * unit);
}

}  // namespace circle::server
