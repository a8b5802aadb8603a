// nudge tune: Hyperband search of one model's (or fusion's) hyper-parameters on a validation
// split carved from train, then the defaults and the best spec refitted on all of train and
// compared on the test split, which the search never saw.
#include <fmt/format.h>
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/text.h"
#include "data_flags.h"
#include "nudge/log.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/tune.h"

namespace nudge::cli {
namespace {

struct TuneFlags {
  std::string model = "ials";
  std::vector<std::string> search;
  std::string budget = "5m";
  size_t trials = 0;
  std::string metric = "ndcg@10";
  std::string method = "random";
  double test_fraction = 0.2;
  double validation_fraction = 0.1;
  int eta = 3;
  uint64_t seed = 42;
  int threads = 0;
  size_t top = 10;
  std::string json_out;
};

// Train and validation together: what the chosen spec is finally trained on.
Dataset merged(const Dataset& a, const Dataset& b) {
  Interactions all = a.interactions();
  const Interactions& more = b.interactions();
  all.reserve(all.size() + more.size());
  for (size_t r = 0; r < more.size(); ++r)
    all.push_back(more.users[r], more.items[r], more.types[r], more.values[r], more.timestamps[r]);
  return a.with_interactions(std::move(all));
}

// Train, validation and test: from the split files, or split here.
TrainValidTest load_parts(const DataFlags& flags, const SplitFiles& files, const TuneFlags& f) {
  SplitOptions valid;
  valid.method = value_or_throw(parse_split_method(f.method));
  valid.test_fraction = f.validation_fraction;
  valid.seed = f.seed + 1;
  if (files.given()) {
    TrainValidTest parts = value_or_throw(load_split_files(flags, files));
    if (parts.validation.num_interactions() > 0) return parts;
    TrainTest carved = value_or_throw(split(parts.train, valid));
    return {std::move(carved.train), std::move(carved.test), std::move(parts.test)};
  }
  SplitOptions test = valid;
  test.test_fraction = f.test_fraction;
  test.seed = f.seed;
  return value_or_throw(split_with_validation(value_or_throw(load_dataset(flags)), test, valid));
}

void print_top(const TuneResult& r, size_t top) {
  std::vector<const Trial*> full;
  for (const Trial& t : r.trials)
    if (t.full) full.push_back(&t);
  std::stable_sort(full.begin(), full.end(),
                   [&](const Trial* a, const Trial* b) { return r.better(a->metric, b->metric); });
  full.resize(std::min(full.size(), top));
  fmt::print("{:>5} {:>7} {:>10} {:>8}  {}\n", "trial", "bracket", r.metric, "fit s", "spec");
  for (const Trial* t : full)
    fmt::print("{:>5} {:>7} {:>10.4f} {:>8.2f}  {}\n", t->id, t->bracket, t->metric, t->fit_seconds, t->spec);
}

}  // namespace

void add_tune_command(CLI::App& root) {
  auto flags = std::make_shared<DataFlags>();
  auto files = std::make_shared<SplitFiles>();
  auto tf = std::make_shared<TuneFlags>();
  CLI::App* cmd = root.add_subcommand("tune", "Search a model's hyper-parameters (Hyperband) on a validation split");
  add_data_flags(cmd, flags.get(), /*input_required=*/false);
  add_split_file_flags(cmd, files.get());
  cmd->add_option("-m,--model", tf->model, "The model to tune, with parameters to keep fixed (ials:threads=2)")
      ->capture_default_str();
  cmd->add_option("-s,--search", tf->search,
                  "Search range (repeat): ials.factors=32..256:log, alpha=1..50, similarity=cosine,bm25");
  cmd->add_option("--budget", tf->budget, "Time for the search: 90s, 10m, 1h (0 = only --trials)")
      ->capture_default_str();
  cmd->add_option("--trials", tf->trials, "At most this many fits (0 = until the budget)");
  cmd->add_option("--metric", tf->metric, "Validation metric: ndcg@10, recall@20, auc, rmse, ...")
      ->capture_default_str();
  cmd->add_option("--method", tf->method, "How test and validation are split off: random, leave-last, temporal")
      ->capture_default_str();
  cmd->add_option("--test-fraction", tf->test_fraction, "Share held out for test")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--validation-fraction", tf->validation_fraction, "Share of train held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--eta", tf->eta, "Successive halving keeps 1/eta per rung")
      ->capture_default_str()
      ->check(CLI::Range(2, 10));
  cmd->add_option("--seed", tf->seed, "Seed for the splits and the sampling")->capture_default_str();
  cmd->add_option("--threads", tf->threads, "Evaluation threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--top", tf->top, "Trials shown in the table")->capture_default_str();
  cmd->add_option("--json", tf->json_out, "Write every trial and the comparison on test as JSON here");
  cmd->callback([flags, files, tf] {
    // The spec, the ranges and the budget are checked before any data is read.
    TuneOptions options;
    options.spec = tf->model;
    options.metric = tf->metric;
    options.max_trials = tf->trials;
    options.eta = tf->eta;
    options.seed = tf->seed;
    options.threads = tf->threads;
    const auto budget = parse_duration(tf->budget);
    if (!budget)
      throw CommandError("--budget: expected a duration like 90s, 10m or 1h, got " + quote_for_error(tf->budget));
    options.budget_seconds = *budget;
    const std::string model(value_or_throw(make_recommender_from_spec(tf->model))->name());
    options.space = value_or_throw(default_search_space(tf->model));
    for (const std::string& s : tf->search) ok_or_throw(override_dimension(&options.space, model, s));
    ok_or_throw(check_input_choice(*flags, *files));
    const TrainValidTest parts = load_parts(*flags, *files, *tf);
    spdlog::info("tuning {} on {} train / {} validation interactions; {} held out for test", model,
                 parts.train.num_interactions(), parts.validation.num_interactions(), parts.test.num_interactions());
    for (const Dimension& d : options.space.dimensions) spdlog::info("  search {}={}", d.key, d.range_text());
    if (!options.space.resource.empty()) spdlog::info("  successive halving over {}", options.space.resource);
    const TuneResult result =
        value_or_throw(tune(parts.train, parts.validation, options, [&](const Trial& t, const TuneResult& so_far) {
          const std::string left =
              options.budget_seconds > 0
                  ? fmt::format(", {:.0f} s left", std::max(0.0, options.budget_seconds - so_far.seconds))
                  : "";
          spdlog::info("trial {} (bracket {}, rung {}{}): {} {:.4f}, best {:.4f}{}  {}", t.id, t.bracket, t.rung,
                       t.resource ? fmt::format(", {}={}", options.space.resource, t.resource) : "", so_far.metric,
                       t.metric, so_far.best_trial().metric, left, t.spec);
        }));
    size_t full = 0;
    for (const Trial& t : result.trials) full += t.full;
    fmt::print("{} trials ({} with the full resource) in {:.1f} s{}\n\n", result.trials.size(), full, result.seconds,
               result.out_of_budget ? ", budget reached" : "");
    print_top(result, tf->top);
    // The comparison the search never saw: both specs refitted on train + validation.
    const Dataset all_train = merged(parts.train, parts.validation);
    const Trial& def = result.default_trial();
    const Trial& best = result.best_trial();
    const SpecScore def_test = value_or_throw(fit_and_score(def.spec, all_train, parts.test, tf->metric, tf->threads));
    const SpecScore best_test =
        value_or_throw(fit_and_score(best.spec, all_train, parts.test, tf->metric, tf->threads));
    fmt::print("\n{:<10} {:>14} {:>14}\n", "", tf->metric + " valid", tf->metric + " test");
    fmt::print("{:<10} {:>14.4f} {:>14.4f}  {}\n", "defaults", def.metric, def_test.metric, def.spec);
    fmt::print("{:<10} {:>14.4f} {:>14.4f}  {}\n", "tuned", best.metric, best_test.metric, best.spec);
    fmt::print("\nbest: nudge train -m '{}'\n", best.spec);
    if (!tf->json_out.empty()) {
      nlohmann::json j = result;
      j["test"] = {{"default", def_test.metric}, {"best", best_test.metric}};
      write_file(tf->json_out, j.dump(2) + "\n");
    }
  });
}

}  // namespace nudge::cli
