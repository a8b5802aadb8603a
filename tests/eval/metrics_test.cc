#include "nudge/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "nudge/rng.h"

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

// The AUC by definition (every positive-negative pair, ties one half) equals the counted
// one on random scores with ties, exclusions and relevant items among the excluded.
TEST(MetricsTest, AucEqualsThePairwiseDefinition) {
  Rng rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const uint32_t n = 1 + rng.uniform_index(60);
    std::vector<float> s(n);
    for (float& v : s) v = static_cast<float>(rng.uniform_index(8));  // many ties
    std::vector<uint32_t> rel, ex;
    for (uint32_t i = 0; i < n; ++i) {
      if (rng.uniform() < 0.2) rel.push_back(i);
      if (rng.uniform() < 0.2) ex.push_back(i);
    }
    double pairs = 0;
    size_t p = 0, q = 0;
    for (uint32_t a = 0; a < n; ++a) {
      const bool excluded = std::binary_search(ex.begin(), ex.end(), a);
      if (excluded) continue;
      const bool pos = std::binary_search(rel.begin(), rel.end(), a);
      pos ? ++p : ++q;
      if (!pos) continue;
      for (uint32_t b = 0; b < n; ++b) {
        if (std::binary_search(ex.begin(), ex.end(), b) || std::binary_search(rel.begin(), rel.end(), b)) continue;
        pairs += s[a] > s[b] ? 1.0 : s[a] == s[b] ? 0.5 : 0.0;
      }
    }
    const double want = p == 0 || q == 0 ? 0.5 : pairs / (static_cast<double>(p) * static_cast<double>(q));
    ASSERT_DOUBLE_EQ(auc(s, rel, ex), want) << "trial " << trial;
  }
}

}  // namespace
}  // namespace nudge
