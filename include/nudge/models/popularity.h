// Popularity: every user gets the most popular items. The baseline every model must beat.
//
// An item's score is the sum of its events' implicit weights, each discounted by
// 2^(-age / half_life) where age is measured from the newest training event (no decay
// when half_life_days is 0). Thread-safety: see Recommender.
#pragma once

#include <vector>

#include "nudge/recommender.h"

namespace nudge {

struct PopularityOptions {
  double half_life_days = 0.0;  // 0 = plain counts; else exponential time decay
  static Result<PopularityOptions> from_params(const Params& params);
  static const ParamTable<PopularityOptions>& parameters();
};

class PopularityModel : public Recommender {
 public:
  PopularityModel(PopularityOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "popularity"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;
  const std::vector<float>& item_scores() const { return scores_; }

 private:
  PopularityOptions options_;
  Params params_;
  std::vector<float> scores_;
};

}  // namespace nudge
