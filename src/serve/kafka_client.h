// What the Kafka consumer (kafka_source.cc) and producer (kafka_producer.cc) share: settings
// with errors naming the key, librdkafka's log on spdlog, and the startup check that the
// brokers answer and know the topic.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "nudge/status.h"

namespace nudge::serve {

// "kafka: topic 'T' on BROKERS": how every Kafka error names where it happened.
std::string kafka_place(const std::string& brokers, const std::string& topic);

// Applies each setting; one librdkafka refuses is an error naming "kafka.<key>".
Status apply_kafka_settings(rd_kafka_conf_t* conf, const std::vector<std::pair<std::string, std::string>>& settings);

// librdkafka's log callback, on spdlog (connection trouble is a warning: the client retries).
void kafka_log_callback(const rd_kafka_t* rk, int level, const char* facility, const char* message);

// The metadata of `topic`: an error when the brokers do not answer within `timeout_ms` or do
// not have it. Lists all topics rather than asking for this one, since asking by name makes
// a broker that auto-creates topics create a typo. On success `*partition_ids` gets its
// partitions.
Status check_kafka_topic(rd_kafka_t* rk, const std::string& brokers, const std::string& topic, int timeout_ms,
                         std::vector<int32_t>* partition_ids);

}  // namespace nudge::serve
