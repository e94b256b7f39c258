// The connection circled keeps to a NATS cluster with JetStream, shared by
// the event log and the key-value buckets (issue 8; docs/ARCHITECTURE.md,
// "Scale-out"). It connects to any node named, reconnects to any node by
// itself, forever, and says whether it is connected now (for /healthz and for
// refusing what cannot be stored).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

typedef struct __jsCtx jsCtx;  // NOLINT: as nats/nats.h declares it

namespace circle::server::store {

struct NatsClusterOptions {
  std::vector<std::string> urls;  // nats://host:port of any cluster nodes
  // How long a call waits for the cluster (a publish ack, a lookup).
  std::chrono::milliseconds wait{5000};
  int replicas = 3;  // of every stream and bucket Circle creates
  // Pings to the connected node; two unanswered in a row drop the link.
  std::chrono::milliseconds ping_interval{2000};
};

class NatsCluster {
 public:
  // Throws when the options are unusable; a cluster that does not answer
  // yet is retried in the background.
  explicit NatsCluster(NatsClusterOptions options);
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  bool connected() const;
  // nats://host:port of the node connected to now ("" when none).
  std::string connected_url() const;
  const NatsClusterOptions& options() const { return options_; }
  jsCtx* jetstream() const { return js_; }

 private:
  struct Connection;
  NatsClusterOptions options_;
  std::unique_ptr<Connection> connection_;
  jsCtx* js_ = nullptr;
};

// A read from the cluster: an answer (a value, or none there) or no answer
// in time, which must never be taken for "none there" (a ban would be
// missed during an outage).
template <class T>
struct Lookup {
  bool answered = false;
  std::optional<T> value;  // when answered: the value, or nullopt for none
};

// The header the server checks against a subject's last stream sequence
// (0: the subject has no message yet), making an append a compare-and-set.
inline constexpr const char* kExpectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence";

// Text for a failed call: the status, and JetStream's error code if any.
std::string describe_nats_error(int status, int jetstream_code);

}  // namespace circle::server::store
