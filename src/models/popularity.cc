#include "nudge/models/popularity.h"
#include "nudge/param_table.h"

#include <algorithm>
#include <cmath>

#include "nudge/serialize.h"

namespace nudge {

const ParamTable<PopularityOptions>& PopularityOptions::parameters() {
  using T = ParamTable<PopularityOptions>;
  static const T kTable({
      T::number("half_life_days", &PopularityOptions::half_life_days, 0, 1e6,
                "exponential time decay of event weights (0 = none)"),
  });
  return kTable;
}

Result<PopularityOptions> PopularityOptions::from_params(const Params& p) {
  PopularityOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("popularity", p, &o));
  return o;
}

Status PopularityModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const auto& in = train.interactions();
  scores_.assign(train.num_items(), 0.f);
  const int64_t newest = in.empty() ? 0 : *std::max_element(in.timestamps.begin(), in.timestamps.end());
  const double half_life_s = options_.half_life_days * 86400.0;
  std::vector<double> acc(train.num_items(), 0.0);
  for (size_t r = 0; r < in.size(); ++r) {
    double w = train.weight(r);
    if (half_life_s > 0) w *= std::exp2(-static_cast<double>(newest - in.timestamps[r]) / half_life_s);
    acc[in.items[r]] += w;
  }
  for (uint32_t i = 0; i < train.num_items(); ++i) scores_[i] = static_cast<float>(acc[i]);
  return Status::ok();
}

void PopularityModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  std::copy(scores_.begin(), scores_.end(), scores.begin());
}

void PopularityModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                    std::span<float> scores) const {
  check_history_call(items, weights, scores);
  std::copy(scores_.begin(), scores_.end(), scores.begin());
}

void PopularityModel::save_state(ModelWriter& out) const {
  out.u32(num_users());
  out.floats(scores_);
}

Status PopularityModel::load_state(ModelReader& in) {
  uint32_t users = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&users, "popularity: users"));
  NUDGE_RETURN_IF_ERROR(in.floats(&scores_, "popularity: scores"));
  set_shape(users, static_cast<uint32_t>(scores_.size()));
  return Status::ok();
}

}  // namespace nudge
