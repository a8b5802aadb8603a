// The real `nudge serve` process driven over loopback HTTP: events change the next answer,
// error codes, body limit and hot swap under concurrent requests. (The SIGKILL fault
// scenario is in tests/scenarios/sigkill_test.cc.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/write.hpp>

#include "http_client.h"
#include "nudge/serve/server.h"
#include "server_process.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nlohmann::json;
using nudge::testing::HttpClient;
using nudge::testing::TempDir;
namespace http = boost::beast::http;

// Runs `nudge serve` on a free port with its data in `dir`.
class ServerProcess : public nudge::testing::ServerProcess {
 public:
  explicit ServerProcess(const TempDir& dir, std::vector<std::string> extra = {})
      : nudge::testing::ServerProcess(NUDGE_CLI, dir.file("data"), dir.file("port"), with_factors(std::move(extra))) {
    EXPECT_NE(port(), 0) << "server did not start";
  }

 private:
  static std::vector<std::string> with_factors(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--factors", "16"});
    return extra;
  }
};

std::string fmt_user(char group, int u) { return std::string(1, group) + "user" + std::to_string(u); }

std::string import_file(const TempDir& dir) {
  // Two groups of users and items with no overlap: a-users like a-items, b-users b-items.
  std::string csv = "user_id,item_id,type,value,timestamp\n";
  for (int u = 0; u < 60; ++u)
    for (int i = 0; i < 8; ++i) {
      const char g = u % 2 ? 'a' : 'b';
      csv += fmt_user(g, u) + "," + std::string(1, g) + std::to_string((u + i) % 20) + ",view,1,1700000000\n";
    }
  nudge::testing::write_file(dir.file("events.csv"), csv);
  return dir.file("events.csv");
}

// Runs a CLI command, failing the test on a non-zero exit; returns its standard output.
std::string run_cli(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("cli.out");
  const int rc = std::system((std::string(NUDGE_CLI) + " -q " + args + " > " + out + " 2>&1").c_str());
  EXPECT_EQ(rc, 0) << args << ":\n" << nudge::testing::read_file(out);
  return nudge::testing::read_file(out);
}

// "Same answers offline and online": a fusion trained by `nudge train`, served with
// --model-file; a new user's history POSTed as events gets, over HTTP, the top 10 that
// `nudge recommend --model-file ... --history ...` prints for that history.
TEST(Server, ServesAModelFileAsNudgeRecommendAnswersForTheSameHistory) {
  TempDir dir;
  run_cli(dir, "synth --users 200 --items 120 --interactions 4000 --seed 3 --out " + dir.file("syn"));
  run_cli(dir, "train -i " + dir.file("syn/interactions.csv") + " --item-features " + dir.file("syn/items.csv") +
                   " -m fusion:models=ials+twotower,ials.factors=8,ials.threads=1,twotower.epochs=3,"
                   "twotower.threads=1 -o " +
                   dir.file("f.nudge"));
  ServerProcess server(dir, {"--model-file", dir.file("f.nudge")});
  HttpClient c(server.port());
  auto r = c.post("/v1/events", R"([{"user":"visitor","item":"i3"},{"user":"visitor","item":"i17"},)"
                                R"({"user":"visitor","item":"i40"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  r = c.get("/v1/recommend?user=visitor&k=10");
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> served;
  const json answer = json::parse(r.body);
  for (const auto& item : answer["items"]) served.push_back(item["item"].get<std::string>());
  EXPECT_EQ(json::parse(c.get("/v1/model").body)["kind"], "fusion");
  // nudge recommend prints "  rank  item  score" lines under a title.
  std::istringstream printed(
      run_cli(dir, "recommend --model-file " + dir.file("f.nudge") + " --history i3 i17 i40 -k 10"));
  std::vector<std::string> offline;
  std::string line;
  while (std::getline(printed, line)) {
    std::istringstream words(line);
    int rank = 0;
    std::string item;
    if (words >> rank >> item) offline.push_back(item);
  }
  ASSERT_EQ(offline.size(), 10u);
  EXPECT_EQ(served, offline) << r.body;
}

// Users imported with attributes (--import-users) teach the two-tower user tower; a user PUT
// with attributes and no event is answered from them, over HTTP, and explained by them.
TEST(Server, AUserPutWithAttributesIsServedFromThemAtOnce) {
  TempDir dir;
  run_cli(dir, "synth --users 300 --items 120 --interactions 6000 --seed 3 --out " + dir.file("syn"));
  ServerProcess server(
      dir, {"--import", dir.file("syn/interactions.csv"), "--import-items", dir.file("syn/items.csv"), "--import-users",
            dir.file("syn/users.csv"), "-m", "twotower:factors=8,epochs=5,threads=1"});
  HttpClient c(server.port());
  auto r = c.request(boost::beast::http::verb::put, "/v1/users/newcomer", R"({"segment":"s02","country":"fr"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = c.get("/v1/recommend?user=newcomer&k=5&explain=true");
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer["source"], "personal") << r.body;
  ASSERT_EQ(answer["items"].size(), 5u);
  EXPECT_EQ(answer["items"][0]["reason"], "attributes") << r.body;
  const auto because = answer["items"][0]["because"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(because.begin(), because.end(), "segment=s02"), because.end()) << r.body;
}

TEST(Server, EventsChangeTheNextRecommendation) {
  TempDir dir;
  ServerProcess server(dir, {"--import", import_file(dir)});
  HttpClient c(server.port());
  auto r = c.get("/v1/recommend?user=newcomer&k=5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["source"], "trending");
  r = c.post("/v1/events",
             R"({"events":[{"user":"newcomer","item":"a3","type":"purchase"},{"user":"newcomer","item":"a4"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["accepted"], 2);
  r = c.get("/v1/recommend?user=newcomer&k=5&explain=true");
  ASSERT_EQ(r.status, 200);
  const json j = json::parse(r.body);
  EXPECT_EQ(j["source"], "personal");
  for (const auto& item : j["items"]) {
    EXPECT_EQ(item["item"].get<std::string>()[0], 'a') << r.body;
    EXPECT_EQ(item["reason"], "similar_items");
  }
  r = c.get("/v1/users/newcomer");
  EXPECT_EQ(json::parse(r.body)["history"].size(), 2u);
}

TEST(Server, MalformedRequestsGetTheRightCodes) {
  TempDir dir;
  ServerProcess server(dir, {"--import", import_file(dir), "--api-key", "k3y"});
  HttpClient c(server.port());
  auto expect = [&](http::verb verb, const std::string& target, const std::string& body, int status,
                    const std::string& field, const std::string& bearer = "k3y") {
    auto r = c.request(verb, target, body, bearer);
    EXPECT_EQ(r.status, status) << target << " " << body << " -> " << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j.value("field", ""), field) << r.body;
    EXPECT_FALSE(j.value("error", "").empty());
  };
  expect(http::verb::post, "/v1/events", "{\"user\": ", 400, "body");
  expect(http::verb::post, "/v1/events", R"({"user":"u","item":"i","value":"NaN"})", 400, "event.value");
  expect(http::verb::post, "/v1/events", R"({"user":"u","item":"i","value":1e40})", 400, "event.value");
  expect(http::verb::post, "/v1/events", R"([{"user":"u","item":"i"},{"user":"u"}])", 400, "events[1].item");
  expect(http::verb::post, "/v1/events", R"({"user":"u","item":"i","colour":"red"})", 400, "event.colour");
  expect(http::verb::post, "/v1/events", R"({"user":"u","item":"i"})", 401, "Authorization", "wrong");
  expect(http::verb::get, "/v1/recommend?k=5", "", 400, "user");
  expect(http::verb::get, "/v1/recommend?user=x&k=abc", "", 400, "k");
  expect(http::verb::get, "/v1/recommend?user=x&kk=1", "", 400, "kk");
  expect(http::verb::get, "/v1/recommend?user=x&pin=zzz:1", "", 404, "pin");
  expect(http::verb::get, "/v1/similar?item=zzz", "", 404, "item");
  expect(http::verb::delete_, "/v1/items/zzz", "", 404, "id");
  expect(http::verb::put, "/v1/items/new", R"({"price":"cheap"})", 400, "price");
  expect(http::verb::get, "/v1/users/nobody", "", 404, "id");
  expect(http::verb::get, "/v2/nothing", "", 404, "path");
  expect(http::verb::post, "/v1/recommend?user=x", "", 405, "method");
  // A body over the limit (8 MiB by default) is refused from its Content-Length: 413, and
  // the connection closes without reading the body.
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
    const std::string head =
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k3y\r\n"
        "Content-Length: 9437184\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(head));
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_EQ(res.result_int(), 413u);
    EXPECT_EQ(json::parse(res.body())["field"], "body");
  }
  HttpClient fresh(server.port());
  auto health = fresh.get("/healthz");
  EXPECT_EQ(health.status, 200);                       // still up
  EXPECT_EQ(json::parse(health.body)["events"], 480);  // and nothing bad was stored
  auto metrics = fresh.get("/metrics");
  EXPECT_NE(metrics.body.find("nudge_http_requests_total{endpoint=\"events\",code=\"4xx\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("nudge_http_request_duration_seconds_bucket{endpoint=\"recommend\",le=\"+Inf\"}"),
            std::string::npos);
}

TEST(Server, HotSwapUnderConcurrentRequestsReturnsOnlyValidAnswers) {
  TempDir dir;
  ServerProcess server(dir, {"--import", import_file(dir)});
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, ok{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      HttpClient c(server.port());
      for (int n = 0; !stop; ++n) {
        auto r = c.get("/v1/recommend?k=5&user=" + fmt_user(n % 2 ? 'a' : 'b', (n * 3 + t) % 60));
        const json j = json::parse(r.body, nullptr, false);
        if (r.status != 200 || j.is_discarded() || j["items"].size() != 5) ++bad;
        else ++ok;
      }
    });
  HttpClient admin(server.port());
  uint64_t last = json::parse(admin.get("/healthz").body)["model_version"];
  for (int k = 0; k < 3; ++k) {
    auto r = admin.post("/v1/retrain", "");
    ASSERT_EQ(r.status, 200) << r.body;
    const uint64_t v = json::parse(r.body)["model_version"];
    EXPECT_GT(v, last);
    last = v;
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(ok.load(), 0);
}

TEST(Server, SigtermShutsDownCleanly) {
  TempDir dir;
  ServerProcess server(dir, {"--import", import_file(dir)});
  const int status = server.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// serve::Server in this process: what the CLI drives, without the CLI.
ServeConfig in_process_config(const TempDir& dir) {
  ServeConfig c = default_serve_config();
  c.engine.data_dir = dir.file("data");
  c.engine.model.ials.factors = 8;
  c.engine.retrain_after_events = 0;
  c.engine.retrain_interval_s = 0;
  c.server.port = 0;
  c.server.threads = 1;
  return c;
}

TEST(Server, InProcessServesStopsAndReopensTheSameStore) {
  TempDir dir;
  {
    auto server = Server::open(in_process_config(dir));
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    ASSERT_TRUE(server.value()->start().is_ok());
    ASSERT_NE(server.value()->port(), 0);
    HttpClient c(server.value()->port());
    auto r = c.post("/v1/events", R"([{"user":"u1","item":"i1"},{"user":"u1","item":"i2"},{"user":"u2","item":"i1"}])");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(c.get("/healthz").body)["events"], 3);
    EXPECT_EQ(server.value()->start().code(), Status::Code::kUnsupported);  // started once only
    server.value()->stop();
    server.value()->stop();  // idempotent; the destructor stops again
  }
  auto again = Server::open(in_process_config(dir));
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again.value()->engine().stats().events, 3u);  // acknowledged events survived the shutdown
}

TEST(Server, AStartThatCannotReachRedisFailsAndLeavesNothingListening) {
  TempDir dir;
  ServeConfig c = in_process_config(dir);
  c.cluster.redis.address = "127.0.0.1:1";  // nothing listens on port 1
  c.cluster.redis.timeout_ms = 200;
  auto server = Server::open(c);
  ASSERT_TRUE(server.is_ok()) << server.status().to_string();
  EXPECT_FALSE(server.value()->engine().stats().model_version > 0);  // a replica does not train at start
  const Status st = server.value()->start();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("127.0.0.1:1"), std::string::npos) << st.to_string();
  EXPECT_EQ(server.value()->port(), 0);
}

TEST(Server, ABadExperimentIsRefusedBeforeTheStoreOpens) {
  TempDir dir;
  ServeConfig c = in_process_config(dir);
  c.experiment.name = "no spaces allowed";
  c.engine.arms = {{"control", ""}, {"other", "ease"}};
  auto server = Server::open(c);
  ASSERT_FALSE(server.is_ok());
  EXPECT_NE(server.status().to_string().find("experiment.name"), std::string::npos) << server.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir.file("data")));
}

}  // namespace
}  // namespace nudge::serve
