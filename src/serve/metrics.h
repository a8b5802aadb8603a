// Metrics: request counters and latency histograms per endpoint, rendered in the Prometheus
// text exposition format (version 0.0.4) by GET /metrics together with the engine's gauges.
// Thread-safety: observe() may be called concurrently (atomics, no locks).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "nudge/serve/engine.h"

namespace nudge::serve {

struct ClusterStats;  // cluster.h
struct KafkaStats;    // kafka_source.h

enum class Endpoint : uint8_t {
  kEvents,
  kRecommend,
  kSimilar,
  kItems,
  kUsers,
  kRetrain,
  kModel,
  kHealth,
  kMetrics,
  kExperiments,
  kHistory,
  kEvaluation,
  kUi,
  kOther,
  kCount
};
std::string_view endpoint_name(Endpoint e);

class Metrics {
 public:
  // Upper bounds of the latency buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};
  // Counts per latency bucket (kBuckets, then +Inf), not cumulated across buckets.
  using Buckets = std::array<uint64_t, kBuckets.size() + 1>;
  void observe(Endpoint endpoint, int http_status, double seconds);
  uint64_t requests() const;                 // every endpoint, since the process started
  Buckets latency(Endpoint endpoint) const;  // since the process started
  uint64_t events_ingested() const { return events_ingested_.load(std::memory_order_relaxed); }
  void add_events(uint64_t n) { events_ingested_.fetch_add(n, std::memory_order_relaxed); }
  // `kafka`: the Kafka source's counters, when events also come from Kafka; `cluster`: this
  // replica's part in a cluster.
  std::string render(const EngineStats& stats, int64_t now_unix, const KafkaStats* kafka = nullptr,
                     const ClusterStats* cluster = nullptr) const;

 private:
  void render_requests(std::string& out) const;  // counts and latency histograms per endpoint
  static constexpr size_t kEndpoints = static_cast<size_t>(Endpoint::kCount);
  static constexpr size_t kClasses = 5;  // 1xx..5xx
  struct PerEndpoint {
    std::array<std::atomic<uint64_t>, kClasses> by_class{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  std::array<PerEndpoint, kEndpoints> endpoints_{};
  std::atomic<uint64_t> events_ingested_{0};
};

}  // namespace nudge::serve
