// Replicas coordinating through a real redis-server: one leader trains and publishes, every
// replica hot-swaps to the published model, leadership moves when the leader leaves, and
// losing Redis keeps every replica serving.
#include "serve/cluster.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/serve/import.h"
#include "nudge/synth.h"
#include "redis_server.h"
#include "serve/http_api.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::eventually;
using nudge::testing::RedisServer;
using nudge::testing::TempDir;
using namespace std::chrono_literals;

const Dataset& planted() {
  static const SynthData data = [] {
    SynthOptions so;
    so.num_users = 200;
    so.num_items = 150;
    so.num_interactions = 5000;
    so.num_topics = 5;
    so.seed = 3;
    return synthesize(so).value();
  }();
  return data.dataset;
}

// A replica's engine holding the planted events; it never retrains on its own.
std::unique_ptr<Engine> replica(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.model.spec = "ials:factors=8,iterations=3,threads=1";
  o.train_on_start = false;
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  o.store.sync = false;
  auto engine = Engine::open(o).value();
  EXPECT_TRUE(import_dataset(*engine, planted()).is_ok());
  return engine;
}

ClusterOptions options(const RedisServer& redis, const std::string& id, bool trainer, const std::string& model_dir) {
  ClusterOptions o;
  o.redis.address = redis.address();
  o.redis.timeout_ms = 500;
  o.name = "test";
  o.replica_id = id;
  o.trainer = trainer;
  o.model_dir = model_dir;
  o.lease_ms = 1000;
  o.poll_ms = 50;
  return o;
}

// The top 10 of a user of the planted data (the k-th user).
std::vector<std::string> top_items(const Engine& engine, uint32_t k) {
  RecommendRequest request;
  request.user = planted().catalog().users.id_of(k);
  request.k = 10;
  std::vector<std::string> items;
  auto answer = engine.recommend(request);
  EXPECT_TRUE(answer.is_ok()) << answer.status().to_string();
  if (answer.is_ok())
    for (const auto& r : answer.value().items) items.push_back(r.item);
  return items;
}

TEST(ClusterTest, OneLeaderTrainsAndEveryReplicaServesItsModel) {
  RedisServer redis;
  TempDir dir;
  const std::string shared = dir.file("models");
  auto a = replica(dir.file("a")), b = replica(dir.file("b")), c = replica(dir.file("c"));
  auto ca = Cluster::start(*a, options(redis, "a", true, shared)).value();
  auto cb = Cluster::start(*b, options(redis, "b", true, shared)).value();
  auto cc = Cluster::start(*c, options(redis, "c", false, "")).value();

  // One trainer leads; with no model published yet it trains the first one at once.
  ASSERT_TRUE(eventually([&] { return ca->stats().leader != cb->stats().leader; }));
  Cluster* leader = ca->stats().leader ? ca.get() : cb.get();
  Engine* leading = ca->stats().leader ? a.get() : b.get();
  Engine* standby = ca->stats().leader ? b.get() : a.get();
  ASSERT_TRUE(eventually([&] { return leader->stats().published_version > 0; }));
  const uint64_t v1 = leader->stats().published_version;
  // Every other replica installs it: the same version, the same answers.
  // (installed_version is set just after the swap, so it is part of the wait, not checked after it.)
  ASSERT_TRUE(eventually([&] {
    return c->stats().model_version == v1 && standby->stats().model_version == v1 &&
           cc->stats().installed_version == v1;
  }));
  EXPECT_EQ(top_items(*c, 1), top_items(*leading, 1));
  EXPECT_FALSE(cc->stats().leader);  // a serving replica never leads
  {  // and refuses POST /v1/retrain: it would number a model of its own share of the events
    HttpApi api(*c, HttpApiOptions{});
    api.set_cluster(cc.get());
    std::promise<HttpResponse> answer;
    api.handle({"POST", "/v1/retrain", "", ""}, [&](HttpResponse r) { answer.set_value(std::move(r)); });
    const HttpResponse r = answer.get_future().get();
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_NE(r.body.find("not the cluster's leader"), std::string::npos) << r.body;
    EXPECT_EQ(c->stats().model_version, v1);
  }

  // The leader leaves: the standby trainer takes over, and its next model reaches everyone.
  const bool a_led = ca->stats().leader;
  (a_led ? ca : cb).reset();
  Cluster* next = a_led ? cb.get() : ca.get();
  ASSERT_TRUE(eventually([&] { return next->stats().leader; }, 5s));
  std::promise<Status> retrained;
  standby->request_retrain([&](const Status& s) { retrained.set_value(s); });
  ASSERT_OK(retrained.get_future().get());
  ASSERT_TRUE(eventually([&] { return next->stats().published_version > v1; }));
  const uint64_t v2 = next->stats().published_version;
  ASSERT_TRUE(eventually([&] { return c->stats().model_version == v2; }));
  // Older files are cleaned up only a few versions later; the newest is there.
  EXPECT_TRUE(std::filesystem::exists(shared + "/model-" + std::to_string(v2) + ".nudge"));
}

// A model trained outside the cluster (nudge-train-mpi writes the same file) reaches every
// replica of a cluster without trainers; while a trainer leads, publishing is refused.
TEST(ClusterTest, AModelFileTrainedElsewhereIsPublishedToEveryReplica) {
  RedisServer redis;
  TempDir dir;
  const std::string shared = dir.file("models");
  auto model = make_recommender_from_spec("ials:factors=8,iterations=3,threads=1").value();
  ASSERT_OK(model->fit(planted()));
  const std::string file = dir.file("offline.nudge");
  ASSERT_OK(save_model(*model, planted().catalog().users, planted().catalog().items, planted().user_items(), file));
  auto a = replica(dir.file("a")), b = replica(dir.file("b"));
  auto ca = Cluster::start(*a, options(redis, "a", false, "")).value();
  auto cb = Cluster::start(*b, options(redis, "b", false, "")).value();
  auto v1 = publish_model_file(options(redis, "", false, shared), file);
  ASSERT_TRUE(v1.is_ok()) << v1.status().to_string();
  EXPECT_EQ(v1.value(), 1u);
  ASSERT_TRUE(eventually([&] { return ca->stats().installed_version == 1 && cb->stats().installed_version == 1; }));
  EXPECT_EQ(top_items(*a, 1), top_items(*b, 1));
  auto v2 = publish_model_file(options(redis, "", false, shared), file);
  ASSERT_TRUE(v2.is_ok()) << v2.status().to_string();
  EXPECT_EQ(v2.value(), 2u);  // one past the published version
  ASSERT_TRUE(eventually([&] { return ca->stats().installed_version == 2; }));
  // What no replica could install is never published.
  nudge::testing::write_file(dir.file("bad.nudge"), "not a model");
  EXPECT_FALSE(publish_model_file(options(redis, "", false, shared), dir.file("bad.nudge")).is_ok());
  // A leading trainer would replace the model at its next retrain: refused, naming it.
  auto t = replica(dir.file("t"));
  auto ct = Cluster::start(*t, options(redis, "trainer-t", true, shared)).value();
  ASSERT_TRUE(eventually([&] { return ct->stats().leader; }));
  auto refused = publish_model_file(options(redis, "", false, shared), file);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("trainer-t leads and trains"), std::string::npos)
      << refused.status().to_string();
}

TEST(ClusterTest, LosingRedisKeepsServingStepsDownAndRecovers) {
  RedisServer redis;
  TempDir dir;
  auto a = replica(dir.file("a")), c = replica(dir.file("c"));
  auto ca = Cluster::start(*a, options(redis, "a", true, dir.file("models"))).value();
  auto cc = Cluster::start(*c, options(redis, "c", false, "")).value();
  ASSERT_TRUE(eventually([&] { return cc->stats().installed_version > 0; }));
  const uint64_t v1 = cc->stats().installed_version;

  redis.stop();
  // Within half the lease the leader gives up leading; both replicas go on serving.
  ASSERT_TRUE(eventually([&] { return !ca->stats().leader && !ca->stats().redis_connected; }, 5s));
  EXPECT_FALSE(top_items(*c, 1).empty());
  EXPECT_FALSE(top_items(*a, 1).empty());
  EXPECT_EQ(c->stats().model_version, v1);

  // Redis comes back empty (no persistence): the trainer leads again and publishes anew.
  redis.start();
  ASSERT_TRUE(eventually([&] { return ca->stats().leader && ca->stats().redis_connected; }, 10s));
  ASSERT_TRUE(eventually([&] { return cc->stats().installed_version > v1; }));
  EXPECT_EQ(ca->stats().leader_changes, 2u);
}

TEST(ClusterTest, StartupErrorsNameWhatIsWrong) {
  TempDir dir;
  auto a = replica(dir.file("a"));
  ClusterOptions o;
  o.redis.address = "127.0.0.1:1";
  o.redis.timeout_ms = 300;
  auto unreachable = Cluster::start(*a, o);
  ASSERT_FALSE(unreachable.is_ok());
  EXPECT_NE(unreachable.status().message().find("redis 127.0.0.1:1"), std::string::npos);

  RedisServer redis;
  ClusterOptions trainer = options(redis, "t", true, "");
  EXPECT_EQ(Cluster::start(*a, trainer).status().field(), "cluster.model_dir");
  nudge::testing::write_file(dir.file("file"), "x");
  trainer.model_dir = dir.file("file") + "/models";  // under a regular file
  auto unwritable = Cluster::start(*a, trainer);
  ASSERT_FALSE(unwritable.is_ok());
  EXPECT_NE(unwritable.status().message().find("model_dir"), std::string::npos);
  ClusterOptions hasty = options(redis, "h", false, "");
  hasty.lease_ms = 100;
  EXPECT_EQ(Cluster::start(*a, hasty).status().field(), "cluster.lease_ms");
  ClusterOptions unroutable = options(redis, "u", false, "");
  unroutable.advertise = "10.0.0.7:8080";  // no scheme
  EXPECT_EQ(Cluster::start(*a, unroutable).status().field(), "cluster.advertise");
  ClusterOptions spaced = options(redis, "a b", false, "");  // the owners table separates on spaces
  EXPECT_EQ(Cluster::start(*a, spaced).status().field(), "cluster.replica_id");
}

// A malformed owners entry (written by hand, or by an older version) is skipped with a
// warning; the well-formed ones still route.
TEST(ClusterTest, MalformedOwnerEntriesAreSkipped) {
  TempDir dir;
  auto a = replica(dir.file("a"));
  RedisServer redis;
  auto writer = RedisClient::connect({redis.address(), 500}).value();
  ASSERT_TRUE(writer->command({"HSET", "test:owners", "0", "b http://127.0.0.1:9", "x", "c http://h:1", "2", "nospace"})
                  .is_ok());
  auto cluster = Cluster::start(*a, options(redis, "a", false, "")).value();
  ASSERT_TRUE(eventually([&] { return cluster->owner_url(0) == "http://127.0.0.1:9"; }, 10s));
  EXPECT_EQ(cluster->owner_url(2), "");
  cluster->set_owned_partitions({0});  // its own assignment wins over the table
  EXPECT_EQ(cluster->owner_url(0), "");
}

}  // namespace
}  // namespace nudge::serve
