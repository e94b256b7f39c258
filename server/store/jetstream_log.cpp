#include "store/jetstream_log.hpp"

#include <nats/nats.h>

#include <mutex>
#include <stdexcept>

namespace circle::server::store {
namespace {

struct MsgDeleter {
  void operator()(natsMsg* message) const { natsMsg_Destroy(message); }
};
using Msg = std::unique_ptr<natsMsg, MsgDeleter>;

}  // namespace

struct JetStreamLog::Impl {
  Impl(NatsCluster& cluster, JetStreamLogOptions options)
      : cluster(cluster), options(std::move(options)) {}
  NatsCluster& cluster;
  JetStreamLogOptions options;
  std::mutex stream_mutex;
  bool stream_ready = false;  // guarded by stream_mutex

  jsCtx* js() const { return cluster.jetstream(); }
  std::string subject_of(const std::string& room_id) const {
    return options.subject_prefix + room_id + ".events";
  }
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
    const std::string subjects = options.subject_prefix + "*.events";
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = options.stream.c_str();
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = cluster.options().replicas;
    config.Duplicates =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options.duplicate_window).count();
    jsOptions js_options = call_options();
    jsStreamInfo* info = nullptr;
    jsErrCode code = jsErrCode(0);
    const natsStatus status = js_AddStream(&info, js(), &config, &js_options, &code);
    jsStreamInfo_Destroy(info);
    if (status != NATS_OK && code != JSStreamNameExistErr) {
      error = "stream " + options.stream + ": " + describe_nats_error(status, code);
      return false;
    }
    stream_ready = true;
    return true;
  }
};

JetStreamLog::JetStreamLog(NatsCluster& cluster, JetStreamLogOptions options)
    : impl_(std::make_unique<Impl>(cluster, std::move(options))) {
  std::string ignored;
  if (cluster.connected()) impl_->ensure_stream(ignored);
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

namespace {

// Whether a failed get means "no such message" (an answer) rather than no
// answer at all.
bool not_found(natsStatus status, jsErrCode code) {
  return status == NATS_NOT_FOUND || code == JSNoMessageFoundErr;
}

}  // namespace

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
  jsStreamInfo* info = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  if (js_GetStreamInfo(&info, impl_->js(), impl_->options.stream.c_str(), &js_options, &code) !=
      NATS_OK) {
    return {};
  }
  std::string leader = info->Cluster && info->Cluster->Leader ? info->Cluster->Leader : "";
  jsStreamInfo_Destroy(info);
  return leader;
}

}  // namespace circle::server::store
