// librdkafka's mock cluster (the real protocol, in process) with a topic and a producer
// keyed by user, for the tests of the Kafka consumer, producer and router.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace nudge::testing {

inline constexpr const char* kTopic = "events";
inline constexpr int kPartitions = 4;

// A mock cluster of 3 brokers with the topic, and a producer keyed by user.
class MockKafka {
 public:
  MockKafka() {
    char why[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof why);  // the mock's own chatter
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    cluster_ = rd_kafka_mock_cluster_new(host_, 3);
    rd_kafka_mock_topic_create(cluster_, kTopic, kPartitions, 1);
    brokers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), why, sizeof why);
    rd_kafka_conf_set(conf, "message.timeout.ms", "60000", why, sizeof why);
    rd_kafka_conf_set(conf, "partitioner", "murmur2", why, sizeof why);  // Java's default, which Nudge routes by
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof why);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    topic_ = rd_kafka_topic_new(producer_, kTopic, nullptr);
  }
  ~MockKafka() {
    rd_kafka_flush(producer_, 5000);
    rd_kafka_topic_destroy(topic_);
    rd_kafka_destroy(producer_);
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  const std::string& brokers() const { return brokers_; }

  void produce(const std::string& user, const std::string& payload) {
    // Keyed by user: the producer's partitioner keeps one user's events in one partition.
    ASSERT_EQ(rd_kafka_produce(topic_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(payload.data()),
                               payload.size(), user.data(), user.size(), nullptr),
              0);
  }
  // Into `partition`, whatever the key's hash says (a producer with its own partitioner).
  void produce_to(int32_t partition, const std::string& user, const std::string& payload) {
    ASSERT_EQ(rd_kafka_produce(topic_, partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(payload.data()),
                               payload.size(), user.data(), user.size(), nullptr),
              0);
  }
  void produce_event(const std::string& user, const std::string& item) {
    produce(user, R"({"user":")" + user + R"(","item":")" + item + R"(","timestamp":1700000000})");
  }
  // Events from..to-1: event k is user k % users, item k % items.
  void produce_events(int from, int to, int users, int items) {
    for (int k = from; k < to; ++k) produce_event("u" + std::to_string(k % users), "i" + std::to_string(k % items));
  }
  void flush() { ASSERT_EQ(rd_kafka_flush(producer_, 20000), RD_KAFKA_RESP_ERR_NO_ERROR); }
  void set_brokers_up(bool up) {
    for (int32_t id = 1; id <= 3; ++id)
      up ? rd_kafka_mock_broker_set_up(cluster_, id) : rd_kafka_mock_broker_set_down(cluster_, id);
  }
  // Every broker answers this late (a frozen broker, or a slow network).
  void set_rtt_ms(int rtt) {
    for (int32_t id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_rtt(cluster_, id, rtt);
  }
  struct Message {
    int32_t partition;
    std::string key, payload;
  };
  // Every message of the topic from the beginning, once `n` have arrived (or 20 s passed).
  std::vector<Message> read_all(size_t n) const {
    char why[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), why, sizeof why);
    rd_kafka_conf_set(conf, "group.id", "reader", why, sizeof why);
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof why);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p)
      rd_kafka_topic_partition_list_add(list, kTopic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<Message> out;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (out.size() < n && std::chrono::steady_clock::now() < until) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (!m) continue;
      if (!m->err)
        out.push_back({m->partition, std::string(static_cast<const char*>(m->key), m->key_len),
                       std::string(static_cast<const char*>(m->payload), m->len)});
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
  }
  // The offsets the group committed, summed over the partitions.
  int64_t committed(const std::string& group) const {
    char why[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), why, sizeof why);
    rd_kafka_conf_set(conf, "group.id", group.c_str(), why, sizeof why);
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof why);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p) rd_kafka_topic_partition_list_add(list, kTopic, p);
    int64_t sum = 0;
    if (rd_kafka_committed(rk, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      for (int k = 0; k < list->cnt; ++k) sum += std::max<int64_t>(list->elems[k].offset, 0);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(rk);
    return sum;
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  std::string brokers_;
};

}  // namespace nudge::testing
