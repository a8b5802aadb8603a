#include "nudge/serve/replay.h"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "nudge/log.h"
#include "nudge/serve/engine.h"

namespace nudge::serve {
namespace {

Status check(const ReplayOptions& o) {
  if (o.data_dir.empty()) return Status::invalid_argument("replay: no data directory");
  if (o.k < 1 || o.k > kMaxK) return Status::invalid_argument(fmt::format("replay: k must be in [1, {}]", kMaxK));
  if (!(o.warmup >= 0 && o.warmup < 1)) return Status::invalid_argument("replay: warmup must be in [0, 1)");
  if (o.retrain_every_events < 0 || o.retrain_every_seconds < 0 || o.window_seconds < 0)
    return Status::invalid_argument("replay: retrain intervals and the window must be >= 0");
  if (!(o.drift_threshold > 0 && o.drift_threshold < 1))
    return Status::invalid_argument("replay: drift threshold must be in (0, 1)");
  if (o.drift_baseline < 1) return Status::invalid_argument("replay: drift baseline must be at least 1 window");
  return Status::ok();
}

// Event time -> window, windows of equal length from the first scored event.
struct Windows {
  int64_t origin = 0;
  int64_t length = 1;
  std::vector<ReplayWindow>* out;
  ReplayWindow& at(int64_t t) {
    const auto w = static_cast<size_t>(std::max<int64_t>(0, (t - origin) / length));
    while (out->size() <= w) {
      ReplayWindow next;
      next.start = origin + length * static_cast<int64_t>(out->size());
      next.end = next.start + length;
      out->push_back(next);
    }
    return (*out)[w];
  }
};

std::string pair_key(const Event& e) { return e.user + '\x1f' + e.item; }

// The first `n` events (by time) ingested and trained on before any is scored; their users
// and pairs are seen.
Status warm_up(Engine& engine, const std::vector<Event>& events, uint64_t n, std::unordered_set<std::string>* users,
               std::unordered_set<std::string>* pairs) {
  for (size_t e = 0; e < n; ++e) {
    users->insert(events[e].user);
    pairs->insert(pair_key(events[e]));
  }
  if (n == 0) return Status::ok();
  NUDGE_RETURN_IF_ERROR(engine.ingest({events.begin(), events.begin() + static_cast<ptrdiff_t>(n)}));
  return engine.retrain().with_context("replay: training on the warm-up");
}

// When replay retrains: every retrain_every_events events, or every retrain_every_seconds of
// event time (0: never by that).
struct RetrainSchedule {
  const ReplayOptions& options;
  int64_t last_time = 0;
  uint64_t since = 0;  // events since the last retrain
  bool due(int64_t t) const {
    return (options.retrain_every_events > 0 && since >= static_cast<uint64_t>(options.retrain_every_events)) ||
           (options.retrain_every_seconds > 0 && t - last_time >= options.retrain_every_seconds);
  }
  void retrained(int64_t t) { since = 0, last_time = t; }
};

// A fresh engine in options.data_dir that retrains only when replay says so.
Result<std::unique_ptr<Engine>> open_engine(const ReplayOptions& options) {
  EngineOptions eo;
  eo.data_dir = options.data_dir;
  eo.store.sync = false;
  eo.model.spec = options.spec;
  eo.event_weights = options.event_weights;
  eo.retrain_interval_s = 0;  // replay decides when to retrain, in event time
  eo.retrain_after_events = 0;
  eo.train_on_start = false;
  eo.trending_refresh_s = 0;  // trending as of the last event, not of a wall-clock second ago
  NUDGE_ASSIGN_OR_RETURN(auto engine, Engine::open(eo));
  if (engine->stats().events > 0)
    return Status::invalid_argument("replay: '" + options.data_dir + "' already holds events; give a new directory");
  return engine;
}

// The NDCG gain of the event's item in the list the engine shows its user now: 1 / log2(rank
// + 2), 0 when it is not in the top k.
Result<double> gain_of(const Engine& engine, const Event& event, RecommendRequest* request) {
  request->user = event.user;
  NUDGE_ASSIGN_OR_RETURN(const RecommendResponse shown, engine.recommend(*request));
  for (size_t rank = 0; rank < shown.items.size(); ++rank)
    if (shown.items[rank].item == event.item) return 1.0 / std::log2(static_cast<double>(rank) + 2.0);
  return 0.0;
}

}  // namespace

void flag_drift(std::vector<ReplayWindow>& windows, double threshold, int baseline, uint64_t min_events) {
  std::vector<double> recent;  // NDCG of the last `baseline` windows with enough events
  for (ReplayWindow& w : windows) {
    w.drift = false;
    if (w.scored < min_events) continue;
    if (recent.size() == static_cast<size_t>(baseline)) {
      double mean = 0;
      for (double v : recent) mean += v / static_cast<double>(recent.size());
      w.drift = w.ndcg() < (1.0 - threshold) * mean;
      recent.erase(recent.begin());
    }
    recent.push_back(w.ndcg());
  }
}

Result<ReplayResult> replay(std::vector<Event> events, const ReplayOptions& options, const ReplayProgress& progress) {
  NUDGE_RETURN_IF_ERROR(check(options));
  for (size_t e = 0; e < events.size(); ++e) {
    NUDGE_RETURN_IF_ERROR(Engine::validate_event(events[e], fmt::format("events[{}].", e)));
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.timestamp < b.timestamp; });
  NUDGE_ASSIGN_OR_RETURN(auto engine, open_engine(options));

  const auto start = std::chrono::steady_clock::now();
  ReplayResult r;
  r.k = options.k;
  r.events = events.size();
  r.warmup_events = static_cast<uint64_t>(std::floor(options.warmup * static_cast<double>(events.size())));
  std::unordered_set<std::string> users_seen, pairs_seen;
  NUDGE_RETURN_IF_ERROR(warm_up(*engine, events, r.warmup_events, &users_seen, &pairs_seen));
  if (r.warmup_events == events.size()) return r;

  const int64_t first = events[r.warmup_events].timestamp, last = events.back().timestamp;
  Windows windows{first,
                  options.window_seconds > 0 ? options.window_seconds : std::max<int64_t>(1, (last - first) / 20 + 1),
                  &r.windows};
  RetrainSchedule schedule{options, first};
  RecommendRequest request;
  request.k = options.k;
  for (size_t e = r.warmup_events; e < events.size(); ++e) {
    const Event& event = events[e];
    ReplayWindow& w = windows.at(event.timestamp);
    if (schedule.due(event.timestamp)) {
      NUDGE_RETURN_IF_ERROR(engine->retrain().with_context(fmt::format("replay: retrain before event {}", e)));
      ++r.retrains, ++w.retrains;
      schedule.retrained(event.timestamp);
    }
    // Test: what the server would have shown this user just before the event.
    if (pairs_seen.insert(pair_key(event)).second) {
      NUDGE_ASSIGN_OR_RETURN(const double gain, gain_of(*engine, event, &request));
      const bool hit = gain > 0;
      ++r.scored, ++w.scored;
      r.hits += hit, w.hits += hit;
      r.ndcg_sum += gain, w.ndcg_sum += gain;
      r.cold_scored += !users_seen.contains(event.user);
    } else {
      ++r.repeats;
    }
    // Train: the serving path applies it.
    NUDGE_RETURN_IF_ERROR(engine->ingest({event}));
    users_seen.insert(event.user);
    ++w.events;
    ++schedule.since;
    if (progress && (e + 1) % 10000 == 0) progress(e + 1, events.size());
  }
  flag_drift(r.windows, options.drift_threshold, options.drift_baseline, options.drift_min_events);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void to_json(nlohmann::json& j, const ReplayResult& r) {
  nlohmann::json windows = nlohmann::json::array();
  for (const ReplayWindow& w : r.windows) {
    windows.push_back({{"start", w.start},
                       {"end", w.end},
                       {"events", w.events},
                       {"scored", w.scored},
                       {"hit_rate", w.hit_rate()},
                       {"ndcg", w.ndcg()},
                       {"retrains", w.retrains},
                       {"drift", w.drift}});
  }
  j = {{"k", r.k},
       {"events", r.events},
       {"warmup_events", r.warmup_events},
       {"scored", r.scored},
       {"cold_scored", r.cold_scored},
       {"repeats", r.repeats},
       {"hit_rate", r.hit_rate()},
       {"ndcg", r.ndcg()},
       {"retrains", r.retrains},
       {"seconds", r.seconds},
       {"windows", std::move(windows)}};
}

}  // namespace nudge::serve
