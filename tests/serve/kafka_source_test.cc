// The Kafka event source against librdkafka's mock cluster (real protocol, in process):
// every event stored once, offsets resumed from the store, bad messages skipped, startup
// errors, brokers lost and back, and partitions moving between two replicas.
#include "serve/kafka_source.h"

#include "serve/kafka_producer.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "serve/mock_kafka.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::eventually;
using nudge::testing::TempDir;
using namespace std::chrono_literals;

using nudge::testing::kPartitions;
using nudge::testing::kTopic;
using nudge::testing::MockKafka;

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
  EXPECT_EQ(source.value()->stats().misplaced, 0u);  // the producer hashes as kafka_partition_of
  EXPECT_EQ(history_size(*engine, "u0"), 12u);       // 10 single events and the batch of 2
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
  // Valid, but not where the murmur2 hash of its key puts it: stored, and counted as misplaced
  // (requests for u3 would be routed to another partition's owner).
  const int32_t wrong = (kafka_partition_of("u3", kPartitions) + 1) % kPartitions;
  kafka.produce_to(wrong, "u3", R"({"user":"u3","item":"x"})");
  kafka.flush();
  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  auto source = KafkaSource::start(*engine, options_for(kafka)).value();
  ASSERT_TRUE(eventually([&] { return source->stats().messages == bad.size() + 3; }));
  EXPECT_EQ(source->stats().bad_messages, bad.size() + 1);
  EXPECT_EQ(source->stats().misplaced, 1u);
  EXPECT_EQ(engine->stats().events, 2u);
  EXPECT_EQ(history_size(*engine, "u1"), 1u);
  EXPECT_EQ(history_size(*engine, "u3"), 1u);
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

// Past the session timeout the group drops this member, but no other member got its
// partitions: it keeps them as published (the owners table is not emptied) and says it is
// not connected; once the brokers return it is assigned again and catches up.
TEST(KafkaSourceTest, AnOutageLongerThanTheSessionKeepsThePublishedAssignment) {
  MockKafka kafka;
  kafka.produce_events(0, 50, 5, 1000000);
  kafka.flush();
  TempDir dir;
  auto engine = open_engine(dir.file("data"));
  KafkaOptions o = options_for(kafka);
  std::mutex mutex;
  std::vector<std::vector<int32_t>> published;
  o.on_assignment = [&](const std::vector<int32_t>& now) {
    std::lock_guard lock(mutex);
    published.push_back(now);
  };
  auto source = KafkaSource::start(*engine, o).value();
  ASSERT_TRUE(eventually([&] { return source->stats().events == 50; }));
  const auto before = source->stats().partitions;
  ASSERT_EQ(before.size(), static_cast<size_t>(kPartitions));
  kafka.set_brokers_up(false);
  std::this_thread::sleep_for(9000ms);  // session.timeout.ms is 6000
  EXPECT_FALSE(source->stats().connected);
  EXPECT_EQ(source->stats().partitions, before);
  {
    std::lock_guard lock(mutex);
    for (const auto& p : published) EXPECT_FALSE(p.empty()) << "the assignment was published empty";
  }
  EXPECT_EQ(history_size(*engine, "u1"), 10u);  // still served
  kafka.set_brokers_up(true);
  kafka.produce_events(50, 100, 5, 1000000);
  kafka.flush();
  ASSERT_TRUE(eventually([&] { return source->stats().events == 100; }, 60s)) << source->stats().events;
  EXPECT_TRUE(eventually([&] { return source->stats().connected; }));
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
