#include "nudge/models/transition.h"

#include <algorithm>

#include "nudge/param_table.h"
#include "nudge/serialize.h"

namespace nudge {

const ParamTable<TransitionOptions>& TransitionOptions::parameters() {
  using T = ParamTable<TransitionOptions>;
  static const T kTable({
      T::integer("window", &TransitionOptions::window, 1, 1000, "recent items whose successors are summed"),
      T::number("decay", &TransitionOptions::decay, 0, 1,
                "weight of each older recent item relative to the next newer"),
      T::integer("reach", &TransitionOptions::reach, 1, 20, "successors counted up to this many steps later (1/step)"),
      T::integer("max_successors", &TransitionOptions::max_successors, 1, 1'000'000, "successors kept per item"),
      T::number("popularity_weight", &TransitionOptions::popularity_weight, 0, 1,
                "share of normalised popularity added to every score (ties, items nothing leads to)"),
  });
  return kTable;
}

Result<TransitionOptions> TransitionOptions::from_params(const Params& p) {
  TransitionOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("transition", p, &o));
  return o;
}

Status TransitionModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const Interactions& in = train.interactions();
  const uint32_t n_items = train.num_items();
  const UserSequences sequences = user_sequences(in, num_users());
  struct Step {
    uint32_t from, to;
    float weight;
  };
  std::vector<Step> steps;
  steps.reserve(in.size() * static_cast<size_t>(options_.reach));
  recent_offsets_.assign(1, 0);
  recent_items_.clear();
  popularity_.assign(n_items, 0.f);
  for (uint32_t u = 0; u < num_users(); ++u) {
    const std::span<const uint32_t> sequence = sequences.of(u);
    for (size_t k = 0; k < sequence.size(); ++k) {
      popularity_[sequence[k]] += 1.f;
      for (int64_t g = 1; g <= options_.reach && k + static_cast<size_t>(g) < sequence.size(); ++g)
        if (sequence[k + static_cast<size_t>(g)] != sequence[k])
          steps.push_back({sequence[k], sequence[k + static_cast<size_t>(g)], 1.f / static_cast<float>(g)});
    }
    // The last `window` distinct items, newest first.
    const size_t row_start = recent_items_.size();
    for (size_t k = sequence.size();
         k-- > 0 && recent_items_.size() - row_start < static_cast<size_t>(options_.window);)
      if (std::find(recent_items_.begin() + static_cast<std::ptrdiff_t>(row_start), recent_items_.end(), sequence[k]) ==
          recent_items_.end())
        recent_items_.push_back(sequence[k]);
    recent_offsets_.push_back(recent_items_.size());
  }
  const float max_pop = std::max(1.f, *std::max_element(popularity_.begin(), popularity_.end()));
  for (float& p : popularity_) p /= max_pop;

  std::sort(steps.begin(), steps.end(),
            [](const Step& a, const Step& b) { return a.from != b.from ? a.from < b.from : a.to < b.to; });
  successors_ = CsrMatrix();
  successors_.num_rows = successors_.num_cols = n_items;
  successors_.indptr.assign(1, 0);
  std::vector<std::pair<uint32_t, float>> row;
  size_t s = 0;
  for (uint32_t a = 0; a < n_items; ++a) {
    row.clear();
    double total = 0;
    for (; s < steps.size() && steps[s].from == a; ++s) {
      if (row.empty() || row.back().first != steps[s].to) row.emplace_back(steps[s].to, 0.f);
      row.back().second += steps[s].weight;
      total += steps[s].weight;
    }
    const auto keep = static_cast<size_t>(options_.max_successors);
    if (row.size() > keep) {
      // The strongest; ties to the lower index, as every ranking here.
      std::partial_sort(
          row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep), row.end(),
          [](const auto& x, const auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
      row.resize(keep);
      std::sort(row.begin(), row.end());
    }
    for (const auto& [b, w] : row) {
      successors_.indices.push_back(b);
      successors_.values.push_back(static_cast<float>(w / total));  // P(b | a) over every successor seen
    }
    successors_.indptr.push_back(successors_.indices.size());
  }
  return Status::ok();
}

void TransitionModel::score_recent(std::span<const uint32_t> newest_first, std::span<float> scores) const {
  const auto pw = static_cast<float>(options_.popularity_weight);
  for (uint32_t i = 0; i < num_items(); ++i) scores[i] = pw * popularity_[i];
  float w = 1.f;
  const size_t n = std::min(newest_first.size(), static_cast<size_t>(options_.window));
  for (size_t t = 0; t < n; ++t, w *= static_cast<float>(options_.decay)) {
    const uint32_t a = newest_first[t];
    NUDGE_CHECK(a < num_items(), "transition: item index out of range");
    const auto to = successors_.row_indices(a);
    const auto p = successors_.row_values(a);
    for (size_t k = 0; k < to.size(); ++k) scores[to[k]] += w * p[k];
  }
}

void TransitionModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  score_recent(std::span<const uint32_t>(recent_items_)
                   .subspan(recent_offsets_[user], recent_offsets_[user + 1] - recent_offsets_[user]),
               scores);
}

void TransitionModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                    std::span<float> scores) const {
  check_history_call(items, weights, scores);
  std::vector<uint32_t> newest_first;
  for (size_t k = items.size(); k-- > 0 && newest_first.size() < static_cast<size_t>(options_.window);)
    if (std::find(newest_first.begin(), newest_first.end(), items[k]) == newest_first.end())
      newest_first.push_back(items[k]);
  score_recent(newest_first, scores);
}

bool TransitionModel::score_history_with(const UserHistory& user, std::span<const FeatureDescription>,
                                         std::span<float> scores, std::span<float>) const {
  if (user.recent.empty()) {
    score_history(user.items, user.weights, scores);
    return false;
  }
  check_history_call(user.items, user.weights, scores);
  score_recent(user.recent, scores);
  return false;
}

Status TransitionModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::invalid_argument("transition: no item " + std::to_string(item));
  out->clear();
  const auto to = successors_.row_indices(item);
  const auto p = successors_.row_values(item);
  for (size_t j = 0; j < to.size(); ++j) out->push_back({to[j], p[j]});
  std::sort(out->begin(), out->end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  if (out->size() > k) out->resize(k);
  return Status::ok();
}

void TransitionModel::save_state(ModelWriter& out) const {
  out.u32(num_users());
  out.csr(successors_);
  out.u64s(recent_offsets_);
  out.u32s(recent_items_);
  out.floats(popularity_);
}

Status TransitionModel::load_state(ModelReader& in) {
  uint32_t users = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&users, "transition: users"));
  NUDGE_RETURN_IF_ERROR(in.csr(&successors_, "transition: successors"));
  NUDGE_RETURN_IF_ERROR(in.u64s(&recent_offsets_, "transition: recent offsets", size_t{users} + 1));
  NUDGE_RETURN_IF_ERROR(in.u32s(&recent_items_, "transition: recent items"));
  NUDGE_RETURN_IF_ERROR(in.floats(&popularity_, "transition: popularity", successors_.num_rows));
  if (successors_.num_rows != successors_.num_cols)
    return in.corrupt("transition: successors", "not a square item x item matrix");
  for (size_t u = 0; u < users; ++u)
    if (recent_offsets_[u] > recent_offsets_[u + 1]) return in.corrupt("transition: recent offsets", "not increasing");
  if (recent_offsets_.front() != 0 || recent_offsets_.back() != recent_items_.size())
    return in.corrupt("transition: recent offsets", "do not cover the recent items");
  for (uint32_t i : recent_items_)
    if (i >= successors_.num_rows) return in.corrupt("transition: recent items", "an item index out of range");
  set_shape(users, successors_.num_rows);
  return Status::ok();
}

}  // namespace nudge
