// Transition: next-item prediction from the order of events, the cheap sequence model.
//
// Each user's events are put in time order (ties keep their order in the data, the only
// order there is when timestamps tie). Every step a -> b of a sequence (b != a) counts for
// the pair, and with reach > 1 so do the items up to `reach` steps later, weighted 1/step.
// Each item keeps its `max_successors` strongest successors, normalised to P(b | a). A user
// is scored from their last `window` distinct items, newest first, the t-th weighted decay^t:
//   score(b) = sum_t decay^t P(b | item_t) + popularity_weight * pop(b) / max pop,
// the popularity term breaking ties and covering items nothing leads to. Served users are
// scored from their recent items (UserHistory::recent, newest first), or else from their
// history taken oldest first.
// Thread-safety: see Recommender.
#pragma once

#include <vector>

#include "nudge/csr.h"
#include "nudge/recommender.h"

namespace nudge {

struct TransitionOptions {
  int64_t window = 5;               // recent items whose successors are summed
  double decay = 0.6;               // weight of each older recent item relative to the next newer
  int64_t reach = 3;                // successors counted up to this many steps later (weight 1/step)
  int64_t max_successors = 200;     // kept per item (the strongest)
  double popularity_weight = 0.01;  // share of normalised popularity added to every score
  static Result<TransitionOptions> from_params(const Params& params);
  static const ParamTable<TransitionOptions>& parameters();
};

class TransitionModel : public Recommender {
 public:
  TransitionModel(TransitionOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "transition"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  // `items` taken as oldest first (the order of nudge recommend --history).
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  // Scores from user.recent (newest first) when the server tracks it.
  bool score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                          std::span<float> scores, std::span<float> described_scores) const override;
  // The item's strongest successors.
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // P(b | a) per row a (each row's values sum to 1 over its kept successors).
  const CsrMatrix& successors() const { return successors_; }

 private:
  // Scores from recent items, newest first.
  void score_recent(std::span<const uint32_t> newest_first, std::span<float> scores) const;

  TransitionOptions options_;
  Params params_;
  CsrMatrix successors_;
  // Per user, the last `window` distinct training items, newest first: user u's are
  // recent_items_[recent_offsets_[u] .. recent_offsets_[u + 1]).
  std::vector<uint64_t> recent_offsets_;
  std::vector<uint32_t> recent_items_;
  std::vector<float> popularity_;  // normalised to a maximum of 1
};

}  // namespace nudge
