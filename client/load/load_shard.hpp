// One event loop of `circle load`, on its own thread: the members of the rooms
// given to it, their connections, and what they measure. A run spreads its
// rooms over --threads shards, so that the generator is never the limit on a
// machine with cores to spare; a room's members stay on one shard, so that
// who a message is owed to is known without locks. The coordinator (load.cpp)
// talks to a shard only through the calls below, each safe from any thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "circle_client/connection.hpp"
#include "figures.hpp"
#include "load.hpp"

namespace circle::load {

std::uint64_t now_ns();
// CPU seconds, user plus system, of `who`: RUSAGE_SELF (the process) or
// RUSAGE_THREAD (the calling thread).
double cpu_seconds(int who);

class LoadShard {
 public:
  struct Snapshot {
    Figures figures;
    // Latency of the deliveries since the previous snapshot.
    LatencyHistogram interval_latency;
    double thread_cpu_seconds = 0;  // this shard's thread, since it started
  };

  LoadShard(const LoadOptions& options, const std::vector<circle::client::ServerAddress>& addresses,
            std::shared_ptr<boost::asio::ssl::context> tls, unsigned shard);
  ~LoadShard();

  // Before start(): one more member, global `index`, in `room_id`.
  void add_member(unsigned index, std::string room_id);
  std::size_t size() const { return members_.size(); }
  // Starts the thread: connects the members at `ramp_per_second`.
  void start(double ramp_per_second);

  Snapshot snapshot();  // blocks until the shard's loop answers
  void start_sending(std::uint64_t window_start_ns, std::uint64_t window_end_ns);
  void stop_sending();
  // Closes every connection; the loop ends once they are closed, or after a
  // few seconds at most.
  void finish();
  // Waits for the thread; then figures() and thread_cpu_seconds() are final.
  void join();
  const Figures& figures() const { return figures_; }
  double thread_cpu_seconds() const { return thread_cpu_seconds_; }

 private:
  struct Member {
    unsigned index = 0;
    std::string room_id;
    std::shared_ptr<circle::client::Connection> connection;
    std::unique_ptr<boost::asio::steady_timer> timer;
    boost::asio::steady_timer::time_point next_send;  // open loop: when the next send is due
    std::uint64_t last_seq = 0;
    std::uint64_t counter = 0;
    bool joined = false;
    bool closed = false;
    bool counted_open = false;  // connected, not yet closed
    std::uint64_t connect_started_ns = 0;
    // Raw protocol: the last counter seen from each sender, to find losses
    // and duplicates without a room seq.
    std::map<unsigned, std::uint64_t> last_from;
  };

  void ramp_step();
  void start_member(Member& member);
  void on_connected(Member& member);
  void on_event(Member& member, const circle::v1::ServerMessage& message);
  void on_joined(Member& member);
  std::string token_for(const Member& member) const;
  bool is_sender(const Member& member) const {
    return member.index % options_.room_size < options_.senders_per_room;
  }
  void on_raw(Member& member, std::string_view bytes);
  void record_delivery(std::uint64_t sent_ns);
  bool raw() const { return options_.protocol == "raw"; }
  void count_error(const circle::v1::Error& error);
  void schedule_send(Member& member, std::chrono::nanoseconds delay);
  void arm_send_timer(Member& member);
  void send(Member& member);
  void begin_sending();

  const LoadOptions& options_;
  const std::vector<circle::client::ServerAddress>& addresses_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::vector<std::unique_ptr<Member>> members_;
  Figures figures_;
  LatencyHistogram interval_latency_;
  double thread_cpu_seconds_ = 0;
  // Members joined and still connected, per room: who a message is owed to.
  std::map<std::string, unsigned> room_members_;
  bool sending_ = false;
  bool finished_ = false;
  std::uint64_t window_start_ns_ = 0, window_end_ns_ = 0;
  boost::asio::steady_timer ramp_timer_{ioc_};
  std::chrono::nanoseconds ramp_interval_{};
  std::size_t next_to_connect_ = 0;
  std::size_t open_connections_ = 0;
  boost::asio::steady_timer stop_timer_{ioc_};
  std::mt19937_64 random_;
};

}  // namespace circle::load
