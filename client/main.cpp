// circle: the Circle terminal client. `circle chat` talks in rooms.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <map>

#include "chat/chat.hpp"

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
                           "Your name in the group (a pseudonym is fine)");
  chat_command->add_option("--room", chat.room, "Room to join at start (created if missing)");
  chat_command->add_option("--title", chat.title, "Title for a room you create");
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

  CLI11_PARSE(app, argc, argv);

  if (chat_command->parsed()) {
    if (chat.ca_file.empty() && std::filesystem::exists("certs/dev/ca.crt")) {
      chat.ca_file = "certs/dev/ca.crt";
    }
    if (chat.display_name.empty()) {
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
