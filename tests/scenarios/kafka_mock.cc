// kafka_mock: a Kafka cluster and a producer for scenario scripts, from librdkafka's mock
// cluster (the real protocol on loopback; no broker is packaged for Debian).
//
//   kafka_mock cluster --brokers-file F [--brokers 3] [--topic T] [--partitions 6]
//       serves a mock cluster with the topic until SIGINT/SIGTERM; writes its bootstrap
//       servers ("127.0.0.1:p1,...") to F once it listens.
//   kafka_mock produce --bootstrap B [--topic T] < events.jsonl
//       one message per line, keyed by the line's "user" (as a producer of nudge events must
//       key them), acknowledged by all replicas; prints the count and the rate.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

size_t g_failed = 0;  // messages the brokers did not acknowledge
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    ++g_failed;
    std::fprintf(stderr, "kafka_mock produce: not delivered: %s\n", rd_kafka_err2str(m->err));
  }
}

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int k = 2; k + 1 < argc; k += 2) flags[argv[k]] = argv[k + 1];
  return flags;
}

std::string flag(const std::map<std::string, std::string>& flags, const std::string& name, std::string fallback) {
  auto it = flags.find(name);
  return it == flags.end() ? std::move(fallback) : it->second;
}

int run_cluster(const std::map<std::string, std::string>& flags) {
  const std::string file = flag(flags, "--brokers-file", "");
  const std::string topic = flag(flags, "--topic", "nudge-events");
  if (file.empty()) {
    std::fprintf(stderr, "kafka_mock cluster: --brokers-file is required\n");
    return 2;
  }
  char why[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", why, sizeof why);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (!host) {
    std::fprintf(stderr, "kafka_mock: %s\n", why);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, std::stoi(flag(flags, "--brokers", "3")));
  if (!cluster || rd_kafka_mock_topic_create(cluster, topic.c_str(), std::stoi(flag(flags, "--partitions", "6")), 1)) {
    std::fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
    return 1;
  }
  {
    std::ofstream(file + ".tmp") << rd_kafka_mock_cluster_bootstraps(cluster) << "\n";
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}

int run_produce(const std::map<std::string, std::string>& flags) {
  const std::string bootstrap = flag(flags, "--bootstrap", "");
  const std::string topic_name = flag(flags, "--topic", "nudge-events");
  char why[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : std::map<std::string, std::string>{
           {"bootstrap.servers", bootstrap},
           {"acks", "all"},
           {"linger.ms", "1"},
           {"log_level", "3"},
           {"partitioner", "murmur2"}})  // the Java client's default, which Nudge routes by
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "kafka_mock produce: %s\n", why);
      return 2;
    }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (!rk) {
    std::fprintf(stderr, "kafka_mock produce: %s\n", why);
    return 1;
  }
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, topic_name.c_str(), nullptr);
  const auto start = std::chrono::steady_clock::now();
  size_t n = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    const std::string user = event.is_object() && event.contains("user") && event["user"].is_string()
                                 ? event["user"].get<std::string>()
                                 : std::string();
    while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, line.data(), line.size(), user.data(),
                            user.size(), nullptr) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "kafka_mock produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        return 1;
      }
      rd_kafka_poll(rk, 10);  // the local queue is full: let deliveries drain it
    }
    rd_kafka_poll(rk, 0);
    ++n;
  }
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk, 60000);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || g_failed > 0) {
    std::fprintf(stderr, "kafka_mock produce: flush: %s, %zu not delivered\n", rd_kafka_err2str(err), g_failed);
    return 1;
  }
  std::printf("produced %zu messages in %.3f s (%.0f messages/s)\n", n, seconds, n / std::max(seconds, 1e-9));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const auto flags = parse_flags(argc, argv);
  try {
    if (mode == "cluster") return run_cluster(flags);
    if (mode == "produce") return run_produce(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kafka_mock: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr,
               "usage: kafka_mock cluster --brokers-file F [--brokers N] [--topic T] [--partitions P]\n"
               "       kafka_mock produce --bootstrap B [--topic T] < events.jsonl\n");
  return 2;
}
