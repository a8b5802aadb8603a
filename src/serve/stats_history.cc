#include "serve/stats_history.h"

#include <nlohmann/json.hpp>

namespace nudge::serve {

void StatsHistory::add(StatsSample sample) {
  std::lock_guard lock(mutex_);
  samples_.push_back(std::move(sample));
  while (samples_.size() > capacity_) samples_.pop_front();
}

double StatsHistory::quantile_ms(const Metrics::Buckets& b, double q) {
  uint64_t total = 0;
  for (uint64_t n : b) total += n;
  if (total == 0) return -1;
  const double rank = q * static_cast<double>(total);
  double before = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    const double here = static_cast<double>(b[k]);
    if (before + here >= rank && here > 0) {
      const double lo = k == 0 ? 0.0 : Metrics::kBuckets[k - 1];
      // The +Inf bucket has no upper bound: its lower one is the best that can be said.
      const double hi = k < Metrics::kBuckets.size() ? Metrics::kBuckets[k] : lo;
      return 1000.0 * (lo + (hi - lo) * (rank - before) / here);
    }
    before += here;
  }
  return 1000.0 * Metrics::kBuckets.back();
}

nlohmann::json StatsHistory::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json samples = nlohmann::json::array();
  for (size_t k = 0; k < samples_.size(); ++k) {
    const StatsSample& s = samples_[k];
    nlohmann::json j = {{"time", s.time},
                        {"events", s.events},
                        {"users", s.users},
                        {"items", s.items},
                        {"model_version", s.model_version},
                        {"train_seconds", s.train_seconds},
                        {"retrains", s.retrains}};
    nlohmann::json weights = nlohmann::json::object();
    for (const auto& [component, w] : s.fusion_weights) weights[component] = w;
    j["fusion_weights"] = std::move(weights);
    j["requests_per_s"] = nullptr;
    j["events_per_s"] = nullptr;
    j["recommend_ms"] = nullptr;
    if (k > 0 && s.time > samples_[k - 1].time) {
      const StatsSample& p = samples_[k - 1];
      const auto dt = static_cast<double>(s.time - p.time);
      j["requests_per_s"] = static_cast<double>(s.requests - p.requests) / dt;
      j["events_per_s"] = static_cast<double>(s.ingested - p.ingested) / dt;
      Metrics::Buckets window{};
      for (size_t b = 0; b < window.size(); ++b) window[b] = s.recommend[b] - p.recommend[b];
      if (quantile_ms(window, 0.5) >= 0)
        j["recommend_ms"] = {
            {"p50", quantile_ms(window, 0.5)}, {"p95", quantile_ms(window, 0.95)}, {"p99", quantile_ms(window, 0.99)}};
    }
    samples.push_back(std::move(j));
  }
  return {{"samples", std::move(samples)}};
}

}  // namespace nudge::serve
