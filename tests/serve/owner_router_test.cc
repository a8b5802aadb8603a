// Requests about a user reach the replica owning the user's partition: two replicas, each an
// engine behind a real HTTP server, publishing their partitions through a real redis-server.
#include "serve/owner_router.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "serve/http_client.h"
#include "serve/http_server.h"
#include "serve/kafka_producer.h"
#include "serve/redis_server.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::eventually;
using nudge::testing::HttpClient;
using nudge::testing::RedisServer;
using nudge::testing::TempDir;
using namespace std::chrono_literals;

constexpr int32_t kPartitions = 4;

// One replica: an engine with some users' events, its API and server, its cluster membership.
struct Replica {
  TempDir dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<Cluster> cluster;
  std::unique_ptr<OwnerRouter> router;

  Replica(const RedisServer& redis, const std::string& id, const std::vector<std::string>& users) {
    EngineOptions o;
    o.data_dir = dir.file("data");
    o.train_on_start = false;
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    o.store.sync = false;
    engine = Engine::open(o).value();
    std::vector<Event> events;
    for (const std::string& u : users) events.push_back({u, "i-" + u, "view", 1.f, 1700000000});
    EXPECT_TRUE(engine->ingest(events).is_ok());
    api = std::make_unique<HttpApi>(*engine, HttpApiOptions{});
    HttpServerOptions so;
    so.port = 0;
    so.threads = 2;
    server = std::make_unique<HttpServer>(*api, so);
    EXPECT_TRUE(server->start().is_ok());
    ClusterOptions co;
    co.redis.address = redis.address();
    co.redis.timeout_ms = 500;
    co.name = "routing";
    co.replica_id = id;
    co.lease_ms = 1000;
    co.poll_ms = 50;
    cluster = Cluster::start(*engine, co).value();
    cluster->set_advertise(url());
    router = std::make_unique<OwnerRouter>(*cluster, kPartitions, 500);
    api->set_cluster(cluster.get());
    api->set_router(router.get());
  }
  ~Replica() {
    if (server) server->stop();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  int user_status(const std::string& user) { return HttpClient(server->port()).get("/v1/users/" + user).status; }
};

// A user in partition `p`, and one in another partition.
std::string user_in(int32_t p, int32_t avoid = -1) {
  for (int k = 0;; ++k) {
    const std::string u = "user" + std::to_string(k);
    const int32_t at = kafka_partition_of(u, kPartitions);
    if ((p >= 0 && at == p) || (p < 0 && at != avoid)) return u;
  }
}

TEST(OwnerRouterTest, EachReplicaAnswersForUsersItDoesNotOwnThroughTheOwner) {
  RedisServer redis;
  const std::string held_by_b = user_in(0), held_by_a = user_in(-1, 0);
  const int32_t pa = kafka_partition_of(held_by_a, kPartitions);
  Replica a(redis, "a", {held_by_a}), b(redis, "b", {held_by_b});
  a.cluster->set_owned_partitions({1, 2, 3});
  b.cluster->set_owned_partitions({0});
  ASSERT_TRUE(
      eventually([&] { return a.cluster->owner_url(0) == b.url() && b.cluster->owner_url(pa) == a.url(); }, 10s));
  EXPECT_EQ(a.cluster->owner_url(1), "");  // its own

  // Whichever replica is asked, the owner answers: both users are known on both replicas.
  for (Replica* r : {&a, &b}) {
    EXPECT_EQ(r->user_status(held_by_a), 200);
    EXPECT_EQ(r->user_status(held_by_b), 200);
  }
  const auto reply = HttpClient(a.server->port()).get("/v1/recommend?user=" + held_by_b + "&k=3");
  EXPECT_EQ(reply.status, 200) << reply.body;  // recommendations go the same way (no model: popular items)
  // So do a user's attributes: PUT on a lands on b, the owner.
  const auto put = HttpClient(a.server->port())
                       .request(boost::beast::http::verb::put, "/v1/users/" + held_by_b, R"({"tier":"gold"})");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_NE(b.engine->user_info(held_by_b)->attributes_json.find("gold"), std::string::npos);
  EXPECT_EQ(a.router->stats().forwarded, 3u);
  EXPECT_EQ(b.router->stats().forwarded, 1u);
  EXPECT_EQ(a.router->stats().failures, 0u);

  // A forwarded request is answered where it lands, never sent on again: b does not hold
  // a's user, and says so, although the table names a as its owner.
  HttpRequest get{"GET", "/v1/users/" + held_by_a, "", ""};
  auto direct = forward_request(b.url(), get, 1000);
  ASSERT_TRUE(direct.is_ok()) << direct.status().to_string();
  EXPECT_EQ(direct->status, 404);

  // An owner that is gone: the replica answers from what it holds, and counts the failure.
  b.server->stop();
  b.server.reset();
  EXPECT_EQ(a.user_status(held_by_b), 404);
  EXPECT_EQ(a.router->stats().failures, 1u);

  // A partition given up leaves the table (only the owner's own entry is removed).
  b.cluster->set_owned_partitions({});
  EXPECT_TRUE(eventually([&] { return a.cluster->owner_url(0).empty(); }, 10s));
}

TEST(OwnerRouterTest, ForwardingErrorsNameTheOwner) {
  HttpRequest get{"GET", "/healthz", "", ""};
  auto bad = forward_request("ftp://x:1", get, 100);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  auto closed = forward_request("http://127.0.0.1:1", get, 1000);
  ASSERT_FALSE(closed.is_ok());
  EXPECT_NE(closed.status().message().find("owner http://127.0.0.1:1"), std::string::npos);

  // A listener that never answers costs the timeout, no more.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto start = std::chrono::steady_clock::now();
  auto silent = forward_request("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), get, 300);
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  ASSERT_FALSE(silent.is_ok());
  EXPECT_NE(silent.status().message().find("no answer within 300 ms"), std::string::npos)
      << silent.status().to_string();
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace nudge::serve
