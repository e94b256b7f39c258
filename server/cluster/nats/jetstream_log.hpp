// Room events in NATS JetStream, for several circled nodes sharing rooms
// (issue 8; docs/ARCHITECTURE.md, "Scale-out"). One shared stream with a
// subject per room; each append names the stream sequence of the room's
// previous event, so two nodes can never both append a room's next event.
// While the cluster is away, appends fail (nothing is acknowledged that is
// not stored). No Asio here: calls block for at most the cluster's wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/nats/nats_cluster.hpp"

namespace circle::cluster {

struct JetStreamLogOptions {
  std::string stream = "CIRCLE_EVENTS";
  // + room id + ".events" (or ".created": JetStreamLog::Topic).
  std::string subject_prefix = "circle.room.";
  // Retries of the same message id within this window are stored once.
  std::chrono::seconds duplicate_window{120};

  // A service's room log named after its --nats-namespace: the stream
  // "<NS>_EVENTS" (upper case, '-' as '_') and subjects "<ns>.room.*".
  static JetStreamLogOptions for_namespace(const std::string& ns);
  // The service's moderation audit log, kept the same way: the stream
  // "<NS>_AUDIT" and subjects "<ns>.audit.<room>.events".
  static JetStreamLogOptions audit_for_namespace(const std::string& ns);
};

class JetStreamLog {
 public:
  // An append is the cluster's compare-and-set publish (NatsCluster::
  // publish_if_last): stored, a duplicate of an earlier one, refused as
  // another writer appended the room's next event first, or unavailable.
  using Appended = NatsCluster::Published;
  using Outcome = Appended::Outcome;
  // A room's two subjects, ordered together by the stream: its creation (so
  // that "the room's first creation" can be checked even when entries for a
  // room not created yet came first) and everything else.
  enum class Topic { kEvents, kCreation };
  struct Entry {
    std::uint64_t sequence = 0;
    // Entries stored after this one and not handed over yet (0: this
    // follower has read the log up to its end, as the stream knew it).
    std::uint64_t pending = 0;
    std::string room_id;
    std::string data;
  };

  // Makes sure the stream exists (now, or on the first append when the
  // cluster does not answer yet). `cluster` must outlive the log.
  JetStreamLog(NatsCluster& cluster, JetStreamLogOptions options);
  ~JetStreamLog();
  JetStreamLog(const JetStreamLog&) = delete;
  JetStreamLog& operator=(const JetStreamLog&) = delete;

  // Appends `data` to `room_id`'s subject if the room's last event is still
  // at stream sequence `after_sequence` (0: the room has none). A non-empty
  // `message_id` de-duplicates retries.
  Appended append(const std::string& room_id, const std::string& data, std::uint64_t after_sequence,
                  const std::string& message_id = {});
  // The same without waiting: `done` runs on a NATS thread once the cluster
  // answered (or did not in time). No `after_sequence`: appended whatever
  // came before (several nodes' appends are ordered by the stream); 0: only
  // as the room's first. Appends from one caller are stored in call order.
  // `after_sequence` counts within `topic`'s subject.
  void append_async(const std::string& room_id, Topic topic, std::string data,
                    std::optional<std::uint64_t> after_sequence, const std::string& message_id,
                    std::function<void(const Appended&)> done);
  // Waits (at most the cluster's wait) until every async append is answered.
  void flush();
  // Stops following, flushes, and then calls no handler or `done` any more
  // (appends fail at once). The destructor does this too.
  void close();

  // Hands every entry of every room to `handler`, in stream order, from the
  // first on, then each new one as it is stored; one call at a time, on a
  // NATS thread. Re-follows by itself across node failures. False with
  // `error` when the cluster does not answer (call again later).
  bool follow(std::function<void(const Entry&)> handler, std::string& error);
  // Stops handing entries over; returns once no handler call is running.
  void stop_following();
  // The stream's last sequence now (0: nothing ever stored; entries up to
  // it may have been deleted since).
  Lookup<std::uint64_t> stream_last_sequence();
  // How many entries the stream holds now.
  Lookup<std::uint64_t> stream_entry_count();

  // Whether the cluster answers for the stream now (creating it if need be).
  bool ready(std::string& error);

  // Erases `room_id`'s entries up to and including stream sequence
  // `through` (its creation entry stays), one by one, overwriting their
  // bytes; followers of the log are not moved. False, with `error`, when the
  // cluster did not answer (call again: what is erased stays erased).
  bool purge_room(const std::string& room_id, std::uint64_t through, std::string& error);

  // `room_id`'s entries after stream sequence `after` up to `through` (its
  // events, not its creation), in order.
  Lookup<std::vector<Entry>> read_room(const std::string& room_id, std::uint64_t after,
                                       std::uint64_t through);

  // The stored event at stream `sequence`, if any.
  Lookup<Entry> read(std::uint64_t sequence);
  // The stream sequence of `room_id`'s last event (0: none).
  Lookup<std::uint64_t> last_sequence(const std::string& room_id);
  // The name of the cluster node leading the stream now ("" when unknown).
  std::string stream_leader();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace circle::cluster
