// circle: the Circle terminal client. `circle chat` talks in rooms.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "auth/secret.hpp"
#include "chat/chat.hpp"
#include "load/load.hpp"

int main(int argc, char** argv) {
  CLI::App app{"circle: the Circle client"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "circle 0.1.0");

  circle::chat::ChatOptions chat;
  auto* chat_command =
      app.add_subcommand("chat", "Talk in a room (interactive, or scripted via stdin)");
  chat_command->add_option("--server", chat.server_url, "Server URL, wss://host:port")
      ->capture_default_str();
  chat_command->add_option("--ca", chat.ca_file,
                           "CA certificate to trust (default: certs/dev/ca.crt if present, else "
                           "the system's CAs)");
  chat_command->add_option("--name", chat.display_name,
                           "Your name in the group (a pseudonym is fine; default: the token's)");
  chat_command
      ->add_option("--token", chat.token,
                   "Your account token (from your organisation, or `circled token` in "
                   "development)")
      ->envname("CIRCLE_TOKEN");
  chat_command->add_option("--room", chat.room, "Room to join at start (created if missing)");
  chat_command->add_option("--title", chat.title, "Title for a room you create");
  chat_command->add_option("--web-url", chat.web_url,
                           "The web app's address, for the invite links /invite makes (default: "
                           "https://<the server's host>:8444)");
  const std::map<std::string, circle::v1::RoomKind> kinds = {
      {"group", circle::v1::ROOM_KIND_FACILITATED_GROUP},
      {"peer-circle", circle::v1::ROOM_KIND_PEER_CIRCLE},
      {"one-to-one", circle::v1::ROOM_KIND_ONE_TO_ONE},
      {"talk", circle::v1::ROOM_KIND_TALK}};
  chat_command
      ->add_option("--kind", chat.kind,
                   "Kind of room you create: group (facilitated, the default), peer-circle, "
                   "one-to-one or talk")
      ->transform(CLI::CheckedTransformer(kinds, CLI::ignore_case));

  chat_command->add_flag("!--no-reconnect", chat.reconnect,
                         "Exit when the connection drops instead of reconnecting and resuming");

  circle::load::LoadOptions load;
  auto* load_command = app.add_subcommand(
      "load", "Load-test a server: many connections in rooms, measuring every delivery");
  load_command
      ->add_option("--server", load.server_url,
                   "Server URL, wss://host:port; several nodes of one service, comma "
                   "separated: member i connects to node i mod their count")
      ->capture_default_str();
  load_command->add_option("--ca", load.ca_file, "CA certificate to trust");
  load_command->add_option("--connections,-n", load.connections, "Connections to open")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  load_command->add_option("--room-size,-k", load.room_size, "Members per room")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  load_command
      ->add_option("--rate,-r", load.rate, "Messages per second per member; 0 for a closed loop")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10'000.0));
  load_command
      ->add_option("--senders", load.senders_per_room,
                   "Members per room that send (default: all; 0: idle connections)")
      ->check(CLI::Range(0u, 100'000u));
  load_command
      ->add_option("--phase", load.phase,
                   "Open loop: member (each on its own random phase) or room (a room's "
                   "members send together)")
      ->capture_default_str()
      ->check(CLI::IsMember({"member", "room"}));
  load_command->add_option("--payload,-p", load.payload_bytes, "Message size in bytes")
      ->capture_default_str()
      ->check(CLI::Range(40u, 60'000u));
  load_command->add_option("--duration,-d", load.duration_seconds, "Seconds of sending")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  load_command->add_option("--ramp", load.ramp_per_second, "Connections opened per second")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1'000'000.0));
  load_command
      ->add_option("--drain", load.drain_seconds,
                   "Seconds to wait for deliveries after the last send")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  load_command->add_option("--json", load.json_file, "Also write every figure to this file");
  load_command->add_option("--room-prefix", load.room_prefix, "Rooms are named PREFIX-0, ...")
      ->capture_default_str();
  load_command->add_flag("--quiet,-q", load.quiet, "No live progress lines");
  load_command
      ->add_option("--report-interval", load.report_interval_seconds,
                   "Seconds between progress lines; each line and each entry of the --json "
                   "\"intervals\" series holds that interval's deliveries and latency")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  load_command
      ->add_option("--threads", load.threads,
                   "Event loops, each on its own thread with whole rooms; the summary says "
                   "when the generator itself was saturated")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  load_command
      ->add_option("--server-pid", load.server_pid,
                   "The server's process id, when it runs on this machine: reports its CPU "
                   "time while sending and per delivery")
      ->check(CLI::Range(1, 1 << 30));
  std::string load_secret_file;
  load_command->add_option("--token-secret-file", load_secret_file,
                           "The server's token secret, to give each connection its own account "
                           "token (default: $CIRCLE_TOKEN_SECRET, else data/token-secret if "
                           "present; none: anonymous, for --allow-anonymous servers)");
  load_command
      ->add_option("--protocol", load.protocol,
                   "circle (the full protocol) or raw (baseline servers: /room/<id>, relay)")
      ->capture_default_str()
      ->check(CLI::IsMember({"circle", "raw"}));

  CLI11_PARSE(app, argc, argv);
  if (load_command->parsed()) {
    if (load.ca_file.empty() && std::filesystem::exists("certs/dev/ca.crt")) {
      load.ca_file = "certs/dev/ca.crt";
    }
    try {
      if (!load_secret_file.empty() || std::getenv(circle::auth::kSecretEnvironmentVariable)) {
        load.token_secret = circle::auth::load_token_secret(load_secret_file, "");
      } else if (std::filesystem::exists("data/token-secret")) {
        load.token_secret = circle::auth::load_token_secret("data/token-secret", "");
      }
    } catch (const std::exception& e) {
      std::cerr << "circle load: " << e.what() << "\n";
      return 2;
    }
    return circle::load::run_load(load);
  }

  if (chat_command->parsed()) {
    if (chat.ca_file.empty() && std::filesystem::exists("certs/dev/ca.crt")) {
      chat.ca_file = "certs/dev/ca.crt";
    }
    if (chat.display_name.empty() && chat.token.empty()) {
      if (!::isatty(STDIN_FILENO)) {
        std::cerr << "circle: --name is required when stdin is not a terminal\n";
        return 2;
      }
      // Ask until there is a name; end of input (Ctrl-D) gives up.
      while (chat.display_name.find_first_not_of(" \t") == std::string::npos) {
        std::cout << "Your name in the group (a first name or nickname): " << std::flush;
        if (!std::getline(std::cin, chat.display_name)) return 2;
      }
    }
    return circle::chat::run_chat(chat);
  }
  return 0;
}
