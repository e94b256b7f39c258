// Google Benchmark: the server's hot paths, without a network.
//   build/release/bench/micro_benchmarks [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "circle/wire.hpp"
#include "core/policy.hpp"
#include "core/room.hpp"
#include "core/validation.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace circle::v1;

ServerMessage posted_event(std::size_t text_bytes) {
  ServerMessage message;
  auto* event = message.mutable_room_event();
  event->set_room_id("bench-42");
  event->set_seq(123456);
  event->set_server_time_unix_ms(1'790'000'000'000);
  auto* posted = event->mutable_message_posted();
  posted->mutable_sender()->set_member_id(7);
  posted->mutable_sender()->set_display_name("Sam");
  posted->mutable_sender()->set_role(ROLE_PARTICIPANT);
  posted->set_text(std::string(text_bytes, 'x'));
  return message;
}

void BM_EncodeEvent(benchmark::State& state) {
  const auto message = posted_event(64);
  for (auto _ : state) benchmark::DoNotOptimize(circle::wire::encode(message));
}
BENCHMARK(BM_EncodeEvent);

void BM_DecodeAndValidateSend(benchmark::State& state) {
  ClientMessage request;
  request.set_request_id(99);
  request.mutable_send_message()->set_room_id("bench-42");
  request.mutable_send_message()->set_text(std::string(64, 'x'));
  const std::string bytes = request.SerializeAsString();
  const circle::core::Limits limits;
  for (auto _ : state) {
    auto decoded = circle::core::decode_client_message(bytes);
    benchmark::DoNotOptimize(circle::core::check_client_message(decoded.value(), limits));
  }
}
BENCHMARK(BM_DecodeAndValidateSend);

void BM_BatchOf32Frames(benchmark::State& state) {
  std::vector<circle::wire::Frame> frames;
  for (int i = 0; i < 32; ++i) frames.push_back(circle::wire::encode(posted_event(64)));
  circle::wire::BatchEncoder batch;
  for (auto _ : state) {
    batch.build(frames);
    benchmark::DoNotOptimize(batch.size());
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_BatchOf32Frames);

void BM_PermissionCheck(benchmark::State& state) {
  const auto settings = circle::core::default_settings(ROOM_KIND_FACILITATED_GROUP, 100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        circle::core::authorize(ACTION_MUTE, ROLE_CO_FACILITATOR, ROLE_PARTICIPANT, settings));
  }
}
BENCHMARK(BM_PermissionCheck);

// A sink that only counts, so the fan-out cost is the room's own.
class CountingSink : public circle::core::EventSink {
 public:
  void deliver(circle::wire::Frame) override { ++delivered; }
  void removed_from_room(const std::string&, std::uint64_t) override {}
  void must_reconnect(const std::string&) override {}
  std::uint64_t delivered = 0;
};

void BM_FanOutToMembers(benchmark::State& state) {
  const auto members = static_cast<unsigned>(state.range(0));
  circle::core::Limits limits;
  circle::core::Room room("bench", "Bench", ROOM_KIND_FACILITATED_GROUP, "acct-0", 0, limits,
                          nullptr);
  std::vector<std::shared_ptr<CountingSink>> sinks;
  for (unsigned i = 1; i <= members; ++i) {
    sinks.push_back(std::make_shared<CountingSink>());
    auto joined = room.join({.connection = i,
                             .display_name = "m" + std::to_string(i),
                             .account_id = "acct-" + std::to_string(i),
                             .is_admin = false,
                             .sink = sinks.back(),
                             .join_token = 0},
                            1);
    benchmark::DoNotOptimize(joined);
  }
  const std::string text(64, 'x');
  std::int64_t now = 2;
  for (auto _ : state) benchmark::DoNotOptimize(room.post(1, text, "", ++now));
  state.SetItemsProcessed(state.iterations() * members);  // deliveries
}
BENCHMARK(BM_FanOutToMembers)->Arg(10)->Arg(1000);

// Store group commit: 256 messages queued at once, committed by the writer
// thread in as few transactions as it takes. Args: synchronous FULL (1, a
// sync per commit) or NORMAL (0); how many rooms the messages are spread
// over (each room's events are a separate run of the B-tree); whether each
// carries a client_message_id (as the client library's sends do: one more
// index entry). Items: messages made durable; CPU: the whole process's.
void BM_StoreGroupCommit(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "circle-bench-store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = circle::store::open_sqlite_store((dir / "bench.db").string(),
                                                {.synchronous = state.range(0) ? "full" : "normal",
                                                 .busy_timeout_ms = 5000,
                                                 .min_commit_interval = {},
                                                 .cache_mib = 64,
                                                 .max_mib = 0,
                                                 .run_completions = {}});
  const auto rooms = static_cast<std::uint64_t>(state.range(1));
  const bool with_ids = state.range(2) != 0;
  constexpr int kBatch = 256;
  std::vector<std::uint64_t> seqs(rooms, 0);
  std::uint64_t sent = 0;
  const std::string event(150, 'e');
  for (auto _ : state) {
    std::atomic<int> pending{kBatch};
    std::promise<void> all_done;
    for (int i = 0; i < kBatch; ++i) {
      const std::uint64_t room = (sent * 7919) % rooms;  // spread like many busy rooms
      ++sent;
      circle::store::WriteBatch batch;
      batch.events.push_back(
          {.room_id = "room-" + std::to_string(room),
           .seq = ++seqs[room],
           .time_ms = static_cast<std::int64_t>(sent),
           .sender_account = "account-" + std::to_string(sent % 10),
           .client_message_id = with_ids ? "0123456789abcdef-" + std::to_string(sent) : "",
           .event = event});
      store->write(std::move(batch), [&](const circle::store::Status&) {
        if (--pending == 0) all_done.set_value();
      });
    }
    all_done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  store->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreGroupCommit)
    ->ArgsProduct({{0, 1}, {16, 1000}, {0, 1}})
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// The retention sweep against a store already holding N events (1,000
// rooms, none expired: the common case, once a minute): its cost must not grow
// with N, or the writer holds every acknowledgement back longer the longer a
// server runs (issue 23's drift: a correlated bound made SQLite scan every
// event; ~N/1.5 µs). Also a sweep that deletes one chunk's worth of expired
// events (the most one group commit waits for). Items: events held.
void BM_RetentionSweep(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "circle-bench-sweep";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = circle::store::open_sqlite_store((dir / "bench.db").string());
  const auto held = static_cast<std::uint64_t>(state.range(0));
  const bool expiring = state.range(1) != 0;
  constexpr std::int64_t kWindow = 600'000;
  const std::int64_t now = 1'000'000'000'000;
  const std::string event(150, 'e');
  std::uint64_t written = 0;
  const auto fill = [&](std::uint64_t count, std::int64_t time_ms) {
    circle::store::WriteBatch batch;
    for (std::uint64_t i = 0; i < count; ++i, ++written) {
      batch.events.push_back({.room_id = "room-" + std::to_string(written % 1000),
                              .seq = written / 1000 + 1,
                              .time_ms = time_ms,
                              .sender_account = "account",
                              .client_message_id = "0123456789abcdef-" + std::to_string(written),
                              .event = event});
    }
    std::promise<void> done;
    store->write(std::move(batch), [&](const circle::store::Status&) { done.set_value(); });
    done.get_future().wait();
  };
  for (std::uint64_t filled = 0; filled < held; filled += 10'000) fill(10'000, now);
  for (auto _ : state) {
    if (expiring) {
      state.PauseTiming();
      fill(100, now - 2 * kWindow);  // one chunk's worth, expired
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(store->delete_expired(now, kWindow));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(held));
  store->close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RetentionSweep)
    ->ArgsProduct({{10'000, 100'000, 400'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
