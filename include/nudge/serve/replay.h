// Prequential (test-then-train) replay: a timestamped event log played through the serving
// Engine as it would arrive live, measuring what users would have been shown.
//
// Events go in time order (file order breaks ties). The first `warmup` share is ingested
// unscored and the model trained on it. Then, for each event:
//   1. test   the Engine recommends the user's top k as the server would (seen items
//             excluded, cold users given trending items); a hit when the event's item is in
//             it, NDCG 1/log2(rank + 2) for the single relevant item;
//   2. train  the event is ingested through Engine::ingest: stored, folded into the
//             user's state, counted in trending, so the next request sees it;
//   3. every `retrain_every_events` events or `retrain_every_seconds` of event time, the
//             Engine retrains on everything so far and swaps the model in (Engine::retrain).
// An event whose (user, item) the user already had is applied but not scored: seen items
// are never recommended, so it could not be a hit (counted as `repeats`).
//
// Results come per window of event time, with a drift flag: a window whose NDCG falls more
// than `drift_threshold` below the mean of the `drift_baseline` windows before it (windows
// with fewer than `drift_min_events` scored events are neither flagged nor used as a base).
//
// The Engine lives in `data_dir` (which must not hold a store already) with fsync off:
// replay measures recommendations, not durability.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nudge/serve/records.h"
#include "nudge/status.h"

namespace nudge::serve {

struct ReplayOptions {
  std::string data_dir;
  std::string spec = "ials";  // the served model, as `nudge train -m` takes it
  std::string event_weights;  // "view=1,purchase=8"; empty: the Engine's defaults
  size_t k = 10;
  double warmup = 0.2;                // share of events applied before scoring starts
  int64_t retrain_every_events = 0;   // 0: not by count
  int64_t retrain_every_seconds = 0;  // of event time; 0: not by time
  int64_t window_seconds = 0;         // 0: a twentieth of the scored span
  double drift_threshold = 0.2;
  int drift_baseline = 3;
  uint64_t drift_min_events = 30;
};

struct ReplayWindow {
  int64_t start = 0;  // event time, seconds
  int64_t end = 0;
  uint64_t events = 0;  // applied in the window
  uint64_t scored = 0;
  uint64_t hits = 0;
  double ndcg_sum = 0;
  uint64_t retrains = 0;  // model swaps in the window
  bool drift = false;
  double hit_rate() const { return scored ? static_cast<double>(hits) / static_cast<double>(scored) : 0; }
  double ndcg() const { return scored ? ndcg_sum / static_cast<double>(scored) : 0; }
};

struct ReplayResult {
  std::vector<ReplayWindow> windows;
  size_t k = 0;
  uint64_t events = 0;  // all, warm-up included
  uint64_t warmup_events = 0;
  uint64_t scored = 0;
  uint64_t hits = 0;
  uint64_t cold_scored = 0;  // scored events of users with no history yet
  uint64_t repeats = 0;
  double ndcg_sum = 0;
  uint64_t retrains = 0;
  double seconds = 0;
  double hit_rate() const { return scored ? static_cast<double>(hits) / static_cast<double>(scored) : 0; }
  double ndcg() const { return scored ? ndcg_sum / static_cast<double>(scored) : 0; }
};

// Called every 10,000 events with the count done (progress display); may not throw.
using ReplayProgress = std::function<void(uint64_t done, uint64_t total)>;

// `events` in any order (sorted here, stably, by timestamp). Errors: options out of range,
// events the Engine refuses (named with their index), a failed retrain.
Result<ReplayResult> replay(std::vector<Event> events, const ReplayOptions& options,
                            const ReplayProgress& progress = {});

// Marks drifting windows (as replay does; exposed for tests and reports).
void flag_drift(std::vector<ReplayWindow>& windows, double threshold, int baseline, uint64_t min_events);

// {"k", "hit_rate", "ndcg", "scored", ..., "windows": [{"start", "end", "scored", "hit_rate",
// "ndcg", "retrains", "drift"}, ...]}
void to_json(nlohmann::json& j, const ReplayResult& r);

}  // namespace nudge::serve
