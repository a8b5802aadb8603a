// nudge serve: the HTTP recommendation server (docs/serving.md, docs/api.md).
//
// Optionally imports an interactions file (and item and user features) into its store first, which is
// how a catalogue is bootstrapped from history; --import-only then trains and exits.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/registry.h"
#include "nudge/serve/config.h"
#include "nudge/serve/import.h"
#include "nudge/serve/kafka_producer.h"
#include "nudge/serve/owner_router.h"

namespace nudge::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string data_dir, host, api_key, port_file, model, model_file;
  int port = -1, threads = -1, factors = -1;
  bool no_sync = false, skip_damaged_log = false;
  std::string import, import_items, import_users;
  bool import_only = false;
  std::string kafka_brokers, kafka_topic, kafka_group;
  std::string redis, model_dir, replica_id, advertise;
  bool trainer = false;
};

std::string local_host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) return "localhost";
  return host;
}

void import_into(serve::Engine& engine, const ServeFlags& flags) {
  DataFlags data;
  data.input = flags.import;
  data.item_features = flags.import_items;
  data.user_features = flags.import_users;
  data.keep_duplicates = true;
  Dataset d = value_or_throw(load_dataset(data));
  ok_or_throw(serve::import_dataset(engine, d));
  spdlog::info("serve: imported {} events from {}", d.num_interactions(), flags.import);
}

}  // namespace

void add_serve_command(CLI::App& root) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = root.add_subcommand("serve", "Run the HTTP recommendation server");
  cmd->add_option("-c,--config", f->config, "TOML configuration file (flags override it)");
  cmd->add_option("-d,--data-dir", f->data_dir, "Directory of the event store and model (default nudge-data)");
  cmd->add_option("--host", f->host, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("-p,--port", f->port, "Port (default 8080; 0 picks a free one)")->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", f->threads, "Network threads (default: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--api-key", f->api_key, "Bearer token required on POST/PUT/DELETE");
  cmd->add_option("-m,--model", f->model,
                  "Model to serve and retrain, as nudge train -m takes it (default: fusion of ials and twotower "
                  "when items have features, else ials)");
  cmd->add_option("--model-file", f->model_file,
                  "Serve this model trained by nudge train, and keep learning from events");
  cmd->add_option("--factors", f->factors, "iALS factors of the default model (default 64)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--no-sync", f->no_sync,
                "Acknowledge events once written, before fsync (survives crashes, not power loss)");
  cmd->add_flag("--skip-damaged-log", f->skip_damaged_log,
                "Start even if the store's write-ahead log is damaged, without the damaged events (copied aside "
                "first, counted in /metrics); without it such a store refuses to start");
  cmd->add_option("--port-file", f->port_file, "Write the bound port here once listening");
  cmd->add_option("--import", f->import, "Import this interactions file (csv, jsonl, MovieLens) into the store first");
  cmd->add_option("--import-items", f->import_items, "Item features to import with --import (annotated csv)");
  cmd->add_option("--import-users", f->import_users,
                  "User features to import with --import as user attributes (annotated csv)");
  cmd->add_flag("--import-only", f->import_only, "Import, train, and exit without serving");
  cmd->add_option("--kafka-brokers", f->kafka_brokers,
                  "Also consume events from Kafka at these bootstrap servers (host:port,...; docs/scale-out.md)");
  cmd->add_option("--kafka-topic", f->kafka_topic, "Topic of the events (default nudge-events)");
  cmd->add_option("--kafka-group", f->kafka_group, "Consumer group the replicas share (default nudge)");
  cmd->add_option("--redis", f->redis,
                  "Join the replicas coordinating through this Redis (host:port): one trainer leads, all serve its "
                  "models");
  cmd->add_flag("--trainer", f->trainer, "May lead and train (consumes every Kafka partition; needs --model-dir)");
  cmd->add_option("--model-dir", f->model_dir, "Shared directory the leader publishes model files to");
  cmd->add_option("--replica-id", f->replica_id, "This replica's name in the cluster (default host:pid)");
  cmd->add_option("--advertise", f->advertise,
                  "URL other replicas reach this one at, for requests about users it owns (default "
                  "http://<host>:<port>)");
  CLI::Option* data_dir_option = cmd->get_option("--data-dir");
  cmd->callback([f, data_dir_option] {
    if (data_dir_option->count() > 0 && f->data_dir.empty())
      throw CommandError("--data-dir: an empty path (give a directory)");
    serve::ServeConfig config = serve::default_serve_config();
    if (!f->config.empty()) ok_or_throw(serve::load_serve_config(f->config, &config));
    if (!f->data_dir.empty()) config.engine.data_dir = f->data_dir;
    if (!f->host.empty()) config.server.host = f->host;
    if (f->port >= 0) config.server.port = static_cast<uint16_t>(f->port);
    if (f->threads >= 0) config.server.threads = f->threads;
    if (!f->api_key.empty()) config.api.api_key = f->api_key;
    if (f->factors > 0) config.engine.model.ials.factors = f->factors;
    if (!f->model.empty()) {
      ok_or_throw(make_recommender_from_spec(f->model).status());  // refused before anything is read
      config.engine.model.spec = f->model;
    }
    if (!f->model_file.empty()) config.engine.model_file = f->model_file;
    if (f->no_sync) config.engine.store.sync = false;
    if (f->skip_damaged_log) config.engine.store.skip_damaged_log = true;
    if (!f->import.empty()) config.engine.train_on_start = false;  // trained once, after the import
    if (!f->kafka_brokers.empty()) config.kafka.brokers = f->kafka_brokers;
    if (!f->kafka_topic.empty()) config.kafka.topic = f->kafka_topic;
    if (!f->kafka_group.empty()) config.kafka.group = f->kafka_group;
    if (!f->redis.empty()) config.cluster.redis.address = f->redis;
    if (f->trainer) config.cluster.trainer = true;
    if (!f->model_dir.empty()) config.cluster.model_dir = f->model_dir;
    if (!f->replica_id.empty()) config.cluster.replica_id = f->replica_id;
    if (!f->advertise.empty()) config.cluster.advertise = f->advertise;
    const bool clustered = !config.cluster.redis.address.empty();
    if (clustered) {
      // The leader trains the cluster's models; a trainer needs every partition's events.
      config.engine.train_on_start = false;
      if (config.cluster.trainer) config.kafka.all_partitions = true;
    }

    // Checked before the engine opens (which may train for minutes).
    std::unique_ptr<serve::Experiment> experiment;
    if (!config.experiment.name.empty()) {
      std::vector<std::string> arms;
      for (const auto& arm : config.engine.arms) arms.push_back(arm.name);
      experiment = value_or_throw(serve::Experiment::create(config.experiment, std::move(arms)));
    }
    auto engine = value_or_throw(serve::Engine::open(config.engine));
    if (!f->import.empty()) {
      // One training, after the import: without the hold, the background retrainer would
      // also start one by event count the moment the import's own hold ends.
      const auto hold = engine->hold_retrains();
      import_into(*engine, *f);
      ok_or_throw(engine->retrain());
    }
    if (f->import_only) return;
    // After the import and before the first request: a Redis or Kafka that cannot be reached,
    // or a topic that does not exist, stops the start with the reason.
    std::unique_ptr<serve::Cluster> cluster;
    if (clustered) cluster = value_or_throw(serve::Cluster::start(*engine, config.cluster));
    const bool kafka_on = !config.kafka.brokers.empty();
    // A serving replica in a cluster owns the users of its partitions: it publishes them, and
    // sends requests about users it does not own to their owner (docs/scale-out.md).
    const bool owns_users = clustered && kafka_on && !config.cluster.trainer;
    if (owns_users)
      config.kafka.on_assignment = [c = cluster.get()](const std::vector<int32_t>& partitions) {
        c->set_owned_partitions(partitions);
      };
    std::unique_ptr<serve::KafkaSource> kafka;
    if (kafka_on) kafka = value_or_throw(serve::KafkaSource::start(*engine, config.kafka));
    std::unique_ptr<serve::KafkaProducer> producer;
    if (kafka_on && config.kafka.produce_api_events)
      producer = value_or_throw(serve::KafkaProducer::start(config.kafka));
    std::unique_ptr<serve::OwnerRouter> router;
    if (owns_users)
      router =
          std::make_unique<serve::OwnerRouter>(*cluster, kafka->partition_count(), config.cluster.forward_timeout_ms);
    serve::HttpApi api(*engine, config.api);
    api.set_kafka(kafka.get());
    api.set_cluster(cluster.get());
    api.set_router(router.get());
    api.set_experiment(experiment.get());
    if (producer)
      api.set_event_sink(
          [p = producer.get()](std::vector<serve::Event> events, std::function<void(const Status&)> done) {
            p->produce(std::move(events), std::move(done));
          });
    serve::HttpServer server(api, config.server);
    ok_or_throw(server.start());
    if (owns_users && config.cluster.advertise.empty()) {
      const std::string& host = config.server.host;
      const bool any = host == "0.0.0.0" || host == "::" || host.empty();
      cluster->set_advertise(fmt::format("http://{}:{}", any ? local_host_name() : host, server.port()));
    }
    fmt::print("nudge: listening on http://{}:{} (data in {})\n", config.server.host, server.port(),
               config.engine.data_dir);
    std::fflush(stdout);
    if (!f->port_file.empty()) std::ofstream(f->port_file) << server.port() << "\n";
    server.wait_for_signal();
    spdlog::info("serve: shutting down");
    server.stop();
    producer.reset();  // delivers what was accepted
    kafka.reset();     // stops consuming before the engine it writes to
    cluster.reset();   // hands the lock over at once
    engine.reset();    // drains the store while the server's objects are still alive
  });
}

}  // namespace nudge::cli
