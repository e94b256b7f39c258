#include "store/jetstream_log.hpp"

#include <nats/nats.h>

#include <mutex>
#include <stdexcept>

namespace circle::server::store {
namespace {

// The server checks this header against the subject's last stream sequence;
// the C client leaves the check out for 0 ("no event yet"), so it is set here.
constexpr const char* kExpectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence";

std::string describe(natsStatus status, jsErrCode code) {
  std::string text = natsStatus_GetText(status);
  if (code != 0) text += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  return text;
}

struct MsgDeleter {
  void operator()(natsMsg* message) const { natsMsg_Destroy(message); }
};
using Msg = std::unique_ptr<natsMsg, MsgDeleter>;

}  // namespace

struct JetStreamLog::Impl {
  JetStreamOptions options;
  natsOptions* nats_options = nullptr;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::mutex stream_mutex;
  bool stream_ready = false;  // guarded by stream_mutex

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
    js_options.Wait = options.wait.count();
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
    config.Replicas = options.replicas;
    config.Duplicates =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options.duplicate_window).count();
    jsOptions js_options = call_options();
    jsStreamInfo* info = nullptr;
    jsErrCode code = jsErrCode(0);
    const natsStatus status = js_AddStream(&info, js, &config, &js_options, &code);
    jsStreamInfo_Destroy(info);
    if (status != NATS_OK && code != JSStreamNameExistErr) {
      error = "stream " + options.stream + ": " + describe(status, code);
      return false;
    }
    stream_ready = true;
    return true;
  }
};

JetStreamLog::JetStreamLog(JetStreamOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.urls.empty()) throw std::invalid_argument("no NATS URL given");
  std::vector<const char*> servers;
  for (const auto& url : impl_->options.urls) servers.push_back(url.c_str());
  natsOptions_Create(&impl_->nats_options);
  natsOptions_SetServers(impl_->nats_options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(impl_->nats_options, "circled");
  natsOptions_SetTimeout(impl_->nats_options, impl_->options.wait.count());
  // Reconnect forever, to any node: the cluster outlives each of its nodes.
  natsOptions_SetMaxReconnect(impl_->nats_options, -1);
  natsOptions_SetReconnectWait(impl_->nats_options, 250);
  natsOptions_SetRetryOnFailedConnect(impl_->nats_options, true, nullptr, nullptr);
  const natsStatus status = natsConnection_Connect(&impl_->connection, impl_->nats_options);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
    natsOptions_Destroy(impl_->nats_options);
    throw std::runtime_error("cannot connect to NATS: " + describe(status, jsErrCode(0)));
  }
  jsOptions js_options = impl_->call_options();
  natsConnection_JetStream(&impl_->js, impl_->connection, &js_options);
  std::string ignored;
  if (connected()) impl_->ensure_stream(ignored);
}

JetStreamLog::~JetStreamLog() {
  jsCtx_Destroy(impl_->js);
  natsConnection_Destroy(impl_->connection);
  natsOptions_Destroy(impl_->nats_options);
}

bool JetStreamLog::connected() const {
  return natsConnection_Status(impl_->connection) == NATS_CONN_STATUS_CONNECTED;
}

JetStreamLog::Appended JetStreamLog::append(const std::string& room_id, const std::string& data,
                                            std::uint64_t after_sequence,
                                            const std::string& message_id) {
  Appended result;
  if (!impl_->ensure_stream(result.error)) return result;
  const std::string subject = impl_->subject_of(room_id);
  natsMsg* raw = nullptr;
  natsMsg_Create(&raw, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  Msg message(raw);
  natsMsgHeader_Set(message.get(), kExpectedLastSubjectSequence,
                    std::to_string(after_sequence).c_str());
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  publish.MaxWait = impl_->options.wait.count();
  if (!message_id.empty()) publish.MsgId = message_id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode code = jsErrCode(0);
  const natsStatus status = js_PublishMsg(&ack, impl_->js, message.get(), &publish, &code);
  if (status == NATS_OK) {
    result.outcome = ack->Duplicate ? Outcome::kDuplicate : Outcome::kStored;
    result.sequence = ack->Sequence;
    jsPubAck_Destroy(ack);
    return result;
  }
  result.outcome =
      code == JSStreamWrongLastSequenceErr ? Outcome::kConflict : Outcome::kUnavailable;
  result.error = describe(status, code);
  return result;
}

std::optional<JetStreamLog::Entry> JetStreamLog::read(std::uint64_t sequence) {
  natsMsg* raw = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  if (js_GetMsg(&raw, impl_->js, impl_->options.stream.c_str(), sequence, &js_options, &code) !=
      NATS_OK) {
    return std::nullopt;
  }
  Msg message(raw);
  return Entry{
      .sequence = sequence,
      .room_id = impl_->room_of(natsMsg_GetSubject(message.get())),
      .data = std::string(natsMsg_GetData(message.get()),
                          static_cast<std::size_t>(natsMsg_GetDataLength(message.get())))};
}

std::uint64_t JetStreamLog::last_sequence(const std::string& room_id) {
  natsMsg* raw = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  const std::string subject = impl_->subject_of(room_id);
  if (js_GetLastMsg(&raw, impl_->js, impl_->options.stream.c_str(), subject.c_str(), &js_options,
                    &code) != NATS_OK) {
    return 0;
  }
  Msg message(raw);
  return natsMsg_GetSequence(message.get());
}

std::string JetStreamLog::stream_leader() {
  jsStreamInfo* info = nullptr;
  jsOptions js_options = impl_->call_options();
  jsErrCode code = jsErrCode(0);
  if (js_GetStreamInfo(&info, impl_->js, impl_->options.stream.c_str(), &js_options, &code) !=
      NATS_OK) {
    return {};
  }
  std::string leader = info->Cluster && info->Cluster->Leader ? info->Cluster->Leader : "";
  jsStreamInfo_Destroy(info);
  return leader;
}

}  // namespace circle::server::store
