#include "nudge/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nudge {
namespace {

TEST(MetricsTest, HandComputedRankingExample) {
  // Ranked: 7 3 9 1 5; relevant {1, 3, 8}. Hits at ranks 2 and 4.
  const std::vector<uint32_t> ranked = {7, 3, 9, 1, 5};
  const std::vector<uint32_t> relevant = {1, 3, 8};
  const RankingMetrics m = ranking_metrics(ranked, relevant, 5);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 5);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.mrr, 0.5);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_NEAR(m.ndcg, dcg / idcg, 1e-12);
  EXPECT_NEAR(m.map, (1.0 / 2 + 2.0 / 4) / 3, 1e-12);
}

TEST(MetricsTest, CutOffAndEdgeCases) {
  const std::vector<uint32_t> ranked = {7, 3, 9, 1, 5};
  const std::vector<uint32_t> relevant = {1};
  const RankingMetrics at2 = ranking_metrics(ranked, relevant, 2);
  EXPECT_EQ(at2.hit_rate, 0.0);
  EXPECT_EQ(at2.ndcg, 0.0);
  const RankingMetrics perfect = ranking_metrics(std::vector<uint32_t>{1}, relevant, 10);
  EXPECT_DOUBLE_EQ(perfect.ndcg, 1.0);
  EXPECT_DOUBLE_EQ(perfect.map, 1.0);
  EXPECT_DOUBLE_EQ(perfect.precision, 0.1);
  EXPECT_EQ(ranking_metrics(ranked, {}, 5).ndcg, 0.0);
}

TEST(MetricsTest, AucCountsPairsAndTiesAsHalf) {
  // Candidates (item 2 excluded): scores 0:0.1 1:0.4 3:0.35 4:0.8; relevant {1, 4}.
  const std::vector<float> s = {0.1f, 0.4f, 0.99f, 0.35f, 0.8f};
  const std::vector<uint32_t> rel = {1, 4}, ex = {2};
  EXPECT_DOUBLE_EQ(auc(s, rel, ex), 1.0);
  const std::vector<uint32_t> rel2 = {0, 4};  // 0 below both negatives, 4 above both
  EXPECT_DOUBLE_EQ(auc(s, rel2, ex), 0.5);
  const std::vector<float> tied = {1, 1, 1, 1};
  const std::vector<uint32_t> one = {2};
  EXPECT_DOUBLE_EQ(auc(tied, one, {}), 0.5);
  EXPECT_DOUBLE_EQ(auc(s, {}, ex), 0.5);
}

}  // namespace
}  // namespace nudge
