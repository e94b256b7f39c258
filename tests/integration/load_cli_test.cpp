// `circle load` against a real server on loopback, small and bounded: every
// delivery must arrive exactly once, and the JSON report must say so.
#include <gtest/gtest.h>

#include "support/load_run.hpp"

namespace {

using namespace circle::test;

TEST(LoadCli, OpenLoopDeliversEveryMessageExactlyOnce) {
  TestServer server;
  auto figures = run_load(server, {"-n", "30", "-k", "5", "-r", "20", "-d", "1"});
  EXPECT_EQ(figures["joined"], 30);
  EXPECT_GT(figures["acked"].get<int>(), 0);
  EXPECT_EQ(figures["delivered"], figures["expected_deliveries"]);
  EXPECT_EQ(figures["lost"], 0);
  EXPECT_EQ(figures["duplicated"], 0);
  EXPECT_GT(figures["latency"]["p99_ns"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(figures["settings"]["room_size"], 5);
}

TEST(LoadCli, RoomPhaseReportsAcksAndTheJoinRate) {
  TestServer server;
  auto figures = run_load(
      server, {"-n", "20", "-k", "10", "-r", "10", "-d", "1", "--phase", "room", "--ramp", "1000"});
  EXPECT_EQ(figures["settings"]["phase"], "room");
  EXPECT_EQ(figures["delivered"], figures["expected_deliveries"]);
  // Every acked message has a send→ack latency; every join counts toward the rate.
  EXPECT_EQ(figures["ack_latency"]["count"], figures["acked"]);
  EXPECT_GT(figures["acked"].get<int>(), 0);
  EXPECT_GT(figures["joins_per_s"].get<double>(), 0.0);
}

TEST(LoadCli, ClosedLoopOverPlaintext) {
  // A closed loop sends as fast as the server answers: a load test, for
  // which the operator lifts the per-connection request limit.
  TestServer server({"--requests-per-second", "0"}, /*tls=*/false);
  auto figures = run_load(server, {"-n", "20", "-k", "10", "-r", "0", "-d", "1"});
  EXPECT_EQ(figures["settings"]["closed_loop"], true);
  EXPECT_EQ(figures["delivered"], figures["expected_deliveries"]);
  EXPECT_GT(figures["delivered"].get<int>(), 0);
}

TEST(LoadCli, ThreadsShareTheRoomsAndTheServersCpuIsReported) {
  TestServer server;
  const auto pid = std::to_string(server.process().pid());
  auto figures = run_load(server, {"-n", "40", "-k", "5", "-r", "20", "-d", "1", "--threads", "3",
                                   "--server-pid", pid});
  EXPECT_EQ(figures["joined"], 40);
  EXPECT_GT(figures["acked"].get<int>(), 0);
  EXPECT_EQ(figures["delivered"], figures["expected_deliveries"]);
  const auto& generator = figures["generator"];
  EXPECT_EQ(generator["threads"], 3);
  EXPECT_GE(generator["cores"].get<int>(), 1);
  EXPECT_GT(generator["wall_s_sending"].get<double>(), 0.5);
  // A light run: the generator was far from its limit, and says so.
  EXPECT_EQ(generator["saturated"], false);
  EXPECT_LT(generator["utilisation"].get<double>(), 0.9);
  // The server did some work while the generator sent, and it is divided
  // over the deliveries of the sending window.
  EXPECT_GT(figures["server_cpu_s_sending"].get<double>(), 0.0);
  EXPECT_GT(figures["server_cpu_us_per_delivery"].get<double>(), 0.0);
}

TEST(LoadCli, ReportsLatencyPerIntervalSoALongRunShowsWhenItsTailHappened) {
  TestServer server;
  const auto pid = std::to_string(server.process().pid());
  auto figures = run_load(server, {"-n", "20", "-k", "5", "-r", "20", "-d", "2",
                                   "--report-interval", "0.5", "--server-pid", pid});
  EXPECT_EQ(figures["settings"]["report_interval_s"], 0.5);
  const auto& series = figures["intervals"];
  ASSERT_TRUE(series.is_array());
  // Two seconds of sending in half-second intervals: four, each ending half
  // a second after the one before, from the start of sending.
  std::vector<nlohmann::json> sending;
  for (const auto& entry : series) {
    if (entry["phase"] == "sending") sending.push_back(entry);
  }
  ASSERT_EQ(sending.size(), 4u) << series.dump(1);
  std::uint64_t delivered = 0, sent = 0;
  for (std::size_t i = 0; i < sending.size(); ++i) {
    EXPECT_NEAR(sending[i]["end_s"].get<double>(), 0.5 * static_cast<double>(i + 1), 0.25);
    const auto& latency = sending[i]["latency"];
    EXPECT_EQ(latency["count"], sending[i]["delivered"]);
    EXPECT_GT(latency["count"].get<int>(), 0);
    EXPECT_LE(latency["p50_ns"].get<std::uint64_t>(), latency["p99_ns"].get<std::uint64_t>());
    EXPECT_LE(latency["p99_ns"].get<std::uint64_t>(), latency["max_ns"].get<std::uint64_t>());
    EXPECT_LE(latency["max_ns"].get<std::uint64_t>(),
              figures["latency"]["max_ns"].get<std::uint64_t>());
    EXPECT_GT(sending[i]["server_rss_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_GE(sending[i]["server_cpu_s"].get<double>(), 0.0);
    delivered += sending[i]["delivered"].get<std::uint64_t>();
    sent += sending[i]["sent"].get<std::uint64_t>();
  }
  // Every send of the window is in the sending series; the deliveries not in
  // it arrived while draining, the series' last entry.
  EXPECT_EQ(sent, figures["sent"].get<std::uint64_t>());
  EXPECT_LE(delivered, figures["delivered"].get<std::uint64_t>());
  EXPECT_GT(delivered, figures["delivered"].get<std::uint64_t>() / 2);
  std::uint64_t all_delivered = 0;
  for (const auto& entry : series) all_delivered += entry["delivered"].get<std::uint64_t>();
  EXPECT_EQ(series.back()["phase"], "draining");
  EXPECT_EQ(all_delivered, figures["delivered"].get<std::uint64_t>());
}

}  // namespace

namespace {

TEST(LoadCli, OneSpeakerToALargeRoomAndIdleConnections) {
  TestServer server;
  auto talk = run_load(server, {"-n", "41", "-k", "41", "--senders", "1", "-r", "20", "-d", "1"});
  EXPECT_EQ(talk["settings"]["senders_per_room"], 1);
  EXPECT_GT(talk["sent"].get<int>(), 0);
  EXPECT_LE(talk["sent"].get<int>(), 25) << "one speaker at 20 msg/s for about a second";
  EXPECT_EQ(talk["delivered"], talk["expected_deliveries"]);
  EXPECT_EQ(talk["expected_deliveries"].get<int>(), talk["acked"].get<int>() * 41);

  auto idle = run_load(
      server, {"-n", "20", "-k", "10", "--senders", "0", "-d", "1", "--room-prefix", "idle"});
  EXPECT_EQ(idle["joined"], 20);
  EXPECT_EQ(idle["sent"], 0);
}

}  // namespace
