// Which JetStream layout carries thousands of rooms (issue 8 asks to measure
// it before building on it): a stream per room, where the room's seq is the
// stream's own sequence and ExpectLastSeq keeps it gap-free, or one shared
// stream with a subject per room, where ExpectLastSubjectSeq does.
//
//   jetstream_layout --urls nats://127.0.0.1:4222,... --layout per-room|shared
//                    --rooms 1000 --seconds 10 [--replicas 3] [--bytes 200]
//                    [--events-per-message K]
//
// Creates the streams (timed), then keeps one message in flight per room for
// --seconds (each published with the expected-last-sequence check, as a room
// would, the next one from the previous one's ack), then deletes the streams.
// Prints one JSON line: creation time, acks/s (and events/s when each message
// carries K events of --bytes, as a room's waiting events would go out
// together), ack latency percentiles, and how many publishes the sequence
// check refused (there should be none).
#include <nats/nats.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "load/histogram.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Room {
  std::string subject;
  std::uint64_t last_sequence = 0;  // the stream sequence of its last acked message
  Clock::time_point sent_at;
};

struct Run {
  jsCtx* js = nullptr;
  bool per_room = true;
  std::string payload;
  std::vector<Room> rooms;
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards the figures below
  circle::load::LatencyHistogram latency;
  std::uint64_t acked = 0;
  std::uint64_t refused = 0;
  std::string first_error;
};

void publish_next(Run& run, std::size_t index) {
  Room& room = run.rooms[index];
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (run.per_room) {
    options.ExpectLastSeq = room.last_sequence;
  } else {
    options.ExpectLastSubjectSeq = room.last_sequence;
  }
  natsMsg* message = nullptr;
  natsMsg_Create(&message, room.subject.c_str(), nullptr, run.payload.data(),
                 static_cast<int>(run.payload.size()));
  // The room's index rides along in a header, for the ack handler.
  natsMsgHeader_Set(message, "Circle-Room", std::to_string(index).c_str());
  room.sent_at = Clock::now();
  if (js_PublishMsgAsync(run.js, &message, &options) != NATS_OK) natsMsg_Destroy(message);
}

void on_ack(jsCtx*, natsMsg* message, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto& run = *static_cast<Run*>(closure);
  const char* room_header = nullptr;
  natsMsgHeader_Get(message, "Circle-Room", &room_header);
  const std::size_t index = room_header ? std::stoul(room_header) : 0;
  Room& room = run.rooms[index];
  {
    std::lock_guard lock(run.mutex);
    if (ack) {
      room.last_sequence = ack->Sequence;
      ++run.acked;
      run.latency.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - room.sent_at)
              .count()));
    } else {
      ++run.refused;
      if (run.first_error.empty() && error && error->ErrText) run.first_error = error->ErrText;
    }
  }
  natsMsg_Destroy(message);
  if (ack && !run.stopping) publish_next(run, index);
}

std::string stream_name(bool per_room, std::size_t index) {
  return per_room ? "BENCH_ROOM_" + std::to_string(index) : "BENCH_EVENTS";
}

bool check(natsStatus status, jsErrCode code, const char* what) {
  if (status == NATS_OK) return true;
  std::fprintf(stderr, "jetstream_layout: %s: %s (%d)\n", what, natsStatus_GetText(status),
               static_cast<int>(code));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures JetStream layouts for Circle's room events"};
  std::string urls = "nats://127.0.0.1:4222";
  std::string layout = "per-room";
  std::size_t rooms = 1000;
  int seconds = 10;
  int replicas = 3;
  std::size_t bytes = 200;
  std::size_t events_per_message = 1;
  app.add_option("--urls", urls, "NATS client URLs, comma separated");
  app.add_option("--layout", layout, "per-room or shared")
      ->check(CLI::IsMember({"per-room", "shared"}));
  app.add_option("--rooms", rooms, "Rooms")->check(CLI::Range(1, 100'000));
  app.add_option("--seconds", seconds, "Seconds of publishing")->check(CLI::Range(1, 600));
  app.add_option("--replicas", replicas, "Stream replicas")->check(CLI::Range(1, 5));
  app.add_option("--bytes", bytes, "Bytes per event")->check(CLI::Range(1, 65536));
  app.add_option("--events-per-message", events_per_message, "Events batched in one message")
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  Run run;
  run.per_room = layout == "per-room";
  run.payload.assign(bytes * events_per_message, 'x');
  natsConnection* connection = nullptr;
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  std::vector<std::string> servers;
  for (std::size_t start = 0; start <= urls.size();) {
    const auto comma = std::min(urls.find(',', start), urls.size());
    servers.push_back(urls.substr(start, comma - start));
    start = comma + 1;
  }
  std::vector<const char*> server_list;
  for (const auto& server : servers) server_list.push_back(server.c_str());
  natsOptions_SetServers(options, server_list.data(), static_cast<int>(server_list.size()));
  if (!check(natsConnection_Connect(&connection, options), jsErrCode(0), "connect")) return 1;
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = 30'000;
  js_options.PublishAsync.MaxPending = static_cast<int64_t>(rooms) * 2;
  js_options.PublishAsync.AckHandler = on_ack;
  js_options.PublishAsync.AckHandlerClosure = &run;
  natsConnection_JetStream(&run.js, connection, &js_options);

  run.rooms.resize(rooms);
  for (std::size_t i = 0; i < rooms; ++i) run.rooms[i].subject = "bench.room." + std::to_string(i);
  const std::size_t streams = run.per_room ? rooms : 1;
  const auto create_started = Clock::now();
  for (std::size_t i = 0; i < streams; ++i) {
    const std::string name = stream_name(run.per_room, i);
    const std::string subject = run.per_room ? run.rooms[i].subject : "bench.room.*";
    const char* subjects[] = {subject.c_str()};
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = name.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = replicas;
    jsStreamInfo* info = nullptr;
    jsErrCode code = jsErrCode(0);
    if (!check(js_AddStream(&info, run.js, &config, nullptr, &code), code, "add stream")) return 1;
    jsStreamInfo_Destroy(info);
  }
  const double create_s = std::chrono::duration<double>(Clock::now() - create_started).count();

  const auto publish_started = Clock::now();
  for (std::size_t i = 0; i < rooms; ++i) publish_next(run, i);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measured window
  run.stopping = true;
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = 30'000;
  js_PublishAsyncComplete(run.js, &complete);
  const double publish_s = std::chrono::duration<double>(Clock::now() - publish_started).count();

  for (std::size_t i = 0; i < streams; ++i) {
    jsErrCode code = jsErrCode(0);
    js_DeleteStream(run.js, stream_name(run.per_room, i).c_str(), nullptr, &code);
  }
  std::lock_guard lock(run.mutex);
  std::printf(
      "{\"layout\":\"%s\",\"rooms\":%zu,\"replicas\":%d,\"bytes\":%zu,\"events_per_message\":%zu,"
      "\"create_s\":%.2f,\"acks_per_s\":%.0f,\"events_per_s\":%.0f,\"p50_ms\":%.2f,"
      "\"p99_ms\":%.2f,\"refused\":%llu,\"error\":\"%s\"}\n",
      layout.c_str(), rooms, replicas, bytes, events_per_message, create_s, run.acked / publish_s,
      run.acked * events_per_message / publish_s, run.latency.percentile(50) / 1e6,
      run.latency.percentile(99) / 1e6, static_cast<unsigned long long>(run.refused),
      run.first_error.c_str());
  jsCtx_Destroy(run.js);
  natsConnection_Destroy(connection);
  natsOptions_Destroy(options);
  return 0;
}
