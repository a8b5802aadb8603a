// EASE: embarrassingly shallow autoencoder (Steck 2019), an item-item model in closed form.
//
//   P = (X^T X + lambda I)^-1,   B = I - P diag(1 / diag(P)),  so diag(B) = 0
// and s_u = x_u B. X is binary (or the implicit weights with binary=false). Fitting is an
// n_items^3 Cholesky factorisation in memory (n_items^2 floats): catalogues up to
// max_items (default 20,000; ~1.6 GB) are accepted, larger ones are refused.
#pragma once

#include "nudge/models/factors.h"
#include "nudge/recommender.h"

namespace nudge {

struct EaseOptions {
  double regularization = 500.0;  // lambda; Steck uses 200-1000 depending on the dataset
  bool binary = true;             // X_ui = 1 for any interaction
  int64_t max_items = 20000;
  static Result<EaseOptions> from_params(const Params& params);
  static const ParamTable<EaseOptions>& parameters();
};

class EaseModel : public Recommender {
 public:
  EaseModel(EaseOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "ease"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

 private:
  EaseOptions options_;
  Params params_;
  CsrMatrix history_;
  FactorMatrix weights_;  // B, items x items
};

}  // namespace nudge
