// StatsHistory: a short in-memory history of the server's own counters, sampled every few
// seconds (Server's sampler thread, server.history_interval_s), for the console's charts
// (GET /v1/history): request and ingest rates, recommendation latency percentiles, the
// serving model's version, training time and fusion weights, the store's size. Samples hold
// cumulative counters; to_json() turns neighbouring samples into per-interval rates and
// percentiles. Nothing is stored: a restart starts a new history.
// Thread-safety: add() and to_json() may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "serve/metrics.h"

namespace nudge::serve {

struct StatsSample {
  int64_t time = 0;              // unix seconds
  uint64_t requests = 0;         // every endpoint, cumulative
  uint64_t ingested = 0;         // events acknowledged since the process started, cumulative
  Metrics::Buckets recommend{};  // GET /v1/recommend latency buckets, cumulative
  uint64_t events = 0, users = 0, items = 0;
  uint64_t model_version = 0;
  double train_seconds = 0;
  uint64_t retrains = 0;
  std::vector<std::pair<std::string, float>> fusion_weights;
};

class StatsHistory {
 public:
  explicit StatsHistory(size_t capacity = 720) : capacity_(capacity) {}
  void add(StatsSample sample);  // drops the oldest beyond capacity
  // {"samples": [{"time", "requests_per_s", "events_per_s", "recommend_ms": {"p50", "p95",
  // "p99"} or null, "events", "users", "items", "model_version", "train_seconds",
  // "retrains", "fusion_weights"}]}: rates and percentiles over the interval before each
  // sample (the first has none).
  nlohmann::json to_json() const;

  // The q-quantile (0..1) of the latencies counted in `b`, in milliseconds, interpolated
  // within its bucket as Prometheus does; -1 when b counts nothing.
  static double quantile_ms(const Metrics::Buckets& b, double q);

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<StatsSample> samples_;
};

}  // namespace nudge::serve
