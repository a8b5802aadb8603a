// nudge data stats | split: inspect and partition a dataset.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/split.h"
#include "nudge/stats.h"
#include "nudge/writers.h"

namespace nudge::cli {
namespace {

void add_stats(CLI::App* data) {
  auto flags = std::make_shared<DataFlags>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = data->add_subcommand("stats", "Users, items, density, popularity skew, history lengths");
  add_data_flags(cmd, flags.get());
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([flags, json] {
    Dataset d = value_or_throw(load_dataset(*flags));
    const DatasetStats stats = compute_stats(d);
    if (*json) {
      nlohmann::json j = stats;
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("{}:\n{}", flags->input, format_stats(stats));
    }
    spdlog::info("peak resident memory: {:.0f} MiB", peak_rss_mib());
  });
}

struct SplitFlags {
  std::string method = "random";
  double test_fraction = 0.2;
  double validation_fraction = 0.0;
  int64_t cut = 0;
  int folds = 0;
  uint64_t seed = 42;
  std::string out;
};

void add_split(CLI::App* data) {
  auto flags = std::make_shared<DataFlags>();
  auto sf = std::make_shared<SplitFlags>();
  CLI::App* cmd = data->add_subcommand("split", "Write train/validation/test (or k-fold) CSV files");
  add_data_flags(cmd, flags.get());
  cmd->add_option("--method", sf->method, "random, leave-last, temporal")->capture_default_str();
  cmd->add_option("--test-fraction", sf->test_fraction, "Share of pairs (random) or of time (temporal) for test")
      ->capture_default_str();
  cmd->add_option("--validation-fraction", sf->validation_fraction,
                  "Also split validation off train with the same method (0 = no validation set)")
      ->capture_default_str();
  cmd->add_option("--cut", sf->cut, "temporal: cut timestamp in seconds (default: from --test-fraction)");
  cmd->add_option("--folds", sf->folds, "k-fold instead: write fold-N-train.csv / fold-N-test.csv")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--seed", sf->seed, "Random seed")->capture_default_str();
  cmd->add_option("-o,--out", sf->out, "Output directory")->required();
  cmd->callback([flags, sf] {
    Dataset d = value_or_throw(load_dataset(*flags));
    std::error_code ec;
    std::filesystem::create_directories(sf->out, ec);
    if (ec) throw CommandError("cannot create directory '" + sf->out + "': " + ec.message());
    const std::string dir = sf->out + "/";
    auto write = [&](const Dataset& part, const std::string& name) {
      ok_or_throw(write_interactions_csv(part, dir + name));
      fmt::print("  {:<20} {} interactions\n", name, part.num_interactions());
    };
    if (sf->folds > 0) {
      auto folds = value_or_throw(k_fold(d, sf->folds, sf->seed));
      for (size_t f = 0; f < folds.size(); ++f) {
        write(folds[f].train, "fold-" + std::to_string(f + 1) + "-train.csv");
        write(folds[f].test, "fold-" + std::to_string(f + 1) + "-test.csv");
      }
      return;
    }
    SplitOptions so;
    so.method = value_or_throw(parse_split_method(sf->method));
    so.test_fraction = sf->test_fraction;
    so.cut_timestamp = sf->cut;
    so.seed = sf->seed;
    if (sf->validation_fraction > 0) {
      SplitOptions vo = so;
      vo.test_fraction = sf->validation_fraction;
      vo.cut_timestamp = 0;
      vo.seed = sf->seed + 1;
      TrainValidTest parts = value_or_throw(split_with_validation(d, so, vo));
      write(parts.train, "train.csv");
      write(parts.validation, "validation.csv");
      write(parts.test, "test.csv");
    } else {
      TrainTest parts = value_or_throw(split(d, so));
      write(parts.train, "train.csv");
      write(parts.test, "test.csv");
    }
  });
}

}  // namespace

void add_data_command(CLI::App& root) {
  CLI::App* data = root.add_subcommand("data", "Inspect and prepare datasets");
  data->require_subcommand(1);
  add_stats(data);
  add_split(data);
}

}  // namespace nudge::cli
