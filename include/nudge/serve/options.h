// The options of every part of `nudge serve`, in one public header so that a ServeConfig
// (config.h) can be built and read without the parts' own headers, which stay internal to
// src/serve. Defaults are the member initialisers; serve_options.cc declares the TOML keys and
// flags that set them (docs/serving.md has the table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rocksdb {
class FileSystem;
}

namespace nudge::serve {

// The event store (src/serve/event_store.h).
struct EventStoreOptions {
  bool sync = true;  // fsync the WAL before acknowledging; false survives process crashes only
  // Open a store whose write-ahead log is damaged (not only torn at its end) without the
  // damaged records: the log is first copied next to the store (<dir>.damaged-log-<time>),
  // the events missing from the sequence are counted (damaged_events()) and logged.
  bool skip_damaged_log = false;
  double recovery_interval_s = 1.0;  // after a failed write: how often to try writing again
  // The file system RocksDB uses; null: the machine's. Tests inject a full disk here.
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// The HNSW index over item vectors (src/serve/ann_index.h).
struct AnnOptions {
  int m = 16;  // graph degree
  int ef_construction = 100;
  int ef_search = 64;  // candidate list size per query (at least the k asked for)
  int threads = 0;     // build threads; 0 = all cores
};

// The HTTP server (src/serve/http_server.h).
struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                // 0: any free port (see port())
  int threads = 0;                     // 0: all cores
  size_t max_body_bytes = 8 << 20;     // larger bodies: 413
  size_t max_header_bytes = 16 << 10;  // request line and headers; larger: 431
  size_t max_connections = 10000;      // open at once; more are answered 503 and closed
  int idle_timeout_s = 60;             // a connection with no request started for this long is closed
  int request_timeout_s = 10;          // a started request must be complete within this (slowloris)
};

// The HTTP routes (src/serve/http_api.h).
struct HttpApiOptions {
  std::string api_key;              // non-empty: POST/PUT/DELETE need "Authorization: Bearer <api_key>"
  size_t max_batch_events = 10000;  // events in one POST /v1/events; more: 413
  size_t max_list_values =
      1000;  // values of one list parameter (exclude, category, tag, pin, boost) or tags of an item
  // The web console (GET /ui/, docs/console.md): served when true, and then only with the
  // API key when one is set (?key= or the bearer header). Server decides it from ServeConfig::ui.
  bool ui = false;
  std::string evaluation_dir;  // results the console's Evaluation page shows; empty: none
};

// The Kafka event source and producer (src/serve/kafka_source.h, kafka_producer.h).
struct KafkaOptions {
  std::string brokers;  // bootstrap servers, "host:port,host:port"; empty: no Kafka
  std::string topic = "nudge-events";
  std::string group = "nudge";  // replicas sharing the partitions use one group
  // Every partition, assigned by hand instead of a share through the group (a trainer, which
  // needs the whole log): positions come from the local store only, nothing is committed.
  bool all_partitions = false;
  // POST /v1/events produces to the topic (KafkaProducer) rather than storing locally, so
  // every event takes one path and reaches its user's owner.
  bool produce_api_events = true;
  int startup_timeout_ms = 10000;         // the brokers must answer, and know the topic, within this
  size_t max_batch_messages = 5000;       // messages written to the store in one write
  size_t max_events_per_message = 10000;  // as HttpApiOptions::max_batch_events
  // Called on the consumer thread with the partitions this replica consumes, after each
  // change (Cluster::set_owned_partitions publishes them for routing). Must not throw.
  std::function<void(const std::vector<int32_t>&)> on_assignment;
  // Further librdkafka settings (security.protocol, sasl.*, ...), applied last.
  std::vector<std::pair<std::string, std::string>> properties;
};

// The Redis connection of a cluster (src/serve/redis_client.h).
struct RedisOptions {
  std::string address;    // host:port, e.g. "127.0.0.1:6379"
  int timeout_ms = 2000;  // connect and each command
};

// Replicas coordinating through Redis (src/serve/cluster.h, docs/scale-out.md).
struct ClusterOptions {
  RedisOptions redis;          // redis.address empty: no cluster
  std::string name = "nudge";  // key prefix: one deployment per name
  std::string replica_id;      // unique per replica; empty: hostname:pid
  bool trainer = false;        // competes for the leader lock (needs every partition's events)
  std::string model_dir;       // shared directory of published model files (trainers write it)
  int lease_ms = 10000;        // the leader lock's time to live
  int poll_ms = 500;           // how often the lock is renewed and the model version read
  // This replica's base URL as other replicas reach it ("http://10.0.0.5:8080"), published
  // with the partitions it owns; empty: it publishes none (a trainer, or no Kafka).
  std::string advertise;
  int forward_timeout_ms = 1000;  // a request sent on to its user's owner (OwnerRouter)
};

// An online experiment between the engine's arms (src/serve/experiment.h).
enum class ExperimentMode { kAB, kInterleave };

struct ExperimentOptions {
  std::string name;  // empty: no experiment; it salts the assignment hash
  ExperimentMode mode = ExperimentMode::kAB;
  std::vector<double> weights;                       // per arm (A/B); empty: equal shares
  std::vector<std::string> click_types = {"click"};  // event types counted as clicks
  std::vector<std::string> conversion_types = {"purchase"};
  size_t remember = 200000;  // lists kept for attribution; the oldest go first
  uint64_t seed = 0;         // rec_ids and draft coins; 0: random per process
};

}  // namespace nudge::serve
