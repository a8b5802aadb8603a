// The Kafka event source against librdkafka's mock cluster (real protocol, in process):
// every event stored once, offsets resumed from the store, bad messages skipped, startup
// errors, brokers lost and back, and partitions moving between two replicas.
#include "nudge/serve/kafka_source.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::TempDir;
using namespace std::chrono_literals;

constexpr const char* kTopic = "events";
constexpr int kPartitions = 4;

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

// An engine that only stores and applies events (no model), as a replica would.
std::unique_ptr<Engine> open_engine(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.train_on_start = false;
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  o.store.sync = false;
  return Engine::open(o).value();
}

KafkaOptions options_for(const MockKafka& kafka, std::string group = "replicas") {
  KafkaOptions o;
  o.brokers = kafka.brokers();
  o.topic = kTopic;
  o.group = std::move(group);
  o.startup_timeout_ms = 10000;
  o.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}, {"log_level", "3"}};
  return o;
}

// Waits (at most `limit`) until `done` holds.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

size_t history_size(const Engine& engine, const std::string& user) {
  auto info = engine.user_info(user);
  if (!info) return 0;
  size_t n = 0;
  for (const auto& [item, weight] : info->history) n += static_cast<size_t>(weight + 0.5f);
  return n;
}

TEST(KafkaSourceTest, StoresEveryEventOnceAndCommitsWhatItStored) {
  MockKafka kafka;
  kafka.produce_events(0, 200, 20, 7);
  // A message may carry a batch, as POST /v1/events takes it.
  kafka.produce("u0", R"({"events":[{"user":"u0","item":"a"},{"user":"u0","item":"b","type":"view"}]})");
  kafka.flush();

  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  auto source = KafkaSource::start(*engine, options_for(kafka));
  ASSERT_TRUE(source.is_ok()) << source.status().to_string();
  ASSERT_TRUE(eventually([&] { return source.value()->stats().events == 202; }));
  EXPECT_EQ(engine->stats().events, 202u);
  EXPECT_EQ(source.value()->stats().messages, 201u);
  EXPECT_EQ(source.value()->stats().bad_messages, 0u);
  EXPECT_EQ(history_size(*engine, "u0"), 12u);  // 10 single events and the batch of 2
  EXPECT_EQ(source.value()->stats().partitions.size(), static_cast<size_t>(kPartitions));
  // Offsets reach Kafka after the store: all 201 messages, once the async commit lands.
  EXPECT_TRUE(eventually([&] { return kafka.committed("replicas") == 201; }, 10s));
}

TEST(KafkaSourceTest, RestartResumesFromTheStoreNotTheGroupsOffsets) {
  MockKafka kafka;
  kafka.produce_events(0, 100, 10, 1000000);
  kafka.flush();
  TempDir dir;
  {
    auto engine = open_engine(dir.file("data"));
    auto source = KafkaSource::start(*engine, options_for(kafka)).value();
    ASSERT_TRUE(eventually([&] { return source->stats().events == 100; }));
  }
  kafka.produce_events(100, 150, 10, 1000000);
  kafka.flush();
  // A new group has no committed offsets: as after a crash between the store write and the
  // commit, Kafka would redeliver everything. The store's positions say where to go on.
  auto engine = open_engine(dir.file("data"));
  auto source = KafkaSource::start(*engine, options_for(kafka, "another-group")).value();
  ASSERT_TRUE(eventually([&] { return source->stats().events == 50; }));
  std::this_thread::sleep_for(300ms);  // anything more would show up now
  EXPECT_EQ(engine->stats().events, 150u);
  EXPECT_EQ(source->stats().events, 50u);
  for (int u = 0; u < 10; ++u) EXPECT_EQ(history_size(*engine, "u" + std::to_string(u)), 15u);
}

TEST(KafkaSourceTest, BadMessagesAreCountedAndSkippedAndIngestGoesOn) {
  MockKafka kafka;
  const std::vector<std::string> bad = {
      "{not json",
      R"({"user":"u1"})",                                              // no item
      R"({"user":"u1","item":"x","value":-1})",                        // negative value
      R"({"user":"u1","item":"x","colour":"red"})",                    // unknown field
      std::string(R"({"user":"u)") + "\xff\xfe" + R"(","item":"x"})",  // not UTF-8
      "",
      R"({"events":[]})",
  };
  for (const std::string& payload : bad) kafka.produce("u1", payload);
  kafka.produce("u1", R"({"user":"u2","item":"x"})");  // keyed by another user: the wrong partition
  kafka.produce_event("u1", "good");
  kafka.flush();
  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  auto source = KafkaSource::start(*engine, options_for(kafka)).value();
  ASSERT_TRUE(eventually([&] { return source->stats().messages == bad.size() + 2; }));
  EXPECT_EQ(source->stats().bad_messages, bad.size() + 1);
  EXPECT_EQ(engine->stats().events, 1u);
  EXPECT_EQ(history_size(*engine, "u1"), 1u);
}

TEST(KafkaSourceTest, StartupErrorsNameBrokersAndTopic) {
  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  KafkaOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens there
  o.topic = kTopic;
  o.startup_timeout_ms = 1500;
  o.properties = {{"log_level", "0"}};
  auto unreachable = KafkaSource::start(*engine, o);
  ASSERT_FALSE(unreachable.is_ok());
  EXPECT_NE(unreachable.status().message().find("127.0.0.1:1"), std::string::npos) << unreachable.status().to_string();
  EXPECT_NE(unreachable.status().message().find("did not answer"), std::string::npos);

  MockKafka kafka;
  KafkaOptions wrong = options_for(kafka);
  wrong.topic = "evnets";
  auto missing = KafkaSource::start(*engine, wrong);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("'evnets'"), std::string::npos) << missing.status().to_string();

  KafkaOptions typo = options_for(kafka);
  typo.properties = {{"sesion.timeout.ms", "1"}};
  auto refused = KafkaSource::start(*engine, typo);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().field(), "kafka.sesion.timeout.ms");

  KafkaOptions empty = options_for(kafka);
  empty.topic.clear();
  EXPECT_EQ(KafkaSource::start(*engine, empty).status().field(), "kafka.topic");
}

TEST(KafkaSourceTest, LosingTheBrokersStopsIngestOnlyAndItResumesWithoutLoss) {
  MockKafka kafka;
  kafka.produce_events(0, 50, 5, 1000000);
  kafka.flush();
  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  auto source = KafkaSource::start(*engine, options_for(kafka)).value();
  ASSERT_TRUE(eventually([&] { return source->stats().events == 50; }));

  kafka.set_brokers_up(false);
  kafka.produce_events(50, 100, 5, 1000000);
  std::this_thread::sleep_for(1500ms);
  // Local serving goes on while the brokers are away.
  RecommendRequest request;
  request.user = "u1";
  EXPECT_TRUE(engine->recommend(request).is_ok());
  EXPECT_EQ(engine->stats().events, 50u);

  kafka.set_brokers_up(true);
  kafka.flush();
  ASSERT_TRUE(eventually([&] { return source->stats().events == 100; }, 60s)) << source->stats().events;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(engine->stats().events, 100u);
  for (int u = 0; u < 5; ++u) EXPECT_EQ(history_size(*engine, "u" + std::to_string(u)), 20u);
}

TEST(KafkaSourceTest, TwoReplicasSharePartitionsAndTheSurvivorReplaysTheOthers) {
  MockKafka kafka;
  kafka.produce_events(0, 400, 40, 13);
  kafka.flush();
  TempDir dir;
  auto a = open_engine(dir.file("a"));
  auto b = open_engine(dir.file("b"));
  auto source_a = KafkaSource::start(*a, options_for(kafka)).value();
  auto source_b = KafkaSource::start(*b, options_for(kafka)).value();
  // Both in the group, the partitions split between them, every event stored by one of them.
  ASSERT_TRUE(eventually(
      [&] {
        return source_a->stats().partitions.size() + source_b->stats().partitions.size() == kPartitions &&
               !source_b->stats().partitions.empty() && !source_a->stats().partitions.empty() &&
               a->stats().events + b->stats().events >= 400;
      },
      60s));
  const std::vector<int32_t> of_a = source_a->stats().partitions;
  std::set<int32_t> owned(of_a.begin(), of_a.end());
  for (int32_t p : source_b->stats().partitions) EXPECT_FALSE(owned.count(p)) << "partition " << p << " twice";

  // Replica b leaves: a takes its partitions and replays them from the start, so it now
  // holds every user (the events it had already stored are not stored again).
  source_b.reset();
  ASSERT_TRUE(eventually([&] { return source_a->stats().partitions.size() == kPartitions; }, 60s));
  ASSERT_TRUE(eventually([&] { return a->stats().events == 400; }, 30s)) << a->stats().events;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(a->stats().events, 400u);
  for (int u = 0; u < 40; ++u) EXPECT_EQ(history_size(*a, "u" + std::to_string(u)), 10u);
}

TEST(KafkaSourceTest, ATrainerTakesEveryPartitionOutsideTheGroupShare) {
  MockKafka kafka;
  kafka.produce_events(0, 100, 10, 1000000);
  kafka.flush();
  TempDir dir;
  auto serving = open_engine(dir.file("serving"));
  auto trainer = open_engine(dir.file("trainer"));
  auto share = KafkaSource::start(*serving, options_for(kafka)).value();
  KafkaOptions all = options_for(kafka);
  all.all_partitions = true;
  auto whole = KafkaSource::start(*trainer, all).value();
  // The trainer has every event at once; the group member still gets every partition too,
  // since the trainer is not in the group.
  ASSERT_TRUE(eventually([&] { return trainer->stats().events == 100 && serving->stats().events == 100; }));
  EXPECT_EQ(whole->stats().partitions.size(), static_cast<size_t>(kPartitions));
  EXPECT_EQ(share->stats().partitions.size(), static_cast<size_t>(kPartitions));
}

}  // namespace
}  // namespace nudge::serve
