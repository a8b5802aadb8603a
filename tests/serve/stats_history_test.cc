// StatsHistory: percentiles from latency buckets (interpolated as Prometheus does), rates
// over the interval before each sample, and a bounded history.
#include "serve/stats_history.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace nudge::serve {
namespace {

TEST(StatsHistory, QuantilesInterpolateWithinTheirBucket) {
  Metrics::Buckets b{};
  EXPECT_EQ(StatsHistory::quantile_ms(b, 0.5), -1);  // nothing counted
  b[0] = 10;                                         // all at or below 0.1 ms
  EXPECT_DOUBLE_EQ(StatsHistory::quantile_ms(b, 0.5), 0.05);
  b[3] = 10;  // and ten in (0.5 ms, 1 ms]
  EXPECT_DOUBLE_EQ(StatsHistory::quantile_ms(b, 0.5), 0.1);
  EXPECT_DOUBLE_EQ(StatsHistory::quantile_ms(b, 0.75), 0.75);
  EXPECT_DOUBLE_EQ(StatsHistory::quantile_ms(b, 1.0), 1.0);
  Metrics::Buckets slow{};
  slow.back() = 4;  // beyond the last bound: reported at it
  EXPECT_DOUBLE_EQ(StatsHistory::quantile_ms(slow, 0.99), 1000.0 * Metrics::kBuckets.back());
}

TEST(StatsHistory, RatesAreOverTheIntervalBeforeEachSampleAndTheOldestGo) {
  StatsHistory h(3);
  for (int k = 0; k < 5; ++k) {
    StatsSample s;
    s.time = 100 + 10 * k;
    s.requests = static_cast<uint64_t>(50 * k);
    s.ingested = static_cast<uint64_t>(20 * k);
    s.recommend[2] = static_cast<uint64_t>(k);  // one more recommendation each interval
    s.fusion_weights = {{"ials", 0.5f + 0.1f * static_cast<float>(k)}};
    h.add(s);
  }
  const nlohmann::json j = h.to_json()["samples"];
  ASSERT_EQ(j.size(), 3u);  // capacity 3: the two oldest dropped
  EXPECT_EQ(j[0]["time"], 120);
  EXPECT_TRUE(j[0]["requests_per_s"].is_null());
  EXPECT_DOUBLE_EQ(j[1]["requests_per_s"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(j[1]["events_per_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j[1]["recommend_ms"]["p50"].get<double>(), 0.375);  // the middle of (0.25, 0.5] ms
  EXPECT_NEAR(j[2]["fusion_weights"]["ials"].get<double>(), 0.9, 1e-6);
}

}  // namespace
}  // namespace nudge::serve
