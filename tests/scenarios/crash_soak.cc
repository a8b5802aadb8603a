// Crash soak: `nudge serve` is killed with SIGKILL at random moments while several clients
// post events; after every kill the store must open cleanly (no undecodable records) and hold
// every event the server acknowledged, in this cycle and all earlier ones.
//
// Usage: crash_soak NUDGE_CLI [--cycles N] [--clients N] [--seed N] [--min-ms N] [--max-ms N]
// Prints one line per cycle and a summary; exits 1 if any acknowledged event is missing.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "../serve/http_client.h"
#include "../serve/server_process.h"
#include "../test_util.h"
#include "serve/event_store.h"

namespace {

using nudge::testing::HttpClient;
using nudge::testing::ServerProcess;

struct Options {
  std::string cli;
  int cycles = 5;
  int clients = 4;
  uint64_t seed = 42;
  int min_ms = 150;
  int max_ms = 1200;
};

bool parse_args(int argc, char** argv, Options* o) {
  if (argc < 2) return false;
  o->cli = argv[1];
  for (int k = 2; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    const long long v = std::atoll(argv[k + 1]);
    if (v < 0) return false;
    if (flag == "--cycles") o->cycles = static_cast<int>(v);
    else if (flag == "--clients") o->clients = static_cast<int>(v);
    else if (flag == "--seed") o->seed = static_cast<uint64_t>(v);
    else if (flag == "--min-ms") o->min_ms = static_cast<int>(v);
    else if (flag == "--max-ms") o->max_ms = static_cast<int>(v);
    else return false;
  }
  return (argc % 2) == 0 && o->cycles > 0 && o->clients > 0 && o->min_ms <= o->max_ms;
}

// Posts batches of 5 events (user "c<client>", a unique item per event) until the server
// dies; returns the keys ("user/item") of the events it acknowledged.
std::vector<std::string> post_until_killed(uint16_t port, int client, int cycle) {
  std::vector<std::string> acked;
  const std::string user = "c" + std::to_string(client);
  try {
    HttpClient c(port);
    for (int n = 0;; ++n) {
      std::string body = "[";
      std::vector<std::string> items;
      for (int k = 0; k < 5; ++k) {
        items.push_back(std::to_string(cycle) + "-" + std::to_string(n) + "-" + std::to_string(k));
        body +=
            std::string(k ? "," : "") + R"({"user":")" + user + R"(","item":")" + items.back() + R"(","type":"cart"})";
      }
      body += "]";
      if (c.post("/v1/events", body).status != 200) break;
      for (const auto& item : items) acked.push_back(user + "/" + item);
    }
  } catch (const std::exception&) {
    // The connection dies with the server: what was acknowledged is in `acked`.
  }
  return acked;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: crash_soak NUDGE_CLI [--cycles N] [--clients N] [--seed N] [--min-ms N] [--max-ms N]\n");
    return 1;
  }
  nudge::testing::TempDir dir;
  const std::string data = dir.file("data");
  nudge::testing::write_file(dir.file("soak.toml"), "[retrain]\non_start = false\ninterval_s = 0\nafter_events = 0\n");
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int> kill_after(o.min_ms, o.max_ms);
  std::unordered_set<std::string> acked_total;
  uint64_t lost_total = 0, stored = 0;
  for (int cycle = 0; cycle < o.cycles; ++cycle) {
    ServerProcess server(o.cli, data, dir.file("port"), {"--config", dir.file("soak.toml")});
    if (server.port() == 0) {
      std::fprintf(stderr, "cycle %d: the server did not come back up\n", cycle);
      return 1;
    }
    std::vector<std::vector<std::string>> acked(o.clients);
    std::vector<std::thread> clients;
    for (int t = 0; t < o.clients; ++t)
      clients.emplace_back([&, t] { acked[t] = post_until_killed(server.port(), t, cycle); });
    const int wait_ms = kill_after(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    const int status = server.stop(SIGKILL);
    for (auto& c : clients) c.join();
    if (!WIFSIGNALED(status)) {
      std::fprintf(stderr, "cycle %d: the server exited on its own (status %d) before the kill\n", cycle, status);
      return 1;
    }
    size_t acked_now = 0;
    for (const auto& a : acked) {
      acked_now += a.size();
      acked_total.insert(a.begin(), a.end());
    }
    // The store, opened as the next server will open it, must hold every acknowledged event.
    auto store = nudge::serve::EventStore::open(data + "/events");
    if (!store.is_ok()) {
      std::fprintf(stderr, "cycle %d: the store does not open: %s\n", cycle, store.status().to_string().c_str());
      return 1;
    }
    std::unordered_set<std::string> present;
    const auto scanned =
        store.value()->scan_events([&](uint64_t, nudge::serve::Event&& e) { present.insert(e.user + "/" + e.item); });
    if (!scanned.is_ok() || store.value()->records_skipped() != 0) {
      std::fprintf(stderr, "cycle %d: the store scan failed (%s) or skipped %llu records\n", cycle,
                   scanned.to_string().c_str(), static_cast<unsigned long long>(store.value()->records_skipped()));
      return 1;
    }
    uint64_t lost = 0;
    for (const auto& key : acked_total) lost += present.count(key) == 0;
    lost_total += lost;
    stored = present.size();
    std::printf(
        "cycle %d: killed after %d ms, %zu events acknowledged this cycle, %zu in all, %llu stored, %llu lost\n",
        cycle + 1, wait_ms, acked_now, acked_total.size(), static_cast<unsigned long long>(stored),
        static_cast<unsigned long long>(lost));
    std::fflush(stdout);
  }
  std::printf("crash soak: %d kill -9 cycles, %d clients, %zu events acknowledged, %llu stored, %llu lost\n", o.cycles,
              o.clients, acked_total.size(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(lost_total));
  return lost_total == 0 ? 0 : 1;
}
