#include "nudge/serve/server.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nudge/log.h"
#include "serve/cluster.h"
#include "serve/experiment.h"
#include "serve/http_api.h"
#include "serve/http_server.h"
#include "serve/kafka_producer.h"
#include "serve/kafka_source.h"
#include "serve/owner_router.h"

namespace nudge::serve {
namespace {

std::string local_host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) return "localhost";
  return host;
}

}  // namespace

// Members in start-up order. stop() and ~Server take them down in the order of server.h
// (not simply the reverse: the engine goes before the routes that may still be owed answers).
struct Server::Parts {
  ServeConfig config;
  std::unique_ptr<Experiment> experiment;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Cluster> cluster;
  std::unique_ptr<KafkaSource> kafka;
  std::unique_ptr<KafkaProducer> producer;
  std::unique_ptr<OwnerRouter> router;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<HttpServer> http;
  // Samples the counters for the console's charts every history_interval_s.
  std::thread sampler;
  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool sampler_stopping = false;  // guarded by sampler_mutex

  bool clustered() const { return !config.cluster.redis.address.empty(); }
  bool kafka_on() const { return !config.kafka.brokers.empty(); }
  // A serving replica in a cluster owns the users of its partitions: it publishes them and
  // sends requests about users it does not own to their owner (docs/scale-out.md).
  bool owns_users() const { return clustered() && kafka_on() && !config.cluster.trainer; }

  Status start_sources();
  void start_routes();
  void advertise_if_unset();
  void start_sampler();
  void stop_sampler();
};

namespace {

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

// ServeConfig::ui: "auto" serves the console on a loopback address, and anywhere once an API
// key guards it; "on" always; "off" never.
bool console_on(const ServeConfig& c) {
  if (c.ui == "on") return true;
  if (c.ui == "off") return false;
  return loopback(c.server.host) || !c.api.api_key.empty();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::open(ServeConfig config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  ServeConfig& c = parts->config;
  if (parts->clustered()) {
    // The leader trains the cluster's models; a trainer needs every partition's events.
    c.engine.train_on_start = false;
    if (c.cluster.trainer) c.kafka.all_partitions = true;
  }
  // Checked before the engine opens, which may train for minutes.
  if (!c.experiment.name.empty()) {
    std::vector<std::string> arms;
    for (const auto& arm : c.engine.arms) arms.push_back(arm.name);
    NUDGE_ASSIGN_OR_RETURN(parts->experiment, Experiment::create(c.experiment, std::move(arms)));
  }
  NUDGE_ASSIGN_OR_RETURN(parts->engine, Engine::open(c.engine));
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Server::~Server() {
  stop();
  // The engine drains the store while the routes and the HTTP server it may still answer
  // through are alive; they go after it.
  parts_->engine.reset();
}

Engine& Server::engine() { return *parts_->engine; }
const ServeConfig& Server::config() const { return parts_->config; }

Status Server::Parts::start_sources() {
  if (clustered()) {
    NUDGE_ASSIGN_OR_RETURN(cluster, Cluster::start(*engine, config.cluster));
  }
  if (owns_users())
    config.kafka.on_assignment = [c = cluster.get()](const std::vector<int32_t>& partitions) {
      c->set_owned_partitions(partitions);
    };
  if (kafka_on()) {
    NUDGE_ASSIGN_OR_RETURN(kafka, KafkaSource::start(*engine, config.kafka));
  }
  if (kafka_on() && config.kafka.produce_api_events) {
    NUDGE_ASSIGN_OR_RETURN(producer, KafkaProducer::start(config.kafka));
  }
  if (owns_users())
    router = std::make_unique<OwnerRouter>(*cluster, kafka->partition_count(), config.cluster.forward_timeout_ms);
  return Status::ok();
}

void Server::Parts::start_routes() {
  config.api.ui = console_on(config);
  config.api.evaluation_dir = config.engine.data_dir + "/evaluation";
  api = std::make_unique<HttpApi>(*engine, config.api);
  api->set_kafka(kafka.get());
  api->set_cluster(cluster.get());
  api->set_router(router.get());
  api->set_experiment(experiment.get());
  if (producer)
    api->set_event_sink([p = producer.get()](std::vector<Event> events, std::function<void(const Status&)> done) {
      p->produce(std::move(events), std::move(done));
    });
  http = std::make_unique<HttpServer>(*api, config.server);
}

void Server::Parts::advertise_if_unset() {
  if (!owns_users() || !config.cluster.advertise.empty()) return;
  const std::string& host = config.server.host;
  const bool any = host == "0.0.0.0" || host == "::" || host.empty();
  cluster->set_advertise(fmt::format("http://{}:{}", any ? local_host_name() : host, http->port()));
}

Status Server::start() {
  Parts& p = *parts_;
  if (p.http) return Status::unsupported("serve: the server is already started");
  // A Redis or Kafka that cannot be reached, or a topic that does not exist, stops the start
  // before the first request, with the reason; what did start stops again.
  if (Status st = p.start_sources(); !st.is_ok()) {
    stop();
    return st;
  }
  p.start_routes();
  if (Status st = p.http->start(); !st.is_ok()) {
    stop();
    return st;
  }
  p.advertise_if_unset();
  p.start_sampler();
  return Status::ok();
}

void Server::Parts::start_sampler() {
  sampler = std::thread([this] {
    const auto every = std::chrono::seconds(config.history_interval_s);
    std::unique_lock lock(sampler_mutex);
    do {
      lock.unlock();
      try {  // the thread's boundary
        api->sample_history(static_cast<int64_t>(std::time(nullptr)));
      } catch (const std::exception& e) {
        spdlog::error("serve: sampling the counters: {}", e.what());
      }
      lock.lock();
    } while (!sampler_wake.wait_for(lock, every, [this] { return sampler_stopping; }));
  });
}

void Server::Parts::stop_sampler() {
  {
    std::lock_guard lock(sampler_mutex);
    sampler_stopping = true;
  }
  sampler_wake.notify_all();
  if (sampler.joinable()) sampler.join();
}

uint16_t Server::port() const { return parts_->http ? parts_->http->port() : 0; }

void Server::wait_for_signal() {
  if (parts_->http) parts_->http->wait_for_signal();
}

void Server::stop() {
  Parts& p = *parts_;
  p.stop_sampler();
  if (p.http) p.http->stop();  // no new requests; the answers owed are sent
  p.producer.reset();          // delivers what was accepted
  p.kafka.reset();             // stops consuming before the engine it writes to
  p.cluster.reset();           // hands the lock over at once
}

}  // namespace nudge::serve
