// Offline evaluation protocols. Each returns one EvalResult (named metrics) for a fitted model.
//
//   full ranking  every unseen item is a candidate (the default, and the honest protocol):
//                 precision, recall, ndcg, hit_rate, mrr, map at each k, auc, catalogue
//                 coverage, novelty (mean self-information, bits) and average
//                 recommendation popularity (share of training users who had the item)
//   sampled       leave-one-out style as in the NCF paper: each test item is ranked against
//                 `sampled_negatives` items the user never touched (or given negatives);
//                 hit_rate and ndcg at each k, mrr. Known to overstate quality (Krichene &
//                 Rendle 2020), offered for comparison with published numbers.
//   rating        rmse and mae of predicted ratings, clipped to the training rating range
//
// Users with no training history are skipped (counted in users_skipped). Users are scored
// in parallel; results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nudge/dataset.h"
#include "nudge/readers.h"
#include "nudge/recommender.h"

namespace nudge {

struct EvalOptions {
  std::vector<size_t> ks = {10, 20};
  bool compute_auc = true;
  size_t sampled_negatives = 100;
  uint64_t seed = 42;  // negative sampling
  int threads = 0;
};

struct EvalResult {
  std::string model;
  std::string protocol;                   // "full", "sampled", "rating"
  std::map<std::string, double> metrics;  // "ndcg@10" -> 0.31
  std::map<std::string, double> stddev;   // across folds (k-fold cross-validation only)
  uint64_t users_evaluated = 0;
  uint64_t users_skipped = 0;
  double fit_seconds = 0;
  double score_ms_per_user = 0;
  std::vector<double> epoch_losses;  // the model's training curve, where it logs one
};

EvalResult evaluate_full_ranking(const Recommender& model, const Dataset& train, const Dataset& test,
                                 const EvalOptions& options);

// With `given` null, negatives are sampled uniformly from items absent from the user's train
// and test interactions.
EvalResult evaluate_sampled(const Recommender& model, const Dataset& train, const Dataset& test,
                            const EvalOptions& options, const NegativeLists* given = nullptr);

EvalResult evaluate_ratings(const Recommender& model, const Dataset& train, const Dataset& test,
                            const EvalOptions& options);

// Mean and standard deviation over folds, metric by metric (fit and scoring times averaged).
EvalResult combine_folds(const std::vector<EvalResult>& folds);

// A metric name split at '@': "ndcg@10" -> {"ndcg", 10}; a name without a cut-off has k 0.
struct MetricName {
  std::string family;
  long k = 0;
};
MetricName parse_metric_name(const std::string& name);

// The union of the results' metric names, grouped by family and then cut-off:
// precision@10, precision@20, recall@10, ...
std::vector<std::string> metric_columns(const std::vector<EvalResult>& results);

// Aligned table, one row per result, columns = union of metric names ("mean±std" after k-fold).
std::string format_results(const std::vector<EvalResult>& results);
void to_json(nlohmann::json& j, const EvalResult& r);

}  // namespace nudge
