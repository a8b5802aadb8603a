// Fault scenario: `nudge serve` is killed with SIGKILL mid-ingest while four clients post
// events; every event it acknowledged is in the store and in the restarted server's state.
// (crash_soak runs the same fault many times at random moments.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../serve/http_client.h"
#include "../serve/server_process.h"
#include "../test_util.h"
#include "serve/event_store.h"

namespace nudge::serve {
namespace {

using nlohmann::json;
using nudge::testing::HttpClient;
using nudge::testing::TempDir;

// `nudge serve` on a free port with its data in `dir`.
class ServerProcess : public nudge::testing::ServerProcess {
 public:
  explicit ServerProcess(const TempDir& dir)
      : nudge::testing::ServerProcess(NUDGE_CLI, dir.file("data"), dir.file("port"), {"--factors", "16"}) {
    EXPECT_NE(port(), 0) << "server did not start";
  }
};

TEST(Sigkill, EveryAcknowledgedEventSurvivesIt) {
  TempDir dir;
  std::vector<std::set<std::string>> acked(4);
  {
    ServerProcess server(dir);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&, t] {
        try {
          HttpClient c(server.port());
          for (int n = 0; !stop; ++n) {
            json batch = json::array();
            for (int k = 0; k < 10; ++k)
              batch.push_back(
                  {{"user", "w" + std::to_string(t)}, {"item", "i" + std::to_string(n) + "-" + std::to_string(k)}});
            if (c.post("/v1/events", batch.dump()).status != 200) break;
            for (int k = 0; k < 10; ++k) acked[t].insert("i" + std::to_string(n) + "-" + std::to_string(k));
          }
        } catch (const std::exception&) {
          // The connection dies with the server: whatever was acknowledged is in acked.
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const int status = server.stop(SIGKILL);  // mid-ingest
    EXPECT_TRUE(WIFSIGNALED(status));
    stop = true;
    for (auto& w : writers) w.join();
  }
  size_t total = 0;
  for (const auto& a : acked) total += a.size();
  ASSERT_GT(total, 0u);
  {
    // The store itself holds every acknowledged event.
    auto store = EventStore::open(dir.file("data") + "/events").value();
    std::vector<std::set<std::string>> stored(4);
    ASSERT_TRUE(
        store->scan_events([&](uint64_t, Event&& e) { stored[std::stoi(e.user.substr(1))].insert(e.item); }).is_ok());
    for (int t = 0; t < 4; ++t)
      for (const auto& item : acked[t]) ASSERT_TRUE(stored[t].count(item)) << "lost w" << t << " " << item;
  }
  // And the restarted server's online state has them.
  ServerProcess again(dir);
  HttpClient c(again.port());
  for (int t = 0; t < 4; ++t) {
    auto r = c.get("/v1/users/w" + std::to_string(t));
    if (acked[t].empty()) continue;
    ASSERT_EQ(r.status, 200);
    const json j = json::parse(r.body);
    std::set<std::string> history;
    for (const auto& h : j["history"]) history.insert(h["item"].get<std::string>());
    for (const auto& item : acked[t]) ASSERT_TRUE(history.count(item)) << item;
  }
}

}  // namespace
}  // namespace nudge::serve
