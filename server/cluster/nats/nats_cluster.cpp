#include "cluster/nats/nats_cluster.hpp"

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "cluster/nats/callback_gate.hpp"

namespace circle::cluster {

struct NatsCluster::Connection {
  natsOptions* options = nullptr;
  natsConnection* connection = nullptr;
  // Signalled when the link comes up (the first time, and after each reconnect).
  std::mutex mutex;
  std::condition_variable came_up;
  std::atomic<std::uint64_t> links{0};  // how many times the link came up
  static void on_up(natsConnection*, void* closure) {
    auto* self = static_cast<Connection*>(closure);
    {
      std::lock_guard lock(self->mutex);
      ++self->links;
    }
    self->came_up.notify_all();
  }
  ~Connection() {
    natsConnection_Destroy(connection);
    natsOptions_Destroy(options);
  }
};

struct NatsCluster::Subscription {
  Handler handler;
  natsSubscription* subscription = nullptr;
  CallbackGate gate;
  static void on_message(natsConnection*, natsSubscription*, natsMsg* message, void* closure) {
    auto* self = static_cast<Subscription*>(closure);
    if (const auto pass = self->gate.enter()) {
      self->handler(natsMsg_GetSubject(message),
                    std::string(natsMsg_GetData(message),
                                static_cast<std::size_t>(natsMsg_GetDataLength(message))));
    }
    natsMsg_Destroy(message);
  }
  static void destroy(Subscription* self) {
    if (self->subscription) natsSubscription_Unsubscribe(self->subscription);
    self->gate.close();
    natsSubscription_Destroy(self->subscription);
    delete self;
  }
};

std::string describe_nats_error(int status, int jetstream_code) {
  std::string text = natsStatus_GetText(static_cast<natsStatus>(status));
  if (jetstream_code != 0) text += " (JetStream error " + std::to_string(jetstream_code) + ")";
  return text;
}

NatsCluster::NatsCluster(NatsClusterOptions options)
    : options_(std::move(options)), connection_(std::make_unique<Connection>()) {
  if (options_.urls.empty()) throw std::invalid_argument("no NATS URL given");
  std::vector<const char*> servers;
  for (const auto& url : options_.urls) servers.push_back(url.c_str());
  auto* nats_options = &connection_->options;
  natsOptions_Create(nats_options);
  natsOptions_SetServers(*nats_options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(*nats_options, "circled");
  natsOptions_SetTimeout(*nats_options, options_.wait.count());
  // Reconnect forever, to any node: the cluster outlives each of its nodes.
  natsOptions_SetMaxReconnect(*nats_options, -1);
  natsOptions_SetReconnectWait(*nats_options, 250);
  // Notice a node that vanished without a reset within seconds, not minutes.
  natsOptions_SetPingInterval(*nats_options, options_.ping_interval.count());
  natsOptions_SetMaxPingsOut(*nats_options, 2);
  // With a connected handler, connecting returns at once when no node
  // answers yet (NATS_NOT_YET_CONNECTED) and goes on trying in the
  // background; without one it would block until a node answers.
  natsOptions_SetRetryOnFailedConnect(*nats_options, true, &Connection::on_up, connection_.get());
  natsOptions_SetReconnectedCB(*nats_options, &Connection::on_up, connection_.get());
  const natsStatus status = natsConnection_Connect(&connection_->connection, *nats_options);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
    throw std::runtime_error("cannot connect to NATS: " + describe_nats_error(status, 0));
  }
  if (status == NATS_OK) ++connection_->links;
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options_.wait.count();
  natsConnection_JetStream(&js_, connection_->connection, &js_options);
}

NatsCluster::~NatsCluster() {
  jsCtx_Destroy(js_);
}

std::uint64_t NatsCluster::links() const {
  return connection_->links;
}

bool NatsCluster::wait_connected(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(connection_->mutex);
  return connection_->came_up.wait_for(lock, timeout, [this] { return connected(); });
}

natsConnection* NatsCluster::connection() const {
  return connection_->connection;
}

bool NatsCluster::ensure_stream(const std::string& name, const std::string& subjects,
                                std::chrono::seconds duplicate_window, std::string& error) {
  const char* subject_list[] = {subjects.c_str()};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = name.c_str();
  config.Subjects = subject_list;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Replicas = options_.replicas;
  config.Duplicates =
      std::chrono::duration_cast<std::chrono::nanoseconds>(duplicate_window).count();
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options_.wait.count();
  jsStreamInfo* info = nullptr;
  jsErrCode code = jsErrCode(0);
  natsStatus status = js_AddStream(&info, js_, &config, &js_options, &code);
  jsStreamInfo_Destroy(info);
  info = nullptr;
  if (status != NATS_OK && code == JSStreamNameExistErr) {
    // Made by an earlier version with other settings (subjects, window):
    // brought up to these.
    code = jsErrCode(0);
    status = js_UpdateStream(&info, js_, &config, &js_options, &code);
    jsStreamInfo_Destroy(info);
  }
  if (status != NATS_OK) {
    error = "stream " + name + ": " + describe_nats_error(status, code);
    return false;
  }
  return true;
}

bool NatsCluster::delete_stream(const std::string& name) {
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = options_.wait.count();
  jsErrCode code = jsErrCode(0);
  const natsStatus status = js_DeleteStream(js_, name.c_str(), &js_options, &code);
  return status == NATS_OK || status == NATS_NOT_FOUND || code == JSStreamNotFoundErr;
}

bool NatsCluster::connected() const {
  return natsConnection_Status(connection_->connection) == NATS_CONN_STATUS_CONNECTED;
}

std::string NatsCluster::connected_url() const {
  char url[256] = {0};
  if (natsConnection_GetConnectedUrl(connection_->connection, url, sizeof url) != NATS_OK)
    return {};
  return url;
}

bool NatsCluster::publish(const std::string& subject, const std::string& data) {
  if (!connected()) return false;
  return natsConnection_Publish(connection_->connection, subject.c_str(), data.data(),
                                static_cast<int>(data.size())) == NATS_OK;
}

std::unique_ptr<NatsCluster::Subscription, void (*)(NatsCluster::Subscription*)>
NatsCluster::subscribe(const std::string& subject, Handler handler) {
  std::unique_ptr<Subscription, void (*)(Subscription*)> result(new Subscription,
                                                                &Subscription::destroy);
  result->handler = std::move(handler);
  if (natsConnection_Subscribe(&result->subscription, connection_->connection, subject.c_str(),
                               &Subscription::on_message, result.get()) != NATS_OK) {
    result->subscription = nullptr;
    return {nullptr, &Subscription::destroy};
  }
  return result;
}

NatsCluster::Published NatsCluster::publish_if_last(const std::string& subject,
                                                    const std::string& data,
                                                    std::uint64_t expected_last,
                                                    const std::string& message_id) {
  // Set by hand so that 0 ("no message yet") is checked too.
  Published result;
  natsMsg* message = nullptr;
  natsMsg_Create(&message, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  natsMsgHeader_Set(message, kExpectedLastSubjectSequence, std::to_string(expected_last).c_str());
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  publish.MaxWait = options_.wait.count();
  if (!message_id.empty()) publish.MsgId = message_id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode code = jsErrCode(0);
  const natsStatus status = js_PublishMsg(&ack, js_, message, &publish, &code);
  natsMsg_Destroy(message);
  if (status == NATS_OK) {
    result.outcome = ack->Duplicate ? Published::Outcome::kDuplicate : Published::Outcome::kStored;
    result.sequence = ack->Sequence;
    jsPubAck_Destroy(ack);
    return result;
  }
  // Only "wrong last sequence" is the check refusing; anything else is the
  // cluster not answering.
  result.outcome = code == JSStreamWrongLastSequenceErr ? Published::Outcome::kConflict
                                                        : Published::Outcome::kUnavailable;
  result.error = describe_nats_error(status, code);
  return result;
}

}  // namespace circle::cluster
