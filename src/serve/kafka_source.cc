#include "serve/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "nudge/log.h"
#include "serve/event_json.h"
#include "serve/kafka_client.h"
#include "serve/kafka_producer.h"

namespace nudge::serve {
namespace {

constexpr int kPollMs = 100;                // the first message of a batch is waited for this long
constexpr int kRetryAfterFailureMs = 1000;  // after a store failure, before consuming again
constexpr uint64_t kLoggedBadInFull = 20;   // refused messages logged one by one
constexpr uint64_t kLogEveryBad = 1000;     // after those, one log line per this many

using Clock = std::chrono::steady_clock;

// Owns an rd_kafka_t, closing the consumer before destroying it.
struct Handle {
  rd_kafka_t* rk = nullptr;
  ~Handle() {
    if (!rk) return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

struct PartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit PartitionList(int size) : list(rd_kafka_topic_partition_list_new(size)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
};

// One message's share of a batch: where it came from and the events it carried (none when
// it was refused).
struct Parsed {
  int32_t partition;
  int64_t offset;
  std::vector<Event> events;
};

}  // namespace

std::string kafka_stream_name(const std::string& topic, int32_t partition) {
  return "kafka:" + topic + ":" + std::to_string(partition);
}

struct KafkaSource::Impl {
  Engine& engine;
  KafkaOptions options;
  std::thread consumer;
  std::atomic<bool> stopping{false};

  // Next offset per assigned partition; touched only on the consumer thread (the rebalance
  // callback runs inside rd_kafka_consumer_poll there).
  std::map<int32_t, int64_t> positions;

  std::atomic<uint64_t> messages{0}, events{0}, bad_messages{0}, duplicates{0}, store_failures{0}, commit_failures{0},
      misplaced{0};
  std::atomic<bool> connected{false};
  mutable std::mutex partitions_mutex;
  std::vector<int32_t> assigned;  // guarded by partitions_mutex
  int32_t partition_count = 0;    // the topic's, read at start
  // Last, so it is closed first: closing runs the rebalance callback, which uses the members above.
  Handle handle;

  Impl(Engine& e, KafkaOptions o) : engine(e), options(std::move(o)) {}

  void run();
  void consume_batch();
  void store(std::vector<Parsed>& batch);
  Status write(std::vector<Event> batch_events, std::vector<StreamPosition> batch_positions);
  void rewind(const std::vector<Parsed>& batch);
  void commit(const std::map<int32_t, int64_t>& next);
  void refuse(int32_t partition, int64_t offset, const Status& why);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void publish_assignment();
};

void KafkaSource::Impl::run() {
  while (!stopping.load()) {
    // The thread's boundary: a failure here is logged and the loop goes on.
    try {
      consume_batch();
    } catch (const std::exception& e) {
      spdlog::error("kafka: consumer: {}", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryAfterFailureMs));
    }
  }
}

void KafkaSource::Impl::refuse(int32_t partition, int64_t offset, const Status& why) {
  // The first ones in full, then one in kLogEveryBad: a broken producer must not flood the log.
  const uint64_t n = bad_messages.fetch_add(1) + 1;
  if (n <= kLoggedBadInFull || n % kLogEveryBad == 0)
    spdlog::warn("kafka: {}/{}@{}: message refused ({} so far): {}", options.topic, partition, offset, n,
                 why.to_string());
}

void KafkaSource::Impl::consume_batch() {
  std::vector<Parsed> batch;
  int wait_ms = kPollMs;
  while (batch.size() < options.max_batch_messages && !stopping.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(handle.rk, wait_ms);
    if (!m) break;
    wait_ms = 0;  // take what has arrived, then write
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> owned(m, rd_kafka_message_destroy);
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("kafka: {}: {}", options.topic, rd_kafka_message_errstr(m));
      continue;
    }
    connected.store(true);
    auto at = positions.find(m->partition);
    if (at != positions.end() && m->offset < at->second) {
      duplicates.fetch_add(1);
      continue;
    }
    Parsed p{m->partition, m->offset, {}};
    const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
    auto parsed = parse_events(payload, options.max_events_per_message);
    Status valid = parsed.is_ok() ? Engine::validate(parsed.value()) : parsed.status();
    // The key places the message in a partition, and the partition's owner serves the key's
    // user: an event for another user would land on a replica that does not own that user.
    const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
    if (valid.is_ok() && !key.empty())
      for (size_t k = 0; k < parsed.value().size() && valid.is_ok(); ++k)
        if (parsed.value()[k].user != key)
          valid = Status::invalid_field("events[" + std::to_string(k) + "].user",
                                        "is not the message key; key each message by its events' user");
    if (valid.is_ok()) p.events = std::move(parsed.value());
    else refuse(m->partition, m->offset, valid);
    // Routing (OwnerRouter) finds a user's partition with the Java client's default hash; a
    // producer partitioning otherwise is stored all the same but reached only by chance.
    if (!key.empty() && partition_count > 0 && kafka_partition_of(key, partition_count) != m->partition) {
      const uint64_t n = misplaced.fetch_add(1) + 1;
      if (n <= kLoggedBadInFull || n % kLogEveryBad == 0)
        spdlog::warn(
            "kafka: {}/{}@{}: key '{}' belongs in partition {} by the murmur2 hash ({} so far): have the "
            "producers use Kafka's default partitioner",
            options.topic, m->partition, m->offset, key.substr(0, 64), kafka_partition_of(key, partition_count), n);
    }
    batch.push_back(std::move(p));
  }
  if (!batch.empty()) store(batch);
}

Status KafkaSource::Impl::write(std::vector<Event> batch_events, std::vector<StreamPosition> batch_positions) {
  std::promise<Status> result;
  engine.ingest_async(std::move(batch_events), std::move(batch_positions),
                      [&](const Status& s) { result.set_value(s); });
  return result.get_future().get();
}

void KafkaSource::Impl::store(std::vector<Parsed>& batch) {
  std::map<int32_t, int64_t> next;
  std::vector<Event> all;
  for (const Parsed& p : batch) {
    next[p.partition] = p.offset + 1;
    all.insert(all.end(), p.events.begin(), p.events.end());
  }
  auto positions_of = [&](const std::map<int32_t, int64_t>& offsets) {
    std::vector<StreamPosition> out;
    for (const auto& [partition, offset] : offsets)
      out.push_back({kafka_stream_name(options.topic, partition), offset});
    return out;
  };
  const size_t n = all.size();
  Status s = write(std::move(all), positions_of(next));
  size_t stored_events = n;
  if (s.code() == Status::Code::kInvalidArgument) {
    // The engine refused the batch as a whole (its event type table is full): that is about
    // some of the messages, so each is written alone and only those it refuses are skipped.
    stored_events = 0;
    for (const Parsed& p : batch) {
      const std::map<int32_t, int64_t> one = {{p.partition, p.offset + 1}};
      s = write(p.events, positions_of(one));
      if (s.code() == Status::Code::kInvalidArgument) {
        refuse(p.partition, p.offset, s);
        s = write({}, positions_of(one));
      } else if (s.is_ok()) {
        stored_events += p.events.size();
      }
      if (!s.is_ok()) break;
      positions[p.partition] = p.offset + 1;
    }
  }
  if (!s.is_ok()) {
    // What was not stored is consumed again from the stored positions.
    store_failures.fetch_add(1);
    spdlog::error("kafka: {}: storing {} messages failed, retrying: {}", options.topic, batch.size(), s.to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryAfterFailureMs));
    rewind(batch);
    return;
  }
  messages.fetch_add(batch.size());
  events.fetch_add(stored_events);
  for (const auto& [partition, offset] : next) positions[partition] = offset;
  commit(next);
}

void KafkaSource::Impl::rewind(const std::vector<Parsed>& batch) {
  std::map<int32_t, int64_t> from;
  for (const Parsed& p : batch) {
    auto at = positions.find(p.partition);
    from[p.partition] = at != positions.end() ? at->second : RD_KAFKA_OFFSET_BEGINNING;
  }
  PartitionList list(static_cast<int>(from.size()));
  for (const auto& [partition, offset] : from)
    rd_kafka_topic_partition_list_add(list.list, options.topic.c_str(), partition)->offset = offset;
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(handle.rk, list.list, options.startup_timeout_ms)) {
    spdlog::error("kafka: {}: rewinding after a failed write: {}", options.topic, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
}

void KafkaSource::Impl::commit(const std::map<int32_t, int64_t>& next) {
  if (options.all_partitions) return;  // no group share to report progress to
  PartitionList list(static_cast<int>(next.size()));
  for (const auto& [partition, offset] : next)
    rd_kafka_topic_partition_list_add(list.list, options.topic.c_str(), partition)->offset = offset;
  // Asynchronous: the store already holds the position, so a lost commit costs only a
  // redelivery, which the position check skips.
  if (rd_kafka_resp_err_t err = rd_kafka_commit(handle.rk, list.list, 1); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    commit_failures.fetch_add(1);
    spdlog::debug("kafka: {}: commit: {}", options.topic, rd_kafka_err2str(err));
  }
}

void KafkaSource::Impl::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const char* protocol = rd_kafka_rebalance_protocol(handle.rk);  // "NONE" outside a group
  const bool cooperative = protocol && std::strcmp(protocol, "COOPERATIVE") == 0;
  rd_kafka_error_t* error = nullptr;
  rd_kafka_resp_err_t eager_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int k = 0; k < parts->cnt; ++k) {
      rd_kafka_topic_partition_t& tp = parts->elems[k];
      auto stored = engine.stream_position(kafka_stream_name(tp.topic, tp.partition));
      if (!stored.is_ok()) spdlog::error("kafka: {}/{}: {}", tp.topic, tp.partition, stored.status().to_string());
      const int64_t next = stored.is_ok() ? stored.value() : -1;
      // The local store decides where to resume, not the group's committed offset: a replica
      // that never held this partition replays it from the start to own its users.
      tp.offset = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
      positions[tp.partition] = std::max<int64_t>(next, 0);
      spdlog::info("kafka: {}/{} assigned, resuming at {}", tp.topic, tp.partition,
                   next >= 0 ? std::to_string(next) : "the beginning");
    }
    if (cooperative) error = rd_kafka_incremental_assign(handle.rk, parts);
    else eager_err = rd_kafka_assign(handle.rk, parts);
  } else {
    // Lost, not revoked: the brokers were away past the session timeout. Nobody else has
    // been given these partitions, so this replica keeps serving the users it holds and
    // keeps its entries in the owners table; the next assignment (when the group can meet
    // again) replaces them.
    const bool lost = rd_kafka_assignment_lost(handle.rk);
    for (int k = 0; k < parts->cnt; ++k) {
      positions.erase(parts->elems[k].partition);
      spdlog::info("kafka: {}/{} {}", parts->elems[k].topic, parts->elems[k].partition,
                   lost ? "lost (brokers unreachable): still serving its users" : "revoked");
    }
    if (cooperative) error = rd_kafka_incremental_unassign(handle.rk, parts);
    else eager_err = rd_kafka_assign(handle.rk, nullptr);
    if (!cooperative) positions.clear();
    if (lost) {
      connected.store(false);
      if (error) rd_kafka_error_destroy(error);
      return;  // the published assignment stays as it was
    }
  }
  if (error) {
    spdlog::error("kafka: {}: rebalance: {}", options.topic, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  if (eager_err != RD_KAFKA_RESP_ERR_NO_ERROR)
    spdlog::error("kafka: {}: rebalance: {}", options.topic, rd_kafka_err2str(eager_err));
  publish_assignment();
}

void KafkaSource::Impl::publish_assignment() {
  std::vector<int32_t> now;
  for (const auto& [partition, next] : positions) now.push_back(partition);
  {
    std::lock_guard lock(partitions_mutex);
    assigned = now;
  }
  if (options.on_assignment) options.on_assignment(now);
}

namespace {

// librdkafka's callbacks are C functions; each is a boundary.
void rebalance_callback(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  try {
    static_cast<KafkaSource::Impl*>(opaque)->on_rebalance(err, parts);
  } catch (const std::exception& e) {
    spdlog::error("kafka: rebalance: {}", e.what());
  }
}

void error_callback(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* impl = static_cast<KafkaSource::Impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) impl->connected.store(false);
  spdlog::warn("kafka: {}", reason ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
}

void commit_callback(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  static_cast<KafkaSource::Impl*>(opaque)->commit_failures.fetch_add(1);
  spdlog::debug("kafka: offset commit: {}", rd_kafka_err2str(err));
}

}  // namespace

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSource::~KafkaSource() {
  impl_->stopping.store(true);
  if (impl_->consumer.joinable()) impl_->consumer.join();
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::start(Engine& engine, KafkaOptions options) {
  if (options.brokers.empty()) return Status::invalid_field("kafka.brokers", "no brokers given");
  if (options.topic.empty()) return Status::invalid_field("kafka.topic", "no topic given");
  if (options.group.empty()) return Status::invalid_field("kafka.group", "no consumer group given");
  if (options.max_batch_messages == 0) options.max_batch_messages = 1;
  auto impl = std::make_unique<Impl>(engine, options);

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> owned_conf(conf, rd_kafka_conf_destroy);
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"client.id", "nudge"},
      // Offsets go to Kafka only after the store holds the events (commit(), above).
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
  };
  settings.insert(settings.end(), options.properties.begin(), options.properties.end());
  NUDGE_RETURN_IF_ERROR(apply_kafka_settings(conf, settings));
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_callback);
  rd_kafka_conf_set_error_cb(conf, error_callback);
  rd_kafka_conf_set_offset_commit_cb(conf, commit_callback);
  rd_kafka_conf_set_log_cb(conf, kafka_log_callback);

  char why[512];
  impl->handle.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (!impl->handle.rk) return Status::invalid_argument(std::string("kafka: ") + why);
  (void)owned_conf.release();  // rd_kafka_new took it
  rd_kafka_poll_set_consumer(impl->handle.rk);

  // Refuse to start against brokers that do not answer or do not have the topic: a typo in
  // the configuration must fail now, not show up as a server that never learns anything.
  std::vector<int32_t> ids;
  NUDGE_RETURN_IF_ERROR(
      check_kafka_topic(impl->handle.rk, options.brokers, options.topic, options.startup_timeout_ms, &ids));
  impl->partition_count = static_cast<int32_t>(ids.size());
  spdlog::info("kafka: consuming {} ({} partitions) on {} in group {}", options.topic, ids.size(), options.brokers,
               options.group);

  if (options.all_partitions) {
    PartitionList all(static_cast<int>(ids.size()));
    for (const int32_t id : ids) rd_kafka_topic_partition_list_add(all.list, options.topic.c_str(), id);
    impl->on_rebalance(RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, all.list);  // resumes each from the store
  } else {
    PartitionList subscription(1);
    rd_kafka_topic_partition_list_add(subscription.list, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (rd_kafka_resp_err_t e = rd_kafka_subscribe(impl->handle.rk, subscription.list); e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Status::io_error(kafka_place(options.brokers, options.topic) + ": subscribe: " + rd_kafka_err2str(e));
  }
  impl->connected.store(true);
  Impl* raw = impl.get();
  impl->consumer = std::thread([raw] { raw->run(); });
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

int32_t KafkaSource::partition_count() const { return impl_->partition_count; }

KafkaStats KafkaSource::stats() const {
  KafkaStats s;
  s.messages = impl_->messages.load();
  s.events = impl_->events.load();
  s.bad_messages = impl_->bad_messages.load();
  s.duplicates = impl_->duplicates.load();
  s.misplaced = impl_->misplaced.load();
  s.store_failures = impl_->store_failures.load();
  s.commit_failures = impl_->commit_failures.load();
  s.connected = impl_->connected.load();
  std::lock_guard lock(impl_->partitions_mutex);
  s.partitions = impl_->assigned;
  return s;
}

}  // namespace nudge::serve
