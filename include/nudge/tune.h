// Hyper-parameter tuning: Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR
// 2018): random search over a SearchSpace whose budget is spent by successive halving.
//
// Each bracket samples n configurations and trains them with a small resource (iterations
// or epochs); the best 1/eta by the validation metric go on with eta times the resource,
// until the survivors train with the full resource. Brackets cycle from the most
// aggressive (many configurations, small resource) to plain random search (every
// configuration at the full resource), so a parameter whose effect shows only late is still
// found. A model without a resource parameter gets plain random search.
//
// The spec as given (its defaults) is always trial 0, at the full resource, so the result
// is never worse on validation than not tuning; if it fails to fit, tuning fails. A sampled
// configuration that fails (or scores NaN) is logged and ranked last. Only full-resource trials compete for best.
// The time budget is checked before each trial (the one running finishes), so a search
// overruns it by at most one fit.
//
// Trials run one after another: each fit and evaluation already uses every core. Results
// are deterministic for a seed (given the models' own determinism).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nudge/dataset.h"
#include "nudge/search_space.h"
#include "nudge/status.h"

namespace nudge {

struct TuneOptions {
  std::string spec;  // the model and its fixed parameters: "ials", "ials:threads=2"
  SearchSpace space;
  // Any metric of the full-ranking protocol ("ndcg@10", "recall@20", "auc"), maximised; or
  // "rmse"/"mae" of the rating protocol, minimised.
  std::string metric = "ndcg@10";
  size_t max_trials = 0;        // fits in all; 0 = until the budget
  double budget_seconds = 300;  // 0 = no time limit (then max_trials must be set)
  int eta = 3;                  // successive halving keeps 1/eta per rung
  int max_brackets_depth = 3;   // at most this many halvings per bracket
  uint64_t seed = 42;
  int threads = 0;  // evaluation threads (0 = all cores)
};

struct Trial {
  size_t id = 0;
  int bracket = 0;  // 0: the defaults
  int rung = 0;
  int64_t resource = 0;  // iterations or epochs given; 0 when the model has no resource
  bool full = true;      // trained with the full resource (competes for best)
  std::string spec;
  double metric = 0;
  double fit_seconds = 0;
  double eval_seconds = 0;
  std::string error;  // a sampled configuration that failed to fit: metric NaN, search goes on
};

struct TuneResult {
  std::string metric;
  bool minimise = false;
  std::vector<Trial> trials;
  size_t best = 0;  // index into trials (a full one)
  bool out_of_budget = false;
  double seconds = 0;
  const Trial& best_trial() const { return trials[best]; }
  // Whether metric a ranks above b: higher (lower when minimising); NaN (a failed or
  // diverged trial) below everything, so sorting by it stays well defined.
  bool better(double a, double b) const;
  const Trial& default_trial() const { return trials.front(); }
};

// One rung of a bracket: how many configurations train with how much resource.
struct Rung {
  size_t configurations = 0;
  int64_t resource = 0;
};
// Hyperband's brackets for a full resource `max_resource`, most aggressive first; each is
// its rungs. One bracket of one rung when max_resource < eta.
std::vector<std::vector<Rung>> hyperband_brackets(int64_t max_resource, int eta, int max_depth);

// Called after every trial (progress display); may not throw.
using TrialCallback = std::function<void(const Trial&, const TuneResult&)>;

// Tunes on `train`, scoring on `validation` (the caller carves it; never the test set).
// Errors: a spec or a dimension the model refuses (named), an unknown metric.
Result<TuneResult> tune(const Dataset& train, const Dataset& validation, const TuneOptions& options,
                        const TrialCallback& on_trial = {});

// Fits `spec` on `train` and returns `metric` (as TuneOptions::metric) on `test`: how the
// tuned and the default spec are compared on the test split after tuning.
struct SpecScore {
  double metric = 0;
  double fit_seconds = 0;
  double eval_seconds = 0;
};
Result<SpecScore> fit_and_score(const std::string& spec, const Dataset& train, const Dataset& test,
                                const std::string& metric, int threads = 0);

// {"metric", "minimise", "seconds", "out_of_budget", "best": spec, "trials": [...]}
void to_json(nlohmann::json& j, const TuneResult& r);

}  // namespace nudge
