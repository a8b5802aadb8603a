// Fusion: several models' scores combined into one ranking.
//
// Each component's scores are normalised per user over the catalogue (zscore, minmax or
// rank) and then combined:
//   weighted  R = sum_m lambda_m R_m / sum_m lambda_m, lambda tuned on a validation split
//             by coordinate search on a 0.1 grid, maximising NDCG@10
//   learned   logistic stacking: sigmoid(w . f) over f = [R_m, R_m * h, p, h * p, 1] with
//             h = the user's history length and p = the item's popularity (log-scaled to
//             [0, 1]), trained on validation positives against sampled negatives, so the
//             weight of each model can depend on how much the user has done
// fit() holds out `validation` of the training pairs (random, leave-last or temporal:
// `split`), fits the components on the rest, tunes the combination there, then goes on
// training the components on all of the training data (`refit`: warm or from scratch). The
// weighted search starts from the best of the equal mix and each component alone, and a
// weight may reach 0, so on the validation users the fusion never ends below its best
// component.
// Params: models=ials+twotower (registry names), method, normalise, validation, split, refit,
// tuning_users, seed, and
// component parameters prefixed by the component name (ials.factors=32).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nudge/recommender.h"
#include "nudge/split.h"

namespace nudge {

struct FusionOptions {
  std::vector<std::string> models = {"ials", "twotower"};
  std::vector<Params> model_params;
  std::string method = "weighted";   // weighted, learned
  std::string normalise = "zscore";  // zscore, minmax, rank
  double validation = 0.1;
  // How the validation pairs are held out: random, leave-last (each user's newest event, as
  // the leave-last protocol evaluates) or temporal (the newest `validation` share of events).
  SplitMethod split = SplitMethod::kRandom;
  // After tuning, the components learn the held-out pairs too: warm (from the tuned fit, a
  // fraction of the cost, for kinds that can) or full (fitted again from scratch).
  std::string refit = "warm";   // warm, full
  int64_t tuning_users = 2000;  // validation users used for tuning (speed)
  int64_t seed = 42;
  static Result<FusionOptions> from_params(const Params& params);
  static const ParamTable<FusionOptions>& parameters();
};

// Per-user normalisation of a score vector in place.
void normalise_scores(std::string_view method, std::span<float> scores);
// The same, and `extras` normalised against the distribution of `scores` (as if they were
// among them; the scores themselves are normalised without them).
void normalise_scores(std::string_view method, std::span<float> scores, std::span<float> extras);

class FusionModel : public Recommender {
 public:
  static Result<std::unique_ptr<Recommender>> create(const Params& params);
  std::string_view name() const override { return "fusion"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void release_training_state() override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  // Described items: each component with a feature view scores them, normalised against
  // its catalogue scores; a component without one counts them at its mean (no evidence).
  // Every component gets the whole UserHistory (recent items and attributes).
  bool score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                          std::span<float> scores, std::span<float> described_scores) const override;
  bool has_feature_view() const override;
  bool knows_attributes(const FeatureDescription& attributes) const override;
  // The first component's that has them.
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  ItemEmbeddings item_embeddings() const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;
  // Tuned combination: lambda per model (weighted) or the stacking weights (learned).
  const std::vector<float>& weights() const { return weights_; }
  // Empty when the last fit tuned its combination; else why it kept the untuned one (an
  // equal mix), e.g. "no validation user to tune on": a fit never fails for want of them.
  const std::string& untuned_reason() const { return untuned_reason_; }
  const FusionOptions& options() const { return options_; }
  const Recommender& part(size_t k) const { return *parts_[k]; }
  size_t num_parts() const { return parts_.size(); }
  // The learned combination's features: each item's log-scaled popularity p and each
  // training user's history feature h, both in [0, 1] (ONNX export).
  const std::vector<float>& item_popularity() const { return item_pop_; }
  const std::vector<float>& user_history_features() const { return user_history_; }
  // h for a user of n history items: min(1, log(1 + n) / history_scale()).
  float history_scale() const { return history_scale_; }
  // Each component's normalised scores for a history (one vector of num_items() per
  // component, in options().models order): what score_history combines. For explanations.
  void component_scores(const UserHistory& user, std::vector<std::vector<float>>* out) const;

 private:
  FusionOptions options_;
  Params params_;
  std::vector<std::unique_ptr<Recommender>> parts_;
  std::vector<float> weights_;
  std::string untuned_reason_;
  std::vector<float> item_pop_;      // log-scaled popularity in [0, 1]
  std::vector<float> user_history_;  // log-scaled history length in [0, 1]
  float history_scale_ = 1.f;        // log(1 + longest history), for fold-in users
  void combine(const std::vector<std::vector<float>>& normalised, float history, std::span<float> out) const;
  // The same with component k's normalised scores at normalised[k] (out.size() of them).
  void combine_rows(const float* const* normalised, float history, std::span<float> out) const;
  // The same for items outside the catalogue (no popularity).
  void combine_described(const std::vector<std::vector<float>>& normalised, float history, std::span<float> out) const;
  float history_feature(size_t items) const;  // h for a history of this length
  // One item's fused score from its m normalised component scores z (item kNoIndex: no popularity).
  float fuse(const float* z, uint32_t item, float history) const;
  Status tune(const Dataset& fit_part, const Dataset& validation);
};

}  // namespace nudge
