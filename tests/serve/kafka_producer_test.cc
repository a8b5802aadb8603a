// POST /v1/events' Kafka path against librdkafka's mock cluster: one message per user in the
// partition kafka_partition_of names, carrying what KafkaSource reads back; acknowledged only
// once delivered; brokers that are down give an error within the delivery timeout.
#include "serve/kafka_producer.h"

#include <gtest/gtest.h>

#include <future>
#include <map>

#include "serve/event_json.h"
#include "serve/mock_kafka.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::kPartitions;
using nudge::testing::kTopic;
using nudge::testing::MockKafka;
using namespace std::chrono_literals;

KafkaOptions options_for(const MockKafka& kafka) {
  KafkaOptions o;
  o.brokers = kafka.brokers();
  o.topic = kTopic;
  o.startup_timeout_ms = 10000;
  o.properties = {{"log_level", "3"}, {"session.timeout.ms", "6000"}};  // a consumer's: not passed on
  return o;
}

Status produce_and_wait(KafkaProducer& producer, std::vector<Event> events) {
  std::promise<Status> result;
  int calls = 0;
  producer.produce(std::move(events), [&](const Status& s) {
    ++calls;
    result.set_value(s);
  });
  Status s = result.get_future().get();
  EXPECT_EQ(calls, 1);
  return s;
}

TEST(KafkaProducerTest, OneMessagePerUserInThePartitionKafkaPartitionOfNames) {
  MockKafka kafka;
  auto producer = KafkaProducer::start(options_for(kafka));
  ASSERT_TRUE(producer.is_ok()) << producer.status().to_string();
  EXPECT_EQ((*producer)->partitions(), kPartitions);
  std::vector<Event> events;
  for (int k = 0; k < 300; ++k)  // 100 users, 3 events each, interleaved
    events.push_back(
        {"u" + std::to_string(k % 100), "i" + std::to_string(k), "click", 0.5f + k % 3, k < 150 ? 1700000000 + k : 0});
  ASSERT_TRUE(produce_and_wait(**producer, events).is_ok());

  const auto messages = kafka.read_all(100);
  ASSERT_EQ(messages.size(), 100u);
  std::map<std::string, std::vector<Event>> got;
  std::set<int32_t> used;
  for (const auto& m : messages) {
    EXPECT_EQ(m.partition, kafka_partition_of(m.key, kPartitions)) << m.key;
    used.insert(m.partition);
    auto parsed = parse_events(m.payload, 10000);  // what KafkaSource reads
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
    for (const Event& e : *parsed) EXPECT_EQ(e.user, m.key);
    got[m.key] = *parsed;
  }
  EXPECT_EQ(used.size(), static_cast<size_t>(kPartitions));  // the hash spreads 100 users
  for (int u = 0; u < 100; ++u) {
    const std::string user = "u" + std::to_string(u);
    ASSERT_EQ(got[user].size(), 3u) << user;
    for (int j = 0; j < 3; ++j) {  // in the order given, every field kept
      const Event& want = events[u + 100 * j];
      const Event& e = got[user][j];
      EXPECT_EQ(e.item, want.item);
      EXPECT_EQ(e.type, want.type);
      EXPECT_EQ(e.value, want.value);
      if (want.timestamp != 0) EXPECT_EQ(e.timestamp, want.timestamp);
      else EXPECT_GT(e.timestamp, 1700000000);  // stamped with the acceptance time
    }
  }
}

TEST(KafkaProducerTest, PartitionOfIsStableAndInRange) {
  EXPECT_EQ(kafka_partition_of("anything", 0), 0);
  for (int n : {1, 6, 64}) {
    for (int u = 0; u < 1000; ++u) {
      const std::string key = "user-" + std::to_string(u);
      const int32_t p = kafka_partition_of(key, n);
      EXPECT_GE(p, 0);
      EXPECT_LT(p, n);
      EXPECT_EQ(p, kafka_partition_of(key, n));
    }
  }
}

TEST(KafkaProducerTest, BrokersDownGiveAnErrorWithinTheDeliveryTimeout) {
  MockKafka kafka;
  auto producer = KafkaProducer::start(options_for(kafka), /*delivery_timeout_ms=*/1500);
  ASSERT_TRUE(producer.is_ok()) << producer.status().to_string();
  kafka.set_brokers_up(false);
  const auto start = std::chrono::steady_clock::now();
  const Status s = produce_and_wait(**producer, {{"u1", "i1"}, {"u2", "i2"}});
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("topic 'events'"), std::string::npos) << s.to_string();
  EXPECT_NE(s.message().find("nothing was stored, a retry is safe"), std::string::npos) << s.to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  kafka.set_brokers_up(true);
  // librdkafka reconnects with backoff; a client retries its POST until it is accepted.
  EXPECT_TRUE(nudge::testing::eventually([&] { return produce_and_wait(**producer, {{"u3", "i3"}}).is_ok(); }, 30s));
}

// Sent but not confirmed in time (the brokers answer after the delivery timeout): the
// answer must not claim that nothing was stored.
TEST(KafkaProducerTest, AnUnconfirmedSendSaysTheEventsMayBeStored) {
  MockKafka kafka;
  auto producer = KafkaProducer::start(options_for(kafka), /*delivery_timeout_ms=*/1500);
  ASSERT_TRUE(producer.is_ok()) << producer.status().to_string();
  // Connected to u1's partition leader first: a new connection's handshake would be slowed
  // too, and a message that never left is (rightly) "nothing was stored".
  ASSERT_OK(produce_and_wait(**producer, {{"u1", "i0"}}));
  kafka.set_rtt_ms(4000);
  const Status s = produce_and_wait(**producer, {{"u1", "i1"}});
  EXPECT_EQ(s.code(), Status::Code::kDeadlineExceeded) << s.to_string();
  EXPECT_NE(s.message().find("may still be stored"), std::string::npos) << s.to_string();
  kafka.set_rtt_ms(0);
}

TEST(KafkaProducerTest, StartupErrorsNameTheTopicAndTheSetting) {
  MockKafka kafka;
  KafkaOptions o = options_for(kafka);
  o.topic = "no-such-topic";
  auto missing = KafkaProducer::start(o);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("no such topic"), std::string::npos);
  o = options_for(kafka);
  o.properties = {{"compression.codec", "nonsense"}};
  auto bad = KafkaProducer::start(o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().field(), "kafka.compression.codec");
  o = options_for(kafka);
  o.brokers = "127.0.0.1:1";
  o.startup_timeout_ms = 500;
  auto unreachable = KafkaProducer::start(o);
  ASSERT_FALSE(unreachable.is_ok());
  EXPECT_NE(unreachable.status().message().find("did not answer"), std::string::npos);
}

}  // namespace
}  // namespace nudge::serve
