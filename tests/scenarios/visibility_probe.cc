// How soon an event sent through the front door changes its user's recommendations on every
// replica (tests/scenarios/replicas.sh). For each trial: ask the front door for user U's top
// items, post an event on the first one X through the front door, then ask each replica in
// turn until X has left U's list (a seen item is excluded) on all of them. Prints the
// percentiles of that delay, from the event's POST to the last replica's answer without X.
// Each trial is a new user ("probe-<n>"), so the scenario's own users keep their counts.
// Usage: visibility_probe FRONT_PORT REPLICA_PORT[,REPLICA_PORT...] TRIALS LIMIT_MS
// Exits 1 when a trial's event is not visible everywhere within LIMIT_MS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "serve/http_client.h"

namespace {

using nudge::testing::HttpClient;
using Clock = std::chrono::steady_clock;

std::vector<std::string> top_items(HttpClient& client, const std::string& user) {
  const auto reply = client.get("/v1/recommend?user=" + user + "&k=10");
  std::vector<std::string> items;
  if (reply.status != 200) return items;
  const auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("items")) return items;
  for (const auto& it : doc["items"]) items.push_back(it["item"].get<std::string>());
  return items;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

int run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: visibility_probe FRONT_PORT REPLICA_PORTS TRIALS LIMIT_MS\n");
    return 2;
  }
  HttpClient front(static_cast<uint16_t>(std::stoi(argv[1])));
  std::vector<std::unique_ptr<HttpClient>> replicas;
  std::stringstream ports(argv[2]);
  for (std::string p; std::getline(ports, p, ',');)
    replicas.push_back(std::make_unique<HttpClient>(static_cast<uint16_t>(std::stoi(p))));
  const int trials = std::stoi(argv[3]);
  const double limit_ms = std::stod(argv[4]);
  std::vector<double> delays;
  for (int t = 0; t < trials; ++t) {
    const std::string user = "probe-" + std::to_string(t);
    const auto before = top_items(front, user);
    if (before.empty()) {
      std::fprintf(stderr, "visibility_probe: no recommendations for %s\n", user.c_str());
      return 1;
    }
    const std::string& item = before.front();
    const auto start = Clock::now();
    const auto posted = front.post("/v1/events", R"({"user":")" + user + R"(","item":")" + item + R"("})");
    if (posted.status != 200) {
      std::fprintf(stderr, "visibility_probe: POST /v1/events answered %d: %s\n", posted.status, posted.body.c_str());
      return 1;
    }
    // Visible once every replica, asked one after the other, answers without the item.
    size_t clean = 0, next = 0;
    double ms = 0;
    while (clean < replicas.size()) {
      const auto items = top_items(*replicas[next], user);
      next = (next + 1) % replicas.size();
      clean = std::find(items.begin(), items.end(), item) == items.end() ? clean + 1 : 0;
      ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (ms > limit_ms) {
        std::fprintf(stderr, "visibility_probe: %s's event on %s not visible everywhere after %.0f ms\n", user.c_str(),
                     item.c_str(), ms);
        return 1;
      }
    }
    delays.push_back(ms);
  }
  std::printf(
      "visibility: %d events through the front door, each in its user's recommendations on all %zu "
      "replicas after p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      trials, replicas.size(), percentile(delays, 0.5), percentile(delays, 0.99),
      *std::max_element(delays.begin(), delays.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "visibility_probe: %s\n", e.what());
    return 1;
  }
}
