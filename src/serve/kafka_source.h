// KafkaSource: `nudge serve` taking its events from a Kafka topic (librdkafka), the event log
// of a scaled-out deployment (docs/scale-out.md).
//
// A message carries what POST /v1/events takes (one event object or {"events": [...]}, same
// parser, same checks) and is keyed by user, so one user's events stay in order in one
// partition. Replicas in one consumer group share the partitions.
//
// Nothing lost, nothing counted twice: a batch of messages is written to the local store
// together with each partition's next offset (EventStore::StreamPosition), and only once that
// write is durable is the offset committed to Kafka. When a partition is assigned, it resumes
// from the position in the local store, or from its beginning when this replica never held
// it: ownership moves by replaying the partition, never by copying state. A message below the
// stored position is a redelivery and is skipped.
//
// A message that does not parse or validate, or whose key is not its events' user (it sits in
// another user's partition), is logged with topic/partition@offset and the field, counted,
// and skipped (its offset still advances): one bad producer must not stop ingest. Losing the
// brokers at run time stops ingest only: serving goes on, librdkafka reconnects, and
// consumption resumes from the stored position.
// Thread-safety: stats() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nudge/serve/engine.h"
#include "nudge/serve/options.h"

namespace nudge::serve {

struct KafkaStats {
  uint64_t messages = 0;            // consumed and written (good or bad)
  uint64_t events = 0;              // events stored from them
  uint64_t bad_messages = 0;        // refused: malformed JSON or invalid events
  uint64_t duplicates = 0;          // redeliveries below the stored position, skipped
  uint64_t misplaced = 0;           // stored, but in another partition than the murmur2 hash of their key
  uint64_t store_failures = 0;      // batches the store refused (consumption rewound, retried)
  uint64_t commit_failures = 0;     // offset commits Kafka refused (harmless: the store has the position)
  bool connected = false;           // false after the brokers went away, until a message arrives
  std::vector<int32_t> partitions;  // assigned to this replica now
};

// The stream name a partition's position is stored under: "kafka:<topic>:<partition>".
std::string kafka_stream_name(const std::string& topic, int32_t partition);

class KafkaSource {
 public:
  // Connects, checks that the topic exists, joins the group and starts consuming on its own
  // thread. Errors name the brokers and the topic (unreachable within startup_timeout_ms, no
  // such topic, a librdkafka setting it refuses).
  static Result<std::unique_ptr<KafkaSource>> start(Engine& engine, KafkaOptions options);
  ~KafkaSource();  // stops consuming and leaves the group; what was stored stays stored
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  KafkaStats stats() const;
  int32_t partition_count() const;  // the topic's, read at start

  struct Impl;

 private:
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
