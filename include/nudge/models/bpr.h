// BPR-MF: Bayesian personalised ranking (Rendle et al. 2009) on matrix factorisation with
// item biases, trained by Hogwild SGD (lock-free updates from all threads; Niu et al. 2011).
//
// Each epoch visits users in a fresh shuffle; a user with n positives takes n steps, each on
// a random positive i and an item j the user has not touched, pushing x_u.(y_i - y_j) + b_i - b_j
// up. (User-major order keeps the user's data in cache; the number of updates per epoch is
// the number of stored pairs, as with uniform pair sampling.) Negatives are drawn:
//   uniform     uniformly from the catalogue
//   popularity  in proportion to popularity^0.75 (harder, popular negatives)
//   adaptive    the highest-scoring of `adaptive_candidates` uniform draws (dynamic negative
//               sampling, Zhang et al. 2013)
// With threads=1 training is deterministic for a seed; with more threads it is not (Hogwild).
#pragma once

#include <string>

#include "nudge/models/factors.h"
#include "nudge/recommender.h"

namespace nudge {

struct BprOptions {
  int64_t factors = 64;
  int64_t epochs = 100;         // one epoch = nnz updates
  double learning_rate = 0.01;  // implicit's defaults; best of a small grid on synthetic data
  double regularization = 0.01;
  std::string sampling = "uniform";  // uniform, popularity, adaptive
  int64_t adaptive_candidates = 2;   // more picks harder negatives, and more false ones
  double init_scale = 0.1;
  int64_t threads = 0;
  int64_t seed = 42;
  static Result<BprOptions> from_params(const Params& params);
  static const ParamTable<BprOptions>& parameters();
};

class BprModel : public Recommender {
 public:
  BprModel(BprOptions options, Params params) : options_(std::move(options)), params_(std::move(params)) {}
  std::string_view name() const override { return "bpr"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  void score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const override;
  // Fits a user vector to the history by BPR steps with the item side fixed (seeded).
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  // Estimated from every 16th step (the full sum would cost a log per step).
  std::span<const double> epoch_losses() const override { return losses_; }
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // Scores are user_factors().row(u) . item_factors().row(i) + item_bias()[i] (ONNX export).
  const FactorMatrix& user_factors() const { return users_; }
  const FactorMatrix& item_factors() const { return items_; }
  const Eigen::VectorXf& item_bias() const { return item_bias_; }

 private:
  BprOptions options_;
  Params params_;
  FactorMatrix users_, items_;
  Eigen::VectorXf item_bias_;
  std::vector<double> losses_;  // per epoch: mean -log sigmoid(x_uij) over sampled steps
};

}  // namespace nudge
