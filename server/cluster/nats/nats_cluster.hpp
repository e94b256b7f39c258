// The connection circled keeps to a NATS cluster with JetStream, shared by
// the event log and the key-value buckets (issue 8; docs/ARCHITECTURE.md,
// "Scale-out"). It connects to any node named, reconnects to any node by
// itself, forever, and says whether it is connected now (for /healthz and for
// refusing what cannot be stored).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

typedef struct __jsCtx jsCtx;                        // NOLINT: as nats/nats.h declares it
typedef struct __natsConnection natsConnection;      // NOLINT: as nats/nats.h declares it
typedef struct __natsSubscription natsSubscription;  // NOLINT: as nats/nats.h declares it

namespace circle::cluster {

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

  // The header JetStream checks against a subject's last stream sequence.
  static constexpr const char* kExpectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence";

  bool connected() const;
  // How many times the link came up (connected, then each reconnect): a
  // change means it was down in between, however briefly.
  std::uint64_t links() const;
  // Waits at most `timeout` for the link to be up; whether it is.
  bool wait_connected(std::chrono::milliseconds timeout) const;
  // nats://host:port of the node connected to now ("" when none).
  std::string connected_url() const;
  const NatsClusterOptions& options() const { return options_; }
  jsCtx* jetstream() const { return js_; }
  natsConnection* connection() const;

  // Creates stream `name` over `subjects` unless it exists (idempotent on
  // the server); false with `error` when the cluster does not answer.
  bool ensure_stream(const std::string& name, const std::string& subjects,
                     std::chrono::seconds duplicate_window, std::string& error);
  // Deletes stream `name` and everything in it (tests, and retiring a
  // namespace); whether it is gone.
  bool delete_stream(const std::string& name);

  // A compare-and-set publish: `data` goes to `subject` only if the
  // subject's last message is still at stream sequence `expected_last`
  // (0: it has none). A non-empty `message_id` de-duplicates retries.
  struct Published {
    enum class Outcome {
      kStored,     // `sequence` is its stream sequence
      kDuplicate,  // the same message id was stored before, at `sequence`
      kConflict,   // the subject's last message is no longer at `expected_last`
      // No ack in time: not stored, or not known to be (a publish made while
      // the link was away may still be stored when it comes back), so retry
      // with the same message id and expected sequence; the cluster keeps one.
      kUnavailable,
    };
    Outcome outcome = Outcome::kUnavailable;
    std::uint64_t sequence = 0;  // stored (or stored before, for a duplicate) at
    std::string error;           // what failed, for the log (never the data)
  };
  // Core NATS (nothing stored): for signals every node hears while it is
  // connected, such as liveness. Publishing while away fails at once.
  bool publish(const std::string& subject, const std::string& data);
  // Calls `handler(subject, data)` for each message on `subject` (wildcards
  // allowed), one at a time on a NATS thread, until the result is destroyed
  // (which waits for a running call). Null when the cluster does not answer.
  using Handler = std::function<void(const std::string& subject, const std::string& data)>;
  struct Subscription;
  std::unique_ptr<Subscription, void (*)(Subscription*)> subscribe(const std::string& subject,
                                                                   Handler handler);

  Published publish_if_last(const std::string& subject, const std::string& data,
                            std::uint64_t expected_last, const std::string& message_id = {});

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

// Text for a failed call: the status, and JetStream's error code if any.
std::string describe_nats_error(int status, int jetstream_code);

}  // namespace circle::cluster
