// nudge publish: hand a model file trained outside the cluster (nudge-train-mpi across
// machines, nudge train) to every replica of a cluster, as its leader would (cluster.h).
#include <fmt/core.h>

#include <memory>

#include "commands.h"
#include "serve/cluster.h"

namespace nudge::cli {

void add_publish_command(CLI::App& root) {
  auto options = std::make_shared<serve::ClusterOptions>();
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand(
      "publish", "Publish a model file to a cluster's replicas through Redis (a cluster without trainers)");
  cmd->add_option("FILE", *file, "Model file (nudge-train-mpi, nudge train)")->required();
  cmd->add_option("--redis", options->redis.address, "Redis host:port the replicas follow")->required();
  cmd->add_option("--name", options->name, "The cluster's name (key prefix)")->capture_default_str();
  cmd->add_option("--model-dir", options->model_dir, "Shared directory every replica reads models from")->required();
  cmd->add_option("--redis-timeout-ms", options->redis.timeout_ms, "Connect and command timeout")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  cmd->callback([options, file] {
    const uint64_t version = value_or_throw(serve::publish_model_file(*options, *file));
    fmt::print("published {} as model {} of cluster {} ({}/model-{}.nudge)\n", *file, version, options->name,
               options->model_dir, version);
  });
}

}  // namespace nudge::cli
