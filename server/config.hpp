// circled's settings: command line, optionally a config file (--config), each
// with an embedded default so that `circled` alone runs a development server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/token.hpp"
#include "connection_limits.hpp"
#include "core/limits.hpp"

namespace circle::server {

// The operators' on-call webhook (support_webhook.hpp).
struct SupportWebhookOptions {
  std::string url;      // https://host[:port]/path; empty: none
  std::string secret;   // the HMAC key (--support-webhook-secret-file)
  std::string ca_file;  // a CA to trust besides the system's (empty: none)
  std::uint32_t max_attempts = 8;
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{60'000};
  std::chrono::milliseconds timeout{10'000};  // one attempt, connect to answer
  std::size_t max_queued = 1000;
};

struct Config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;
  unsigned threads = 0;  // 0: one per hardware thread
  std::string cert_file = "certs/dev/server.crt";
  std::string key_file = "certs/dev/server.key";
  bool insecure_plaintext = false;
  std::string data_dir = "data";
  // The store's sync mode: "full" (a sync per group commit; survives power
  // loss) or "normal" (survives a crash of circled; faster).
  std::string store_sync = "full";
  // Group commits start at most this often: bigger groups, fewer wake-ups
  // and syncs of the store's writer; an ack waits at most this much longer.
  std::chrono::microseconds store_commit_interval{5000};
  // The store writer's page cache, MiB.
  std::size_t store_cache_mib = 64;
  // The largest the store may grow, MiB; 0: the disk is the limit.
  std::size_t store_max_mib = 0;
  // Where rooms are kept: "sqlite" (this node alone, <data_dir>/circle.db)
  // or "nats" (several nodes share rooms through a NATS JetStream cluster).
  std::string backend = "sqlite";
  // --backend nats: any nodes of the cluster (the client finds the rest).
  std::vector<std::string> nats_urls{"nats://127.0.0.1:4222"};
  // Copies of the room log the cluster keeps (1 for a one-node dev cluster).
  int nats_replicas = 3;
  // Names what this service keeps in the cluster: subjects "<ns>.room.*",
  // "<ns>.nodes.alive" and the stream "<NS>_EVENTS", so that several Circle
  // services (or test runs) can share one NATS cluster.
  std::string nats_namespace = "circle";
  // A node not heard from for this long is taken for stopped: its
  // connections leave every room (their clients reconnect elsewhere).
  std::chrono::milliseconds node_timeout{5000};
  // A changed room is copied (RoomReplica) this often, at once after a
  // redaction or a session end; the room log before a copy is deleted this
  // long after it is written.
  std::chrono::seconds room_copy_interval{60};
  std::chrono::seconds room_log_purge_delay{30};
  // How long a room without members on this node is still applied here.
  std::chrono::seconds room_dormant_after{60};
  std::string log_level = "info";
  std::string log_format = "text";
  ConnectionCaps connection_caps;
  // GET /metrics and /healthz for operators, on a listener of their own.
  bool metrics_enabled = true;
  std::string metrics_address = "127.0.0.1";
  std::uint16_t metrics_port = 9464;
  // The web app (client/web's build), served on a port of its own, which
  // takes WebSocket upgrades too: a page connects to its own origin.
  bool web_enabled = true;
  std::uint16_t web_port = 8444;
  std::string web_root = CIRCLE_DEFAULT_WEB_ROOT;
  bool web_root_given = false;  // --web-root named: a missing app is an error
  std::size_t web_max_bytes = 16 * 1024 * 1024;
  // Origins a browser may connect from (the upgrade's Origin header); empty:
  // no check. Clients that send no Origin (not browsers) are not affected.
  std::vector<std::string> allowed_origins;

  std::chrono::seconds tls_handshake_timeout{10};
  std::chrono::seconds http_request_timeout{10};
  std::uint32_t http_header_limit = 8 * 1024;
  std::chrono::seconds hello_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds shutdown_timeout{5};
  std::chrono::seconds retention_sweep{60};

  // Account tokens: the secret comes from $CIRCLE_TOKEN_SECRET, else this
  // file, else <data_dir>/token-secret (created on first start).
  std::string token_secret_file;
  // Account tokens from the organisation's identity provider: its public
  // keys from a JWK Set file (re-read on reload) or URL (fetched over HTTPS
  // as its Cache-Control says, at most every jwks_min_refresh, at least every
  // jwks_max_refresh, and again when a token names a key not seen yet, at most
  // once per jwks_min_refresh). What tokens must say: token_rules.
  std::string jwks_file;
  std::string jwks_url;
  std::string jwks_ca_file;  // a CA to trust for jwks_url besides the system's
  std::chrono::seconds jwks_min_refresh{60};
  std::chrono::seconds jwks_max_refresh{3600};
  std::chrono::milliseconds jwks_timeout{5000};  // one fetch; below hello_timeout
  auth::TokenRules token_rules;
  // Development only: a Hello without a token gets a throwaway account.
  bool allow_anonymous = false;
  // --support-resources: the operator's crisis resources (a short text, e.g.
  // local crisis lines), shown as is to anyone asking for support.
  std::string support_resources_file;
  std::string support_resources;  // the file's text, read at start-up
  // --support-webhook (URL, secret from --support-webhook-secret-file, CA).
  SupportWebhookOptions support_webhook;
  std::string support_webhook_secret_file;
  bool support_webhook_include_text = false;
  std::string token_secret;  // loaded at start-up; never logged

  // The process id is written here while circled serves (for `circled
  // reload` and service managers); empty: none.
  std::string pid_file;
  // `circled reload --pid-file F`: signal that circled to reload and exit.
  bool reload_request = false;
  // How this Config was made, for a reload to read the settings again: the
  // arguments after the program name, and every setting as `key=value`
  // lines (CLI11's config text).
  std::vector<std::string> arguments;
  std::string settings_text;

  // `circled token ...`: mint a token and exit.
  struct MintRequest {
    std::string subject;
    std::string name;
    bool admin = false;
    std::chrono::seconds ttl{8 * 3600};
  };
  std::optional<MintRequest> mint;

  // `circled backup --out FILE`: copy the store and exit.
  std::optional<std::string> backup_out;

  // `circled audit ...`: print the moderation audit log from the store and exit.
  struct AuditQuery {
    std::string room_id;  // empty: every room
    std::size_t limit = 100;
  };
  std::optional<AuditQuery> audit_query;

  core::Limits limits;
};

// The names of the settings whose values differ between two settings_text.
std::vector<std::string> changed_settings(const std::string& before, const std::string& after);

// "90s", "30m", "8h", "2d" or plain seconds; nullopt when unreadable or zero.
std::optional<std::chrono::seconds> parse_ttl(const std::string& text);

// The text of a --support-resources file (trailing white space dropped);
// nullopt when unreadable, over kMaxSupportResourcesBytes or not UTF-8.
inline constexpr std::size_t kMaxSupportResourcesBytes = 2048;
std::optional<std::string> read_support_resources(const std::string& path);

// Parses argv. Returns the config, or nullopt after printing help, the
// version, or an error (in which case *exit_code says how to exit).
std::optional<Config> parse_config(int argc, char** argv, int* exit_code);

}  // namespace circle::server
