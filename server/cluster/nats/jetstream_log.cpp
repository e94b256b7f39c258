#include "cluster/nats/jetstream_log.hpp"

#include <nats/nats.h>
#include <openssl/evp.h>

#include <cctype>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "cluster/nats/callback_gate.hpp"

namespace circle::cluster {
namespace {

struct MsgDeleter {
  void operator()(natsMsg* message) const { natsMsg_Destroy(message); }
};
using Msg = std::unique_ptr<natsMsg, MsgDeleter>;

bool decode_base64(const std::string& encoded, std::string& decoded) {
  if (encoded.size() % 4 != 0) return false;
  decoded.resize(encoded.size() / 4 * 3);
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(encoded.data()),
                                     static_cast<int>(encoded.size()));
  if (length < 0) return false;
  // EVP_DecodeBlock counts the padding's bytes too.
  std::size_t padding = 0;
  for (auto c = encoded.rbegin(); c != encoded.rend() && *c == '=' && padding < 2; ++c) ++padding;
  decoded.resize(static_cast<std::size_t>(length) - padding);
  return true;
}

}  // namespace

struct JetStreamLog::Impl {
  Impl(NatsCluster& cluster, JetStreamLogOptions options)
      : cluster(cluster), options(std::move(options)) {}
  ~Impl() {
    close();
    jsCtx_Destroy(async_js);
  }
  void close() {
    stop_following();
    flush();
    gate.close();
    std::lock_guard lock(pending_mutex);
    pending.clear();  // never called: their owner may be gone
  }
  void flush() {
    jsPubOptions publish;
    jsPubOptions_Init(&publish);
    publish.MaxWait = cluster.options().wait.count();
    js_PublishAsyncComplete(async_js, &publish);
  }
  CallbackGate gate;
  NatsCluster& cluster;
  JetStreamLogOptions options;
  std::mutex stream_mutex;
  bool stream_ready = false;  // guarded by stream_mutex

  // Async appends: a JetStream context whose acks come to on_ack, and the
  // callback waiting for each message.
  jsCtx* async_js = nullptr;
  std::mutex pending_mutex;
  std::unordered_map<natsMsg*, std::function<void(const Appended&)>> pending;

  natsSubscription* following = nullptr;
  std::function<void(const Entry&)> follower;

  static void on_ack(jsCtx*, natsMsg* message, jsPubAck* ack, jsPubAckErr* failure, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    const auto pass = self->gate.enter();
    if (!pass) return natsMsg_Destroy(message);
    std::function<void(const Appended&)> done;
    {
      std::lock_guard lock(self->pending_mutex);
      if (auto found = self->pending.find(message); found != self->pending.end()) {
        done = std::move(found->second);
        self->pending.erase(found);
      }
    }
    Appended result;
    if (ack) {
      result.outcome = ack->Duplicate ? Outcome::kDuplicate : Outcome::kStored;
      result.sequence = ack->Sequence;
    } else if (failure) {
      result.outcome = failure->ErrCode == JSStreamWrongLastSequenceErr ? Outcome::kConflict
                                                                        : Outcome::kUnavailable;
      result.error = describe_nats_error(failure->Err, failure->ErrCode);
    }
    natsMsg_Destroy(message);
    if (done) done(result);
  }

  static void on_entry(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    Msg message(raw);
    const auto pass = self->gate.enter();
    if (!pass) return;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, message.get()) != NATS_OK) return;
    const std::uint64_t sequence = meta->Sequence.Stream;
    const std::uint64_t pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    self->follower(
        Entry{.sequence = sequence,
              .pending = pending,
              .room_id = self->room_of(natsMsg_GetSubject(message.get())),
              .data = std::string(natsMsg_GetData(message.get()),
                                  static_cast<std::size_t>(natsMsg_GetDataLength(message.get())))});
  }

  // `read(info)` of the stream's info now.
  template <class T, class Read>
  Lookup<T> read_stream_info(Read read) {
    jsStreamInfo* info = nullptr;
    jsOptions js_options = call_options();
    jsErrCode code = jsErrCode(0);
    if (js_GetStreamInfo(&info, js(), options.stream.c_str(), &js_options, &code) != NATS_OK) {
      return {};
    }
    Lookup<T> result{.answered = true, .value = read(*info)};
    jsStreamInfo_Destroy(info);
    return result;
  }

  void stop_following() {
    if (!following) return;
    // Drained: once it completes, the handler is not running and never
    // runs again. (Without a link, nothing can arrive to drain.)
    if (cluster.connected() && natsSubscription_Drain(following) == NATS_OK) {
      natsSubscription_WaitForDrainCompletion(following, cluster.options().wait.count());
    }
    natsSubscription_Destroy(following);
    following = nullptr;
  }

  jsCtx* js() const { return cluster.jetstream(); }
  std::string subject_of(const std::string& room_id, Topic topic = Topic::kEvents) const {
    return options.subject_prefix + room_id + (topic == Topic::kEvents ? ".events" : ".created");
  }
  bool next_of(const std::string& subject, std::uint64_t from, bool with_data,
               std::optional<Entry>& next, std::string& error);
  std::string room_of(const std::string& subject) const { return room_of(subject.c_str()); }
  std::string room_of(const char* subject) const {
    std::string room(subject ? subject : "");
    if (room.rfind(options.subject_prefix, 0) != 0) return {};
    room.erase(0, options.subject_prefix.size());
    const auto dot = room.rfind('.');
    return dot == std::string::npos ? room : room.substr(0, dot);
  }
  jsOptions call_options() const {
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.Wait = cluster.options().wait.count();
    return js_options;
  }

  // Creates the stream once the cluster answers (idempotent on the server).
  bool ensure_stream(std::string& error) {
    std::lock_guard lock(stream_mutex);
    if (stream_ready) return true;
    if (!cluster.ensure_stream(options.stream, options.subject_prefix + "*.*",
                               options.duplicate_window, error)) {
      return false;
    }
    stream_ready = true;
    return true;
  }
};

JetStreamLogOptions JetStreamLogOptions::for_namespace(const std::string& ns) {
  std::string stream = ns + "_EVENTS";
  for (auto& c : stream) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return {.stream = stream,
          .subject_prefix = ns + ".room.",
          .duplicate_window = std::chrono::seconds(120)};
}

JetStreamLogOptions JetStreamLogOptions::audit_for_namespace(const std::string& ns) {
  auto options = for_namespace(ns);
  options.stream.replace(options.stream.size() - std::string("_EVENTS").size(), std::string::npos,
                         "_AUDIT");
  options.subject_prefix = ns + ".audit.";
  return options;
}

JetStreamLog::JetStreamLog(NatsCluster& cluster, JetStreamLogOptions options)
    : impl_(std::make_unique<Impl>(cluster, std::move(options))) {
  std::string ignored;
  if (cluster.connected()) impl_->ensure_stream(ignored);
  jsOptions js_options = impl_->call_options();
  js_options.PublishAsync.AckHandler = &Impl::on_ack;
  js_options.PublishAsync.AckHandlerClosure = impl_.get();
  // Appends in flight before a new one waits (at most StallWait, then fails).
  js_options.PublishAsync.MaxPending = 16384;
  js_options.PublishAsync.StallWait = 1000;
  natsConnection_JetStream(&impl_->async_js, cluster.connection(), &js_options);
}

JetStreamLog::~JetStreamLog() = default;

JetStreamLog::Appended JetStreamLog::append(const std::string& room_id, const std::string& data,
                                            std::uint64_t after_sequence,
                                            const std::string& message_id) {
  Appended result;
  if (!impl_->cluster.connected()) {
    // Fail at once rather than wait out the ack for a buffered publish.
    result.error = "not connected to NATS";
    return result;
  }
  if (!impl_->ensure_stream(result.error)) return result;
  return impl_->cluster.publish_if_last(impl_->subject_of(room_id), data, after_sequence,
                                        message_id);
}

void JetStreamLog::append_async(const std::string& room_id, Topic topic, std::string data,
                                std::optional<std::uint64_t> after_sequence,
                                const std::string& message_id,
                                std::function<void(const Appended&)> done) {
  Appended refused;
  if (impl_->gate.closed()) {
    refused.error = "the room log is closed";
    return done(refused);
  }
  if (!impl_->cluster.connected()) {
    // Fail at once rather than wait out the ack for a buffered publish.
    refused.error = "not connected to NATS";
    return done(refused);
  }
  if (!impl_->ensure_stream(refused.error)) return done(refused);
  const std::string subject = impl_->subject_of(room_id, topic);
  natsMsg* message = nullptr;
  natsMsg_Create(&message, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (after_sequence) {
    natsMsgHeader_Set(message, NatsCluster::kExpectedLastSubjectSequence,
                      std::to_string(*after_sequence).c_str());
  }
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  publish.MaxWait = impl_->cluster.options().wait.count();
  if (!message_id.empty()) publish.MsgId = message_id.c_str();
  natsMsg* key = message;
  {
    std::lock_guard lock(impl_->pending_mutex);
    impl_->pending.emplace(key, done);
  }
  const natsStatus status = js_PublishMsgAsync(impl_->async_js, &message, &publish);
  if (status == NATS_OK) return;
  {
    std::lock_guard lock(impl_->pending_mutex);
    impl_->pending.erase(key);
  }
  natsMsg_Destroy(message);
  refused.error = describe_nats_error(status, 0);
  done(refused);
}

bool JetStreamLog::ready(std::string& error) {
  if (!impl_->cluster.connected()) {
    error = "not connected to NATS";
    return false;
  }
  return impl_->ensure_stream(error) && stream_last_sequence().answered;
}

void JetStreamLog::flush() {
  impl_->flush();
}

void JetStreamLog::close() {
  impl_->close();
}

bool JetStreamLog::follow(std::function<void(const Entry&)> handler, std::string& error) {
  if (!impl_->cluster.connected()) {
    error = "not connected to NATS";
    return false;
  }
  if (!impl_->ensure_stream(error)) return false;
  impl_->follower = std::move(handler);
  const std::string subjects = impl_->options.subject_prefix + "*.*";
  jsOptions js_options = impl_->call_options();
  jsSubOptions subscription;
  jsSubOptions_Init(&subscription);
  subscription.Stream = impl_->options.stream.c_str();
  // An ordered consumer: in stream order, no acks, re-created by the client
  // library from where it was when a node goes.
  subscription.Ordered = true;
  subscription.Config.DeliverPolicy = js_DeliverAll;
  subscription.Config.Heartbeat =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::seconds(1)).count();
  jsErrCode code = jsErrCode(0);
  const natsStatus status =
      js_Subscribe(&impl_->following, impl_->cluster.jetstream(), subjects.c_str(), &Impl::on_entry,
                   impl_.get(), &js_options, &subscription, &code);
  if (status != NATS_OK) {
    error = "follow " + impl_->options.stream + ": " + describe_nats_error(status, code);
    impl_->following = nullptr;
    return false;
  }
  // A busy room log must not be dropped as a slow consumer.
  natsSubscription_SetPendingLimits(impl_->following, -1, -1);
  return true;
}

void JetStreamLog::stop_following() {
  impl_->stop_following();
}

Lookup<std::uint64_t> JetStreamLog::stream_last_sequence() {
  return impl_->read_stream_info<std::uint64_t>(
      [](const jsStreamInfo& info) { return info.State.LastSeq; });
}

Lookup<std::uint64_t> JetStreamLog::stream_entry_count() {
  return impl_->read_stream_info<std::uint64_t>(
      [](const jsStreamInfo& info) { return info.State.Msgs; });
}

namespace {

// Whether a failed get means "no such message" (an answer) rather than no
// answer at all.
bool not_found(natsStatus status, jsErrCode code) {
  return status == NATS_NOT_FOUND || code == JSNoMessageFoundErr;
}

}  // namespace

// The first entry of `subject` at or after stream sequence `from`, as the
// stream's leader has it (its data too when `with_data`): nullopt when there
// is none; false with `error` when the cluster did not answer.
bool JetStreamLog::Impl::next_of(const std::string& subject, std::uint64_t from, bool with_data,
                                 std::optional<Entry>& next, std::string& error) {
  const std::string api = "$JS.API.STREAM.MSG.GET." + options.stream;
  const std::string request = nlohmann::json{{"seq", from}, {"next_by_subj", subject}}.dump();
  natsMsg* raw = nullptr;
  const natsStatus asked =
      natsConnection_Request(&raw, cluster.connection(), api.c_str(), request.data(),
                             static_cast<int>(request.size()), cluster.options().wait.count());
  if (asked != NATS_OK) {
    error = "find " + subject + " entries: " + describe_nats_error(asked, 0);
    return false;
  }
  Msg reply(raw);
  const auto answer = nlohmann::json::parse(
      std::string(natsMsg_GetData(reply.get()),
                  static_cast<std::size_t>(natsMsg_GetDataLength(reply.get()))),
      nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    error = "find " + subject + " entries: an unreadable answer";
    return false;
  }
  if (answer.contains("error")) {
    next.reset();
    if (answer["error"].value("code", 0) == 404) return true;  // none left
    error = "find " + subject + " entries: " + answer["error"].value("description", "error");
    return false;
  }
  const auto& message = answer.contains("message") ? answer["message"] : nlohmann::json::object();
  const std::uint64_t sequence = message.is_object() ? message.value("seq", std::uint64_t{0}) : 0;
  if (sequence == 0) {
    error = "find " + subject + " entries: an answer without a message";
    return false;
  }
  next = Entry{.sequence = sequence, .pending = 0, .room_id = room_of(subject), .data = {}};
  if (with_data) {
    // JetStream's direct-less get answers the data in base64.
    const auto encoded = message.value("data", std::string());
    std::string decoded;
    if (!decode_base64(encoded, decoded)) {
      error = "find " + subject + " entries: unreadable data";
      return false;
    }
    next->data = std::move(decoded);
  }
  return true;
}

Lookup<std::vector<JetStreamLog::Entry>> JetStreamLog::read_room(const std::string& room_id,
                                                                 std::uint64_t after,
                                                                 std::uint64_t through) {
  const std::string subject = impl_->subject_of(room_id);
  std::vector<Entry> entries;
  for (std::uint64_t from = after + 1;;) {
    std::optional<Entry> next;
    std::string error;
    if (!impl_->next_of(subject, from, /*with_data=*/true, next, error)) return {};
    if (!next || next->sequence > through) return {.answered = true, .value = std::move(entries)};
    from = next->sequence + 1;
    entries.push_back(std::move(*next));
  }
}

bool JetStreamLog::purge_room(const std::string& room_id, std::uint64_t through,
                              std::string& error) {
  // One entry at a time, not a purge by subject: nats-server before 2.10.11
  // (Debian 12 has 2.9.10) moves every consumer of the stream past a
  // subject purge, so a follower behind it would skip other rooms' entries.
  // Erasing a message leaves consumers alone, and overwrites its bytes.
  const std::string subject = impl_->subject_of(room_id);
  for (std::uint64_t from = 1;;) {
    std::optional<Entry> next;
    if (!impl_->next_of(subject, from, /*with_data=*/false, next, error)) return false;
    if (!next || next->sequence > through) return true;
    const std::uint64_t sequence = next->sequence;
    jsOptions js_options = impl_->call_options();
    jsErrCode code = jsErrCode(0);
    const natsStatus erased =
        js_EraseMsg(impl_->js(), impl_->options.stream.c_str(), sequence, &js_options, &code);
    if (erased != NATS_OK && !not_found(erased, code)) {
      error = "erase " + subject + " entry " + std::to_string(sequence) + ": " +
              describe_nats_error(erased, code);
      return false;
    }
    from = sequence + 1;
  }
}

Lookup<JetStreamLog::Entry> JetStreamLog::read(std::uint64_t sequence) {
  natsMsg* raw = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  const natsStatus status =
      js_GetMsg(&raw, impl_->js(), impl_->options.stream.c_str(), sequence, &js_options, &code);
  if (status != NATS_OK) return {.answered = not_found(status, code), .value = std::nullopt};
  Msg message(raw);
  return {.answered = true,
          .value = Entry{
              .sequence = sequence,
              .room_id = impl_->room_of(natsMsg_GetSubject(message.get())),
              .data = std::string(natsMsg_GetData(message.get()),
                                  static_cast<std::size_t>(natsMsg_GetDataLength(message.get())))}};
}

Lookup<std::uint64_t> JetStreamLog::last_sequence(const std::string& room_id) {
  natsMsg* raw = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  const std::string subject = impl_->subject_of(room_id);
  const natsStatus status = js_GetLastMsg(&raw, impl_->js(), impl_->options.stream.c_str(),
                                          subject.c_str(), &js_options, &code);
  if (status != NATS_OK) {
    if (not_found(status, code)) return {.answered = true, .value = 0};
    return {};
  }
  Msg message(raw);
  return {.answered = true, .value = natsMsg_GetSequence(message.get())};
}

std::string JetStreamLog::stream_leader() {
  return impl_
      ->read_stream_info<std::string>([](const jsStreamInfo& info) {
        return std::string(info.Cluster && info.Cluster->Leader ? info.Cluster->Leader : "");
      })
      .value.value_or("");
}

}  // namespace circle::cluster
