#include "chat.hpp"

#include <fcntl.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "circle_client/requests.hpp"
#include "circle_client/room_view.hpp"
#include "circle_client/sync_client.hpp"
#include "commands.hpp"
#include "render.hpp"

namespace circle::chat {
namespace {

using circle::client::RoomView;
using circle::client::SyncClient;
using circle::v1::ServerMessage;
using namespace std::chrono_literals;

constexpr auto kRequestTimeout = 10s;

// Self-pipe: the I/O thread and the signal handler wake the main loop here.
int g_wake_pipe[2] = {-1, -1};
std::atomic<bool> g_interrupted{false};

void wake() {
  const char byte = 0;
  [[maybe_unused]] auto ignored = ::write(g_wake_pipe[1], &byte, 1);
}

extern "C" void on_sigint(int) {
  g_interrupted = true;
  wake();
}

const char kHelp[] =
    "Commands:\n"
    "    /join <room>                   join a room (it is created if it does not exist)\n"
    "    /leave [room]                  leave the current room (or the one named)\n"
    "    /rooms                         list the rooms on this server\n"
    "    /who                           who is here, hands raised, whose turn it is\n"
    "    /cw <warning>: <text>          send a message behind a content warning\n"
    "    /show #N                       read a message behind its content warning\n"
    "    /help                          this list\n"
    "    /quit                          leave and exit (Ctrl-D and Ctrl-C do too)";

// Output lines produced anywhere, printed by the main thread only (Readline
// is not thread-safe).
class Printer {
 public:
  explicit Printer(bool interactive) : interactive_(interactive) {}
  void post(std::string line) {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(line));
    }
    wake();
  }
  // Main thread: prints everything pending above the prompt line.
  void flush() {
    std::deque<std::string> lines;
    {
      std::lock_guard lock(mutex_);
      lines.swap(pending_);
    }
    if (lines.empty()) return;
    if (!interactive_ || !prompt_active_) {
      for (const auto& line : lines) std::cout << line << '\n';
      std::cout.flush();
      return;
    }
    // Take the half-typed line away, print, and put it back as it was.
    const int saved_point = rl_point;
    char* saved_line = rl_copy_text(0, rl_end);
    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay();
    for (const auto& line : lines) std::cout << line << '\n';
    std::cout.flush();
    rl_restore_prompt();
    rl_replace_line(saved_line, 0);
    rl_point = saved_point;
    rl_redisplay();
    std::free(saved_line);
  }
  void set_prompt_active(bool active) { prompt_active_ = active; }

 private:
  bool interactive_;
  bool prompt_active_ = false;
  std::mutex mutex_;
  std::deque<std::string> pending_;
};

class ChatSession {
 public:
  ChatSession(const ChatOptions& options, bool interactive)
      : options_(options), interactive_(interactive), printer_(interactive) {
    render_.single_line = !interactive;
  }

  int run();
  // Handles one typed line; returns false to quit.
  bool handle_line(const std::string& line);

 private:
  bool start();
  void on_event(const ServerMessage& message);
  // Applies a live event to `room` and prints it. Needs rooms_mutex_.
  void show(RoomView& room, const circle::v1::RoomEvent& event);
  std::optional<ServerMessage> call(circle::v1::ClientMessage request, const std::string& action);
  void join(const std::string& room_id);
  void join_room(const std::string& room_id);
  void leave(std::string room_id);
  void list_rooms();
  void who();
  void help();
  // The room messages and commands go to; empty when none. Any thread.
  std::string current_room();
  // Adds a joined room from its snapshot and shows it. Needs rooms_mutex_.
  void enter(const std::string& room_id, const circle::v1::RoomSnapshot& snapshot);
  // The room dropped us (removed, banned, session ended). Needs rooms_mutex_.
  void forget(const std::string& room_id);
  void on_private(const circle::v1::PrivateEvent& event);
  void on_status(const circle::client::LinkStatus& status);
  // The library re-joined `room_id` after a reconnect: show what was missed.
  void on_rejoin(const std::string& room_id, const ServerMessage& reply);
  // Waits (bounded) until every message typed has its answer; false if some
  // are still unanswered.
  bool wait_for_sends(std::chrono::milliseconds timeout);
  void act(const std::string& room_id, const circle::v1::RoomActionRequest& action,
           const std::string& done, const std::string& command);
  void say(const std::string& text, const std::string& content_warning = {});
  void show(const std::string& which);
  void print(std::string line) { printer_.post(std::move(line)); }

  const ChatOptions& options_;
  std::string web_url_;  // where invite links lead
  bool interactive_;
  Printer printer_;
  RenderOptions render_;
  // Guards rooms_, joining_ and render_: events arrive on the I/O thread.
  std::mutex rooms_mutex_;
  std::map<std::string, RoomView> rooms_;
  // Events of rooms whose join reply is still on its way; applied after it.
  std::map<std::string, std::vector<circle::v1::RoomEvent>> joining_;
  std::string current_room_;   // guarded by rooms_mutex_
  circle::v1::Limits limits_;  // from Welcome
  std::atomic<bool> disconnected_{false};
  std::atomic<bool> reconnecting_{false};
  // Messages sent and not yet answered (sending does not block the prompt).
  std::mutex sends_mutex_;
  std::condition_variable sends_settled_;
  std::size_t sends_pending_ = 0;
  std::atomic<bool> quitting_{false};
  // Last, so that it is destroyed first: its I/O thread calls back into the
  // members above until it stops.
  std::unique_ptr<SyncClient> client_;
};

std::optional<ServerMessage> ChatSession::call(circle::v1::ClientMessage request,
                                               const std::string& action) {
  auto reply = client_->call(std::move(request), kRequestTimeout);
  if (!reply) {
    print("! " + action + " failed: no answer from the server within " +
          std::to_string(kRequestTimeout.count()) + "s");
    return std::nullopt;
  }
  if (reply->has_error()) {
    print(render_error(action, reply->error()));
    return std::nullopt;
  }
  return reply;
}

bool ChatSession::start() {
  std::string error;
  auto address = circle::client::parse_server_url(options_.server_url, &error);
  if (!address) {
    std::cerr << "circle: " << error << "\n";
    return false;
  }
  // The web app of a server from scripts/serve: the same host, port 8444.
  web_url_ = options_.web_url.empty()
                 ? std::string(address->tls ? "https" : "http") + "://" + address->host + ":8444"
                 : options_.web_url;
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (address->tls) {
    try {
      tls = circle::client::make_tls_context(options_.ca_file);
    } catch (const std::exception& e) {
      std::cerr << "circle: cannot read CA file '" << options_.ca_file << "': " << e.what() << "\n";
      return false;
    }
  }
  client_ = std::make_unique<SyncClient>(
      tls, circle::client::ReconnectPolicy{.enabled = options_.reconnect,
                                           .initial_delay = std::chrono::milliseconds(500),
                                           .max_delay = std::chrono::milliseconds(30'000),
                                           .max_attempts = 0,
                                           .max_refused_retries = 10});
  client_->set_event_callback([this](const ServerMessage& message) { on_event(message); });
  client_->set_status_callback(
      [this](const circle::client::LinkStatus& status) { on_status(status); });
  client_->set_rejoin_callback([this](const std::string& room_id, const ServerMessage& reply) {
    on_rejoin(room_id, reply);
  });
  client_->set_close_callback([this](const circle::client::CloseInfo& info) {
    disconnected_ = true;
    if (quitting_) return;  // we closed it ourselves
    print("! disconnected: " + (info.reason.empty() ? "connection closed" : info.reason) +
          (info.code ? " (" + std::to_string(info.code) + ")" : ""));
  });
  if (auto failure = client_->connect(*address)) {
    std::cerr << "circle: cannot connect to " << options_.server_url << ": " << failure->reason
              << "\n";
    if (failure->reason.find("certificate verify failed") != std::string::npos) {
      std::cerr << "  the server's certificate is not signed by a CA this client trusts;"
                   " for the development server pass --ca certs/dev/ca.crt\n";
    } else if (!address->tls && failure->reason.find("end of stream") != std::string::npos) {
      std::cerr << "  the server may expect TLS: try wss:// instead of ws://\n";
    }
    return false;
  }
  auto welcome = client_->call(
      circle::client::make_hello(options_.display_name, "circle-chat/0.1", options_.token),
      kRequestTimeout);
  if (welcome && welcome->has_welcome()) limits_ = welcome->welcome().limits();
  if (!welcome || welcome->has_error()) {
    std::cerr << "circle: the server refused hello: "
              << (welcome ? welcome->error().message() : std::string("no answer")) << "\n";
    if (welcome && welcome->error().code() == circle::v1::ERROR_CODE_UNAUTHENTICATED) {
      std::cerr << "  pass your account token with --token (or $CIRCLE_TOKEN); on a development"
                   " server mint one with:\n  build/release/server/circled token --sub you"
                   " --name You\n";
    } else if (welcome && welcome->error().code() == circle::v1::ERROR_CODE_TOKEN_EXPIRED) {
      std::cerr << "  get a fresh token and connect again\n";
    }
    return false;
  }
  print("* Connected to " + options_.server_url + " as " +
        sanitize(welcome->welcome().display_name(), true) + ". Type /help for commands.");
  if (!options_.room.empty()) join(options_.room);
  return true;
}

void ChatSession::on_event(const ServerMessage& message) {
  if (message.has_error()) {
    print(render_error("request", message.error()));
    return;
  }
  if (message.has_private_event()) return on_private(message.private_event());
  if (!message.has_room_event()) return;
  const auto& event = message.room_event();
  std::lock_guard lock(rooms_mutex_);
  auto found = rooms_.find(event.room_id());
  if (found != rooms_.end()) return show(found->second, event);
  // Not joined yet: keep it for the join. Otherwise it raced our leave.
  auto joining = joining_.find(event.room_id());
  if (joining != joining_.end()) joining->second.push_back(event);
}

void ChatSession::show(RoomView& room, const circle::v1::RoomEvent& event) {
  const auto applied = room.apply(event);
  if (applied == RoomView::Applied::kDuplicate) return;
  if (applied == RoomView::Applied::kGap) {
    print("! Some messages in " + event.room_id() + " were missed.");
  }
  if (room.hides(event)) return;
  print(render_event(event, render_, &room));
  const bool removed =
      event.has_member_left() && event.member_left().member().member_id() == room.my_member_id();
  if (removed || event.has_session_ended()) {
    const std::string room_id = event.room_id();
    forget(room_id);  // `room` is gone from here on
    if (!current_room_.empty()) print("* Messages now go to " + current_room_ + ".");
    const bool may_return = event.has_session_ended() ||
                            event.member_left().reason() == circle::v1::LEAVE_REASON_REMOVED;
    print("* You are no longer in " + room_id + "." +
          (may_return ? " You may /join " + room_id + " again later." : ""));
  }
}

void ChatSession::enter(const std::string& room_id, const circle::v1::RoomSnapshot& snapshot) {
  auto [room, inserted] = rooms_.insert_or_assign(room_id, RoomView(snapshot));
  render_.show_room = rooms_.size() > 1;
  current_room_ = room_id;
  for (auto& line : render_join(room->second, snapshot, render_)) print(std::move(line));
}

void ChatSession::forget(const std::string& room_id) {
  rooms_.erase(room_id);
  render_.show_room = rooms_.size() > 1;
  if (current_room_ == room_id) current_room_ = rooms_.empty() ? "" : rooms_.begin()->first;
}

void ChatSession::on_private(const circle::v1::PrivateEvent& event) {
  std::lock_guard lock(rooms_mutex_);
  if (event.has_admission()) {
    if (event.admission().admitted()) {
      enter(event.room_id(), event.admission().snapshot());
    } else {
      print(render_private(event, render_));
    }
    return;
  }
  auto found = rooms_.find(event.room_id());
  RoomView* room = found == rooms_.end() ? nullptr : &found->second;
  if (room) room->apply_private(event);
  if (auto line = render_private(event, render_, room); !line.empty()) print(std::move(line));
}

void ChatSession::on_status(const circle::client::LinkStatus& status) {
  using State = circle::client::LinkStatus::State;
  if (status.state == State::kRejoining) return print("* Reconnected.");
  if (status.state == State::kOnline) {
    reconnecting_ = false;
    if (status.unacknowledged_sends) {
      print("* Sending " + std::to_string(status.unacknowledged_sends) + " message" +
            (status.unacknowledged_sends == 1 ? "" : "s") + " typed while offline.");
    }
    return;
  }
  if (status.state != State::kReconnecting) return;
  reconnecting_ = true;
  std::ostringstream line;
  line.precision(1);
  line << std::fixed;
  if (status.attempt == 1) {
    line << "! Connection lost: " << status.reason << ". Reconnecting… (Ctrl-C to quit)";
  } else {
    line << "* reconnecting… attempt " << status.attempt << " in "
         << static_cast<double>(status.retry_in.count()) / 1000.0 << "s (" << status.reason << ")";
  }
  if (status.unacknowledged_sends) {
    line << "; " << status.unacknowledged_sends << " message"
         << (status.unacknowledged_sends == 1 ? "" : "s") << " will be sent when it is back";
  }
  print(line.str());
}

void ChatSession::on_rejoin(const std::string& room_id, const ServerMessage& reply) {
  std::lock_guard lock(rooms_mutex_);
  if (!reply.has_join_room()) {
    forget(room_id);
    return print(render_error("rejoin " + room_id, reply.error()));
  }
  if (reply.join_room().waiting()) {
    forget(room_id);
    return print("* You are in the waiting room of " + room_id +
                 " again. A facilitator will let you in shortly.");
  }
  const auto& snapshot = reply.join_room().snapshot();
  auto found = rooms_.find(room_id);
  if (found == rooms_.end()) {
    // We were in its waiting room, and asking again let us in.
    const std::string current = current_room_;
    print("* You are in " + room_id + " now.");
    enter(room_id, snapshot);
    if (!current.empty()) current_room_ = current;
    return;
  }
  if (!reply.join_room().resumed()) {
    const std::string current = current_room_;
    print("! You were away longer than " + room_id +
          " keeps its history; some messages were missed. Here it is now:");
    enter(room_id, snapshot);
    if (!current.empty()) current_room_ = current;
    return;
  }
  // Everything after the last event seen, in order. The client's own
  // reconnect (it left as its old self and came back) is not news.
  const std::uint64_t old_me = found->second.my_member_id();
  RoomView view(snapshot);
  std::vector<std::string> missed;
  for (const auto& event : snapshot.recent_events()) {
    if (event.has_member_left() && event.member_left().member().member_id() == old_me) continue;
    if (event.has_member_joined() &&
        event.member_joined().member().member_id() == snapshot.your_member_id()) {
      continue;
    }
    if (view.hides(event)) continue;
    missed.push_back(render_event(event, render_, &view));
  }
  found->second = std::move(view);
  if (missed.empty()) return print("* Back in " + room_id + "; nothing was missed.");
  print("* Back in " + room_id + ". While you were away:");
  for (auto& line : missed) print(std::move(line));
}

bool ChatSession::wait_for_sends(std::chrono::milliseconds timeout) {
  std::unique_lock lock(sends_mutex_);
  return sends_settled_.wait_for(lock, timeout, [this] { return sends_pending_ == 0; });
}

std::string ChatSession::current_room() {
  std::lock_guard lock(rooms_mutex_);
  return current_room_;
}

void ChatSession::act(const std::string& room_id, const circle::v1::RoomActionRequest& action,
                      const std::string& done, const std::string& command) {
  auto message = circle::client::make_room_action(room_id);
  *message.mutable_room_action() = action;
  message.mutable_room_action()->set_room_id(room_id);
  auto reply = call(std::move(message), command);
  if (!reply) return;
  if (reply->room_action().has_support()) {
    print(render_support_outcome(reply->room_action().support()));
  } else if (reply->room_action().has_invite()) {
    print(render_invite(reply->room_action().invite(), web_url_));
  } else if (!done.empty()) {
    print(done);
  }
}

void ChatSession::help() {
  print(kHelp);
  std::lock_guard lock(rooms_mutex_);
  auto found = rooms_.find(current_room_);
  const RoomView* room = found == rooms_.end() ? nullptr : &found->second;
  auto lines = room_command_help(room);
  if (!lines.empty()) {
    std::string text = room ? "In " + current_room_ + " you can also use:" : "In a room:";
    for (auto& line : lines) text += "\n" + line;
    print(text);
  }
  print(
      "Anything else is sent as a message to the current room. Name members as /who shows "
      "them, or by #id.");
}

void ChatSession::join(const std::string& room_id) {
  {
    std::lock_guard lock(rooms_mutex_);
    if (rooms_.contains(room_id)) return print("* You are already in " + room_id + ".");
    joining_[room_id];  // events from here on are kept until the snapshot is in
  }
  join_room(room_id);
  std::lock_guard lock(rooms_mutex_);
  joining_.erase(room_id);
}

void ChatSession::join_room(const std::string& room_id) {
  auto reply = client_->call(circle::client::make_join_room(room_id), kRequestTimeout);
  if (reply && reply->has_error() &&
      reply->error().code() == circle::v1::ERROR_CODE_ROOM_NOT_FOUND) {
    const std::string title = options_.title.empty() ? room_id : options_.title;
    auto create = circle::client::make_create_room(room_id, title);
    create.mutable_create_room()->set_kind(options_.kind);
    auto created = client_->call(create, kRequestTimeout);
    // Someone else created it a moment before us: join theirs.
    const bool created_by_another =
        created && created->has_error() &&
        created->error().code() == circle::v1::ERROR_CODE_ROOM_ALREADY_EXISTS;
    if (!created) return print("! create room failed: no answer from the server");
    if (created->has_error() && !created_by_another) {
      return print(render_error("create room", created->error()));
    }
    if (!created_by_another) {
      print("* Created room " + room_id + ". You facilitate it: /help lists what you can do.");
    }
    reply = client_->call(circle::client::make_join_room(room_id), kRequestTimeout);
  }
  if (!reply) return print("! join failed: no answer from the server");
  if (reply->has_error()) return print(render_error("join", reply->error()));
  if (reply->join_room().waiting()) {
    return print("* You are in the waiting room of " + room_id +
                 ". A facilitator will let you in shortly.");
  }
  const auto& snapshot = reply->join_room().snapshot();
  std::lock_guard lock(rooms_mutex_);
  enter(room_id, snapshot);
  // Events that overtook the reply: those already in the snapshot are skipped.
  auto& room = rooms_.at(room_id);
  for (const auto& event : joining_[room_id]) {
    show(room, event);
    if (!rooms_.contains(room_id)) break;  // removed meanwhile
  }
}

void ChatSession::leave(std::string room_id) {
  if (room_id.empty()) room_id = current_room();
  if (room_id.empty()) return print("! You are not in a room.");
  auto reply = client_->call(circle::client::make_leave_room(room_id), kRequestTimeout);
  // A leave the connection dropped under still counts: the library does not
  // re-join that room, and the server let us go with the connection.
  const bool dropped =
      reply && reply->has_error() && reply->error().code() == circle::v1::ERROR_CODE_UNAVAILABLE;
  if (!reply || (reply->has_error() && !dropped)) {
    if (!reply) return print("! leave failed: no answer from the server");
    return print(render_error("leave", reply->error()));
  }
  std::lock_guard lock(rooms_mutex_);
  forget(room_id);
  print("* You left " + room_id + "." +
        (current_room_.empty() ? "" : " Messages now go to " + current_room_ + "."));
}

void ChatSession::list_rooms() {
  if (auto reply = call(circle::client::make_list_rooms(), "list rooms")) {
    print(render_rooms(reply->list_rooms()));
  }
}

void ChatSession::who() {
  std::lock_guard lock(rooms_mutex_);
  auto found = rooms_.find(current_room_);
  if (found == rooms_.end()) return print("! You are not in a room. /join <room> first.");
  for (auto& line : render_who(found->second)) print(std::move(line));
}

void ChatSession::show(const std::string& which) {
  std::uint64_t seq = 0;
  try {
    seq = std::stoull(which.starts_with('#') ? which.substr(1) : which);
  } catch (...) {
    return print("! usage: /show #N (the message's number, shown before its content warning)");
  }
  std::lock_guard lock(rooms_mutex_);
  auto found = rooms_.find(current_room_);
  if (found == rooms_.end()) return print("! You are not in a room. /join <room> first.");
  const auto* message = found->second.warned_message(seq);
  if (!message) {
    return print("! No recent message #" + std::to_string(seq) + " with a content warning here.");
  }
  print(render_revealed(*message, render_));
}

void ChatSession::say(const std::string& text, const std::string& content_warning) {
  const std::string room_id = current_room();
  if (room_id.empty()) return print("! You are not in a room. /join <room> first.");
  if (limits_.max_text_bytes() && text.size() > limits_.max_text_bytes()) {
    return print("! Not sent: the message is " + std::to_string(text.size()) +
                 " bytes; this server takes at most " + std::to_string(limits_.max_text_bytes()) +
                 ". Split it into shorter messages.");
  }
  // Not waited for: typing goes on while the ack is on its way, and while
  // offline the library keeps the message until the link is back.
  {
    std::lock_guard lock(sends_mutex_);
    ++sends_pending_;
  }
  client_->request(circle::client::make_send_message(room_id, text, {}, content_warning),
                   [this](const ServerMessage& reply) {
                     if (reply.has_error()) print(render_error("send", reply.error()));
                     std::lock_guard lock(sends_mutex_);
                     --sends_pending_;
                     sends_settled_.notify_all();
                   });
  if (reconnecting_) print("* Not connected: it will be sent when the connection is back.");
}

bool ChatSession::handle_line(const std::string& raw) {
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return true;
  if (line[0] != '/') {
    say(line);
    return true;
  }
  std::istringstream words(line);
  std::string command, argument;
  words >> command >> argument;
  if (command == "/quit" || command == "/exit") return false;
  if (command == "/help") {
    help();
  } else if (command == "/rooms") {
    list_rooms();
  } else if (command == "/join") {
    std::string extra;
    if (argument.empty() || (words >> extra)) {
      print("! usage: /join <room>  (a room id is one word: a-z, 0-9, '-' and '_')");
    } else {
      join(argument);
    }
  } else if (command == "/leave") {
    leave(argument);
  } else if (command == "/who") {
    who();
  } else if (command == "/show") {
    show(argument);
  } else if (command == "/cw" && !argument.starts_with('#')) {
    // "/cw <warning>: <text>" sends; "/cw #N ..." is a facilitator's, below.
    const auto rest = line.substr(line.find("/cw") + 3);
    const auto colon = rest.find(':');
    auto trim = [](std::string text) {
      text.erase(0, text.find_first_not_of(' '));
      while (!text.empty() && text.back() == ' ') text.pop_back();
      return text;
    };
    const std::string warning = colon == std::string::npos ? "" : trim(rest.substr(0, colon));
    const std::string text = colon == std::string::npos ? "" : trim(rest.substr(colon + 1));
    if (warning.empty() || text.empty()) {
      print("! usage: /cw <warning>: <text>, e.g. /cw self-harm: what I want to share");
    } else {
      say(text, warning);
    }
  } else {
    // One room for the whole command, even if an event switches the current
    // room meanwhile: names are resolved and the action sent in the same room.
    const std::string room_id = current_room();
    CommandContext context{
        .room = [this, room_id]() -> std::optional<RoomView> {
          std::lock_guard lock(rooms_mutex_);
          auto found = rooms_.find(room_id);
          if (found == rooms_.end()) return std::nullopt;
          return found->second;
        },
        .act = [this, room_id](const circle::v1::RoomActionRequest& action, const std::string& done,
                               const std::string& name) { act(room_id, action, done, name); },
        .print = [this](std::string text) { print(std::move(text)); }};
    std::string rest;
    std::getline(words >> std::ws, rest);
    if (!argument.empty()) rest = argument + (rest.empty() ? "" : " " + rest);
    if (!run_room_command(command, rest, context)) {
      print("! Unknown command " + command + ". Type /help for the list.");
    }
  }
  return true;
}

// Readline hands complete lines to a plain function; route them here.
ChatSession* g_session = nullptr;
bool g_quit = false;

extern "C" void on_readline(char* line) {
  if (!line) {  // Ctrl-D
    g_quit = true;
    return;
  }
  if (*line) add_history(line);
  const std::string text(line);
  std::free(line);
  if (!g_session->handle_line(text)) g_quit = true;
}

int ChatSession::run() {
  if (!start()) return 2;
  printer_.flush();

  g_session = this;
  g_quit = false;
  if (interactive_) {
    rl_catch_signals = 0;
    rl_callback_handler_install("> ", on_readline);
    printer_.set_prompt_active(true);
  }
  std::string pending_input;
  while (!g_quit && !g_interrupted && !disconnected_) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {g_wake_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      char drain[256];
      while (::read(g_wake_pipe[0], drain, sizeof drain) > 0) {
      }
    }
    printer_.flush();
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    if (interactive_) {
      rl_callback_read_char();
    } else {
      char buffer[4096];
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0) break;  // end of input
      pending_input.append(buffer, static_cast<std::size_t>(n));
      std::size_t newline;
      while (!g_quit && (newline = pending_input.find('\n')) != std::string::npos) {
        const std::string line = pending_input.substr(0, newline);
        pending_input.erase(0, newline + 1);
        if (!handle_line(line)) g_quit = true;
        printer_.flush();
      }
    }
    printer_.flush();
  }
  if (!interactive_ && !g_quit && !pending_input.empty()) handle_line(pending_input);
  if (interactive_) {
    rl_callback_handler_remove();
    printer_.set_prompt_active(false);
    std::cout << '\n';
  }
  const bool server_closed = disconnected_;
  if (!server_closed && !reconnecting_ && !wait_for_sends(kRequestTimeout)) {
    print("! Some messages got no answer from the server; they may not have been sent.");
  } else if (reconnecting_) {
    std::lock_guard lock(sends_mutex_);
    if (sends_pending_) {
      print("! " + std::to_string(sends_pending_) +
            " message(s) were not confirmed by the server before you quit; those typed while "
            "offline were not sent, others may have been.");
    }
  }
  if (!server_closed) {
    // A deliberate exit is "left", not "disconnected", for the others.
    std::vector<std::string> joined;
    {
      std::lock_guard lock(rooms_mutex_);
      for (const auto& [room_id, view] : rooms_) joined.push_back(room_id);
    }
    for (const auto& room_id : joined) client_->call(circle::client::make_leave_room(room_id), 2s);
  }
  quitting_ = true;
  client_->close(1000, "bye");
  client_->wait_closed(2s);
  printer_.flush();
  g_session = nullptr;
  return server_closed ? 1 : 0;
}

}  // namespace

int run_chat(const ChatOptions& options) {
  // Non-blocking both ways: a wake-up never blocks the I/O thread or the
  // signal handler, and the main loop drains every byte.
  if (::pipe2(g_wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
    std::perror("circle: pipe");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const bool interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  ChatSession session(options, interactive);
  return session.run();
}

}  // namespace circle::chat
