// KafkaProducer: POST /v1/events in a Kafka deployment, writing to the topic instead of the
// local store, so every event takes one path: the topic, then the KafkaSource of the replica
// owning the user's partition, its store and its fold-in (docs/scale-out.md).
//
// One message per user, keyed by the user and carrying {"events": [...]} (what KafkaSource
// reads). Partitions are chosen with Kafka's Java-compatible murmur2 hash, the default of the
// Java client, so producers in other languages put a user in the same partition, and
// kafka_partition_of() tells a router which partition (hence which replica) holds a user.
// A batch is acknowledged only when the brokers have every message (acks=all, idempotent
// producer: a retried send is not stored twice); brokers that cannot take it within the
// delivery timeout give an error and the client may retry.
// Thread-safety: produce() may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "serve/event_store.h"
#include "serve/kafka_source.h"

namespace nudge::serve {

// The partition Kafka's default (murmur2) partitioner gives `key` among `partitions`.
int32_t kafka_partition_of(std::string_view key, int32_t partitions);

class KafkaProducer {
 public:
  // Connects and checks the topic exists (errors as KafkaSource::start). Uses brokers, topic,
  // startup_timeout_ms and properties of `options`; `delivery_timeout_ms` bounds each batch.
  static Result<std::unique_ptr<KafkaProducer>> start(const KafkaOptions& options, int delivery_timeout_ms = 10000);
  ~KafkaProducer();  // waits up to the delivery timeout for messages still in flight
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Produces `events` (already validated; a zero timestamp becomes now) and calls `done`
  // exactly once, on another thread: OK when the brokers hold every message, else the first
  // error (an unavailable Kafka is an io_error naming the topic).
  void produce(std::vector<Event> events, std::function<void(const Status&)> done);
  int32_t partitions() const;  // the topic's partition count, read at start

  struct Impl;

 private:
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
