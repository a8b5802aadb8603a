// nudge eval: split (or read a predefined split), fit each model on train, evaluate on test,
// print one row per model.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data_flags.h"
#include "nudge/evaluate.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/report.h"
#include "nudge/split.h"

namespace nudge::cli {
namespace {

struct EvalFlags {
  std::vector<std::string> models = {"popularity", "ials"};
  std::string protocol = "full";
  std::string method = "random";
  double test_fraction = 0.2;
  int folds = 0;
  uint64_t seed = 42;
  std::vector<size_t> ks = {10, 20};
  size_t negatives = 100;
  std::string negatives_file;
  std::vector<std::string> model_files;
  std::string json_out;
  std::string report_out;
  int threads = 0;
};

struct Fitted {
  std::unique_ptr<Recommender> model;
  double fit_seconds = 0;
};

Fitted fit(const std::string& spec, const Dataset& train) {
  Fitted f{value_or_throw(make_recommender_from_spec(spec)), 0};
  const auto start = std::chrono::steady_clock::now();
  ok_or_throw(f.model->fit(train).with_context(spec));
  f.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return f;
}

EvalResult evaluate(const std::string& spec, const Fitted& fitted, const Dataset& train, const Dataset& test,
                    const EvalFlags& f, const NegativeLists* given) {
  EvalOptions o;
  o.ks = f.ks;
  o.sampled_negatives = f.negatives;
  o.seed = f.seed;
  o.threads = f.threads;
  const Recommender& model = *fitted.model;
  EvalResult r;
  if (f.protocol == "full") r = evaluate_full_ranking(model, train, test, o);
  else if (f.protocol == "sampled") r = evaluate_sampled(model, train, test, o, given);
  else r = evaluate_ratings(model, train, test, o);
  r.model = spec;
  r.fit_seconds = fitted.fit_seconds;
  const auto losses = model.epoch_losses();
  r.epoch_losses.assign(losses.begin(), losses.end());
  spdlog::info("{}: fit {:.2f}s, {} users evaluated", spec, fitted.fit_seconds, r.users_evaluated);
  return r;
}

EvalResult run_one(const std::string& spec, const Dataset& train, const Dataset& test, const EvalFlags& f,
                   const NegativeLists* given) {
  return evaluate(spec, fit(spec, train), train, test, f, given);
}

// `d` indexed by a model file's user and item IDs (a model trained elsewhere: nudge train,
// nudge-train-mpi), dropping the events of IDs the file does not know.
Dataset indexed_as(const Dataset& d, const LoadedModel& m, uint64_t* dropped) {
  auto cat = std::make_shared<Catalog>();
  cat->users = m.users;
  cat->items = m.items;
  cat->event_types = d.catalog().event_types;
  cat->user_features.resize(m.users.size());
  cat->item_features.resize(m.items.size());
  const Interactions& in = d.interactions();
  Interactions out;
  for (size_t r = 0; r < in.size(); ++r) {
    const auto u = m.users.find(d.catalog().users.id_of(in.users[r]));
    const auto i = m.items.find(d.catalog().items.id_of(in.items[r]));
    if (u && i) out.push_back(*u, *i, in.types[r], in.values[r], in.timestamps[r]);
    else ++*dropped;
  }
  return Dataset(std::move(cat), std::move(out));
}

// A model file evaluated on the split: train gives the seen items to exclude, test the targets.
EvalResult evaluate_file(const std::string& path, const TrainValidTest& parts, const EvalFlags& f) {
  LoadedModel m = value_or_throw(load_model(path));
  uint64_t dropped = 0;
  const Dataset train = indexed_as(parts.train, m, &dropped);
  const Dataset test = indexed_as(parts.test, m, &dropped);
  if (dropped > 0) spdlog::warn("{}: {} events of users or items the model does not know are left out", path, dropped);
  Fitted fitted{std::move(m.model), 0};
  return evaluate(path, fitted, train, test, f, nullptr);
}

NegativeLists read_negatives(const EvalFlags& f, const Catalog& catalog) {
  if (f.negatives_file.empty()) return {};
  return value_or_throw(read_ncf_negatives(f.negatives_file, catalog));
}

// Fit on the given train file; evaluate on validation (when given) and test.
std::vector<EvalResult> run_predefined(const DataFlags& flags, const SplitFiles& files, const EvalFlags& f) {
  if (f.folds > 0) throw CommandError("--folds splits the data itself: not with --train/--test files");
  TrainValidTest parts = value_or_throw(load_split_files(flags, files));
  spdlog::info("predefined split: {} train, {} validation, {} test interactions", parts.train.num_interactions(),
               parts.validation.num_interactions(), parts.test.num_interactions());
  const NegativeLists given = read_negatives(f, parts.train.catalog());
  const NegativeLists* negatives = f.negatives_file.empty() ? nullptr : &given;
  std::vector<EvalResult> results;
  for (const auto& spec : f.models) {
    const Fitted fitted = fit(spec, parts.train);
    if (!files.validation.empty()) {
      // The negatives file lists test negatives: validation samples its own.
      EvalResult v = evaluate(spec, fitted, parts.train, parts.validation, f, nullptr);
      v.protocol += " validation";
      results.push_back(std::move(v));
    }
    results.push_back(evaluate(spec, fitted, parts.train, parts.test, f, negatives));
  }
  for (const auto& path : f.model_files) results.push_back(evaluate_file(path, parts, f));
  return results;
}

}  // namespace

void add_eval_command(CLI::App& root) {
  auto flags = std::make_shared<DataFlags>();
  auto files = std::make_shared<SplitFiles>();
  auto ef = std::make_shared<EvalFlags>();
  CLI::App* cmd = root.add_subcommand("eval", "Compare models on a held-out split (or k folds, or given split files)");
  add_data_flags(cmd, flags.get(), /*input_required=*/false);
  add_split_file_flags(cmd, files.get());
  cmd->add_option("-m,--model", ef->models, "Model specs (repeat), e.g. -m popularity -m ials:factors=64")
      ->capture_default_str();
  cmd->add_option("--protocol", ef->protocol, "full (rank all unseen items), sampled, rating")
      ->check(CLI::IsMember({"full", "sampled", "rating"}))
      ->capture_default_str();
  cmd->add_option("--method", ef->method, "Split: random, leave-last, temporal")->capture_default_str();
  cmd->add_option("--test-fraction", ef->test_fraction, "Share held out (random, temporal)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--folds", ef->folds, "k-fold cross-validation instead of one split (mean ± std)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--seed", ef->seed, "Seed for the split and negative sampling")->capture_default_str();
  cmd->add_option("-k,--k", ef->ks, "Cut-offs, e.g. -k 10 -k 20")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--negatives", ef->negatives, "sampled: negatives per test item")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--negatives-file", ef->negatives_file, "sampled: NCF test.negative file instead of sampling");
  cmd->add_option("--model-file", ef->model_files,
                  "A model file trained on the --train file elsewhere (nudge train, nudge-train-mpi) to evaluate "
                  "too (repeat)");
  cmd->add_option("--threads", ef->threads, "Scoring threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--json", ef->json_out, "Also write the results as JSON to this file");
  cmd->add_option("--report", ef->report_out, "Also write an HTML report with plots to this file");
  cmd->callback([flags, files, ef] {
    // Every spec and the split method are checked before any data is read: a misspelt
    // parameter must not cost a read and a split of the whole dataset.
    for (const auto& spec : ef->models) value_or_throw(make_recommender_from_spec(spec));
    const auto method = value_or_throw(parse_split_method(ef->method));
    ok_or_throw(check_input_choice(*flags, *files));
    if (!ef->model_files.empty() && (!files->given() || ef->protocol != "full"))
      throw CommandError("--model-file is evaluated on a predefined split (--train, --test) with --protocol full");
    if (!ef->negatives_file.empty() && ef->protocol != "sampled")
      throw CommandError("--negatives-file lists negatives for --protocol sampled");
    std::vector<EvalResult> results;
    if (files->given()) {
      results = run_predefined(*flags, *files, *ef);
    } else if (ef->folds > 0) {
      Dataset d = value_or_throw(load_dataset(*flags));
      auto folds = value_or_throw(k_fold(d, ef->folds, ef->seed));
      for (const auto& spec : ef->models) {
        std::vector<EvalResult> per_fold;
        for (const auto& fold : folds) per_fold.push_back(run_one(spec, fold.train, fold.test, *ef, nullptr));
        results.push_back(combine_folds(per_fold));
      }
    } else {
      Dataset d = value_or_throw(load_dataset(*flags));
      SplitOptions so;
      so.method = method;
      so.test_fraction = ef->test_fraction;
      so.seed = ef->seed;
      TrainTest parts = value_or_throw(split(d, so));
      spdlog::info("split {}: {} train, {} test interactions", ef->method, parts.train.num_interactions(),
                   parts.test.num_interactions());
      const NegativeLists given = read_negatives(*ef, d.catalog());
      for (const auto& spec : ef->models) {
        results.push_back(run_one(spec, parts.train, parts.test, *ef, ef->negatives_file.empty() ? nullptr : &given));
      }
    }
    fmt::print("{}", format_results(results));
    if (!ef->json_out.empty()) write_file(ef->json_out, nlohmann::json(results).dump(2) + "\n");
    if (!ef->report_out.empty()) {
      ReportInput input;
      input.results = results;
      write_report(input, ef->report_out);
    }
  });
}

}  // namespace nudge::cli
