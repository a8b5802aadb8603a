// Experiment: an online test between the models `nudge serve` serves side by side
// (EngineOptions::arms), in one of two designs:
//
//   A/B          each user is assigned to one arm by a stable hash of (experiment name, user):
//                the same user gets the same arm in every request, process and replica, and
//                arms get users in proportion to their weights.
//   interleave   every list mixes two arms by team draft (Radlinski, Kurup & Joachims, "How
//                does clickthrough data reflect retrieval quality?", CIKM 2008): the arms
//                take turns, the one with fewer picks (a coin on ties) adds its best item not
//                yet listed, and each item is credited to the arm that picked it. A list
//                whose clicks favour one arm is a win for it; interleaving needs ~10-100x
//                fewer users than A/B to rank two models.
//
// Each served list gets a `rec_id`; an event that carries it is attributed to the list: a
// click or conversion type (options) on an item of the list counts for the arm that served
// (A/B) or picked (interleave) that item. The last `remember` lists are kept for this;
// older rec_ids, items not in their list and events of another user than the list's (rec_ids
// are handed out by the open GET /v1/recommend: anyone could replay one) are counted as
// unattributed.
//
// Counts (since the process started, like every /metrics counter):
//   impressions  lists served in the arm (interleave: every list, for both arms)
//   clicks       click events attributed to the arm; `clicked` lists with at least one
//   conversions  likewise; `converted` lists with at least one
// CTR is clicked / impressions, a proportion with a Wilson 95% interval; A/B arms also get
// the two-sided p-value of a two-proportion z-test against the first arm (the control).
// Interleaving reports wins, ties, the preference (wins_A + ties/2) / lists_clicked - 1/2
// and a two-sided sign test of wins_A against wins_B.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nudge/serve/options.h"
#include "nudge/status.h"

namespace nudge::serve {

// Arm and experiment names: 1..64 of [A-Za-z0-9_.-] (they are Prometheus label values and file names).
Status check_experiment_name(std::string_view name, const std::string& field);

struct ArmReport {
  std::string name;
  uint64_t impressions = 0, clicks = 0, clicked = 0, conversions = 0, converted = 0;
  double ctr = 0, ctr_low = 0, ctr_high = 0;  // clicked / impressions, Wilson 95% interval
  double conversion_rate = 0, conversion_low = 0, conversion_high = 0;
  double p_value = 0;  // A/B, arms after the first: CTR against the first arm; NaN otherwise
  uint64_t wins = 0;   // interleave: lists whose clicks favour this arm
};

struct ExperimentReport {
  std::string name;
  ExperimentMode mode = ExperimentMode::kAB;
  std::vector<ArmReport> arms;
  uint64_t ties = 0;            // interleave: clicked lists with as many clicks for each arm
  double preference = 0;        // interleave: > 0 favours the first arm; NaN before any click
  double p_value = 0;           // interleave: sign test of the wins; NaN before any win
  uint64_t unknown_rec_id = 0;  // events with a rec_id no longer (or never) remembered
  uint64_t not_in_list = 0;     // click or conversion events on an item their list did not show
  uint64_t other_user = 0;      // click or conversion events of another user than the list's
};

// One item of an interleaved list and the arm credited with it.
struct DraftPick {
  std::string item;
  size_t arm = 0;
};

class Experiment {
 public:
  static constexpr size_t kMaxArms = 32;
  static constexpr size_t kNoArm = SIZE_MAX;  // an item no arm is credited with (a pin)
  // `arms` are the engine's arm names, in order; errors name the options' field.
  static Result<std::unique_ptr<Experiment>> create(ExperimentOptions options, std::vector<std::string> arms);

  const ExperimentOptions& options() const { return options_; }
  const std::vector<std::string>& arms() const { return arms_; }
  // A/B: the user's arm, the same on every call and machine.
  size_t assign(std::string_view user) const;
  // Team draft of two rankings into at most k distinct items; `seed` decides the coin flips.
  static std::vector<DraftPick> team_draft(const std::vector<std::string>& first,
                                           const std::vector<std::string>& second, size_t k, uint64_t seed);
  // A fresh list identity: its rec_id and the seed of its draft coins.
  struct ListId {
    uint64_t key = 0;
    std::string rec_id;  // 16 hex digits
  };
  ListId next_list();
  // Remembers a served list and counts its impression: `credited[i]` is the arm of items[i]
  // (kNoArm: none); `arm` is the serving arm (A/B) or kNoArm (interleave: both arms).
  // `user` is the user the list was served to.
  void record(const ListId& id, std::string_view user, size_t arm, const std::vector<std::string>& items,
              const std::vector<size_t>& credited);
  // Attributes one accepted event of `user` that carried `rec_id` (types other than clicks
  // and conversions are ignored; an event of another user than the list's is not credited).
  void attribute(std::string_view rec_id, std::string_view user, std::string_view item, std::string_view type);

  ExperimentReport report() const;
  // Per-arm counters in the Prometheus text format.
  std::string render_metrics() const;

 private:
  Experiment(ExperimentOptions options, std::vector<std::string> arms);
  struct List {
    std::vector<uint64_t> items;  // hashes of the item IDs
    uint64_t user = 0;            // hash of the user ID the list was served to
    std::vector<uint8_t> credited;
    uint8_t arm = 0;                                // A/B arm; 255: interleaved
    uint32_t clicked_arms = 0, converted_arms = 0;  // bit per arm
    uint32_t clicks[2] = {0, 0};                    // interleave: per arm, for the win
  };
  struct Counts {
    uint64_t impressions = 0, clicks = 0, clicked = 0, conversions = 0, converted = 0, wins = 0;
  };

  ExperimentOptions options_;
  std::vector<std::string> arms_;
  std::vector<uint32_t> bucket_end_;  // A/B: arm k takes hash buckets [end[k-1], end[k])
  mutable std::mutex mutex_;
  uint64_t salt_ = 0, next_ = 0;                                               // guarded by mutex_
  std::unordered_map<uint64_t, List> lists_;                                   // guarded by mutex_
  std::deque<uint64_t> order_;                                                 // guarded by mutex_: oldest first
  std::vector<Counts> counts_;                                                 // guarded by mutex_
  uint64_t ties_ = 0, unknown_rec_id_ = 0, not_in_list_ = 0, other_user_ = 0;  // guarded by mutex_
};

}  // namespace nudge::serve
