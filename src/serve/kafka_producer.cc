#include "serve/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "nudge/log.h"
#include "serve/kafka_client.h"

namespace nudge::serve {
namespace {

constexpr int kPollMs = 50;  // the delivery-report thread's wait

// One produce() call: answered when its last message is reported, with the first error.
struct Batch {
  std::atomic<size_t> remaining;
  std::mutex mutex;
  Status first_error;  // guarded by mutex
  std::function<void(const Status&)> done;
  Batch(size_t n, std::function<void(const Status&)> d) : remaining(n), done(std::move(d)) {}

  void report(const Status& s) {
    if (!s.is_ok()) {
      std::lock_guard lock(mutex);
      if (first_error.is_ok()) first_error = s;
    }
    if (remaining.fetch_sub(1) != 1) return;
    Status result;
    {
      std::lock_guard lock(mutex);
      result = first_error;
    }
    try {
      done(result);
    } catch (const std::exception& e) {  // a callback on the delivery thread: its boundary
      spdlog::error("kafka: producer: answering a batch: {}", e.what());
    }
  }
};

std::string payload_of(const std::vector<const Event*>& events) {
  nlohmann::json list = nlohmann::json::array();
  for (const Event* e : events)
    list.push_back(
        {{"user", e->user}, {"item", e->item}, {"type", e->type}, {"value", e->value}, {"timestamp", e->timestamp}});
  return nlohmann::json{{"events", std::move(list)}}.dump();
}

}  // namespace

int32_t kafka_partition_of(std::string_view key, int32_t partitions) {
  if (partitions <= 0) return 0;
  // librdkafka's own Java-compatible partitioner; it reads neither the topic nor the opaques.
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
}

struct KafkaProducer::Impl {
  std::string where;  // kafka_place(), for errors
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  int32_t partitions = 0;
  int delivery_timeout_ms = 10000;
  std::atomic<bool> stopping{false};
  std::thread poller;  // serves the delivery reports

  ~Impl() {
    stopping.store(true);
    if (poller.joinable()) poller.join();
    if (rk) {
      rd_kafka_flush(rk, delivery_timeout_ms);
      if (rkt) rd_kafka_topic_destroy(rkt);
      rd_kafka_destroy(rk);
    }
  }
};

namespace {

void delivery_callback(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* batch = static_cast<std::shared_ptr<Batch>*>(m->_private);
  if (!batch) return;
  const auto* impl = static_cast<const KafkaProducer::Impl*>(opaque);
  // A message that never left is not stored; one sent but not confirmed in time may still be
  // (the broker may have written it): the answer says which, so a client knows if a retry
  // could store the events twice.
  Status s;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const std::string why = rd_kafka_err2str(m->err);
    s = rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED
            ? Status::io_error(impl->where + ": not delivered (" + why + "): nothing was stored, a retry is safe")
            : Status::deadline_exceeded(impl->where + ": delivery not confirmed (" + why +
                                        "): the events may still be stored; look before retrying");
  }
  (*batch)->report(s);
  delete batch;
}

}  // namespace

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() = default;

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::start(const KafkaOptions& options, int delivery_timeout_ms) {
  if (options.brokers.empty()) return Status::invalid_field("kafka.brokers", "no brokers given");
  if (options.topic.empty()) return Status::invalid_field("kafka.topic", "no topic given");
  auto impl = std::make_unique<Impl>();
  impl->where = kafka_place(options.brokers, options.topic);
  impl->delivery_timeout_ms = delivery_timeout_ms;

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> owned_conf(conf, rd_kafka_conf_destroy);
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "nudge-api"},
      {"acks", "all"},
      {"enable.idempotence", "true"},  // a retried send is stored once
      {"partitioner", "murmur2"},      // as kafka_partition_of and Java producers
      {"linger.ms", "1"},              // an event is seen by its owner within milliseconds
      {"message.timeout.ms", std::to_string(delivery_timeout_ms)},
      {"allow.auto.create.topics", "false"},
  };
  // The consumer's group settings mean nothing to a producer; the rest (security) applies.
  for (const auto& [key, value] : options.properties)
    if (!key.starts_with("group.") && !key.starts_with("session.") && !key.starts_with("heartbeat.") &&
        !key.starts_with("fetch.") && !key.starts_with("auto.") && !key.starts_with("enable.auto") &&
        !key.starts_with("partition.assignment"))
      settings.emplace_back(key, value);
  NUDGE_RETURN_IF_ERROR(apply_kafka_settings(conf, settings));
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_dr_msg_cb(conf, delivery_callback);
  rd_kafka_conf_set_log_cb(conf, kafka_log_callback);
  char why[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (!impl->rk) return Status::invalid_argument(std::string("kafka: ") + why);
  (void)owned_conf.release();  // rd_kafka_new took it

  std::vector<int32_t> ids;
  NUDGE_RETURN_IF_ERROR(check_kafka_topic(impl->rk, options.brokers, options.topic, options.startup_timeout_ms, &ids));
  impl->partitions = static_cast<int32_t>(ids.size());
  impl->rkt = rd_kafka_topic_new(impl->rk, options.topic.c_str(), nullptr);
  if (!impl->rkt) return Status::io_error(impl->where + ": " + rd_kafka_err2str(rd_kafka_last_error()));
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stopping.load()) rd_kafka_poll(raw->rk, kPollMs);  // callbacks catch their own errors
  });
  spdlog::info("kafka: POST /v1/events produces to {} ({} partitions)", options.topic, impl->partitions);
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

int32_t KafkaProducer::partitions() const { return impl_->partitions; }

void KafkaProducer::produce(std::vector<Event> events, std::function<void(const Status&)> done) {
  // One message per user, in the order given: a user's events stay in order in its partition.
  std::map<std::string_view, std::vector<const Event*>> by_user;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (Event& e : events) {
    if (e.timestamp == 0) e.timestamp = now;  // the acceptance time, the same on every replica
    by_user[e.user].push_back(&e);
  }
  if (by_user.empty()) return done(Status::ok());
  auto batch = std::make_shared<Batch>(by_user.size(), std::move(done));
  for (const auto& [user, list] : by_user) {
    const std::string payload = payload_of(list);
    auto* opaque = new std::shared_ptr<Batch>(batch);
    const int rc =
        rd_kafka_produce(impl_->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(payload.data()),
                         payload.size(), user.data(), user.size(), opaque);
    if (rc != 0) {
      delete opaque;
      batch->report(Status::io_error(impl_->where + ": cannot produce: " + rd_kafka_err2str(rd_kafka_last_error())));
    }
  }
}

}  // namespace nudge::serve
