// `circle load`: the load generator. It opens many connections with the same
// client library as `circle chat`, spreads them over rooms, sends at a set
// rate (or in a closed loop), and measures what every member receives:
// latency from send to each receive, deliveries per second, and whether every
// message of its room arrived exactly once, in seq order.
#pragma once

#include <cstdint>
#include <string>

namespace circle::load {

struct LoadOptions {
  std::string server_url = "wss://127.0.0.1:8443";
  std::string ca_file;  // empty: the system's trusted CAs
  unsigned connections = 100;
  unsigned room_size = 10;
  // Messages per second per member; 0 runs a closed loop (each member sends
  // its next message once its previous one came back).
  double rate = 1.0;
  unsigned payload_bytes = 64;
  // How many members of each room send (the first ones to join it); the
  // rest only listen. 0: nobody sends (idle connections). Default: all.
  unsigned senders_per_room = UINT32_MAX;
  // When the senders of an open loop send: "member" (each on its own random
  // phase, so messages are spread evenly in time) or "room" (the members of a
  // room send together once per period, as in a check-in round; rooms are on
  // random phases). "room" lets a server batch a room's traffic per recipient.
  std::string phase = "member";
  double duration_seconds = 10;
  // Connections opened per second while ramping up.
  double ramp_per_second = 500;
  // Seconds to wait after the last send for deliveries still in flight.
  double drain_seconds = 5;
  std::string json_file;  // also write every figure and the settings here
  std::string room_prefix = "load";
  // "circle": the full protocol. "raw": a baseline protocol for comparison
  // servers: connect to /room/<id>; every binary message is relayed to the
  // other connections of that path (so the sender gets no echo, no acks).
  std::string protocol = "circle";
  // The server's token secret: each connection gets its own account token
  // (sub "load-<n>"). Empty: anonymous Hello (servers with --allow-anonymous).
  std::string token_secret;
  bool quiet = false;  // no live progress lines
  // Seconds between progress lines; each line, and each entry of the --json
  // "intervals" series, holds that interval's deliveries and latency, so a
  // long run shows when its tail happened, not only that it did.
  double report_interval_seconds = 1;
  // Event loops, each on its own thread with its own rooms: enough that the
  // generator is never the limit (the summary says when it was).
  unsigned threads = 1;
  // The server's process id when it runs on this machine: its CPU time while
  // sending is read from /proc, for CPU per delivery. 0: not measured.
  int server_pid = 0;
};

// Runs the load test; returns the exit status: 0 when every delivery arrived
// exactly once in order, 1 when any was lost or duplicated, 2 when the test
// could not run (bad settings, no connection).
int run_load(const LoadOptions& options);

}  // namespace circle::load
