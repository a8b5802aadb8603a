// Rating models trained by SGD on explicit ratings (the value of each interaction).
//
// SVD (biased MF, Funk 2006 / Koren 2009, as in Surprise):
//   r_ui = mu + b_u + b_i + p_u . q_i
// SVD++ (Koren 2008) adds the implicit signal of which items the user rated:
//   r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)
// SVD++ updates the y_j once per user per epoch with the summed gradient of that user's
// ratings (the usual batched form; Surprise updates them after every rating, which costs
// |N(u)| times more). Training visits ratings in a seeded shuffle, single-threaded, so a
// seed fixes the model. Scores are predicted ratings.
#pragma once

#include "nudge/models/factors.h"
#include "nudge/recommender.h"

namespace nudge {

struct SvdOptions {
  int64_t factors = 100;  // Surprise defaults: SVD 100 factors, SVD++ 20
  int64_t epochs = 20;
  double learning_rate = 0.005;
  double regularization = 0.02;
  double init_std = 0.1;
  bool biased = true;
  int64_t seed = 42;
  // Surprise's defaults differ for SVD++: 20 factors, learning rate 0.007.
  static SvdOptions defaults(bool plus_plus);
  static Result<SvdOptions> from_params(std::string_view owner, const Params& params, bool plus_plus);
  static const ParamTable<SvdOptions>& parameters();
};

class SvdModel : public Recommender {
 public:
  // plus_plus selects SVD++.
  SvdModel(SvdOptions options, Params params, bool plus_plus)
      : options_(options), params_(std::move(params)), plus_plus_(plus_plus) {}
  std::string_view name() const override { return plus_plus_ ? "svdpp" : "svd"; }
  const Params& params() const override { return params_; }
  bool predicts_ratings() const override { return true; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  // Ratings of a new user from their ratings (`weights` are the rating values): the user
  // bias and vector are fitted by SGD with the items fixed (SVD++ also uses the implicit part).
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // Scores are global_mean() + user_bias()[u] + item_bias()[i] + user_vector(u) . item_factors().row(i)
  // (ONNX export); user_vector includes SVD++'s implicit part.
  float global_mean() const { return mean_; }
  const Eigen::VectorXf& user_bias() const { return user_bias_; }
  const Eigen::VectorXf& item_bias() const { return item_bias_; }
  const FactorMatrix& item_factors() const { return items_; }
  Eigen::VectorXf user_vector(uint32_t user) const;

 private:
  Eigen::VectorXf implicit_sum(std::span<const uint32_t> items) const;
  void predict_all(const Eigen::VectorXf& user_vector, float user_bias, std::span<float> scores) const;
  SvdOptions options_;
  Params params_;
  bool plus_plus_;
  float mean_ = 0;
  Eigen::VectorXf user_bias_, item_bias_;
  FactorMatrix users_, items_, implicit_;  // implicit_: y_j (SVD++ only)
  CsrMatrix rated_;                        // user -> rated items (SVD++ only)
};

}  // namespace nudge
