// Ranking and rating metrics for one user or one prediction set. Pure functions checked
// against hand-computed examples in tests/eval/metrics_test.cc.
//
// Relevance is binary. For a top list `ranked` (best first) cut at k and the relevant set R:
//   precision@k = hits / k            recall@k = hits / |R|
//   hit_rate@k  = 1 if any hit        mrr@k    = 1 / rank of the first hit (0 if none)
//   ndcg@k      = DCG / IDCG with DCG = sum over hits of 1/log2(rank + 1), IDCG over min(k, |R|)
//   map@k       = sum over hits at rank r of precision@r, divided by min(k, |R|)
#pragma once

#include <cstdint>
#include <span>

namespace nudge {

struct RankingMetrics {
  double precision = 0, recall = 0, ndcg = 0, hit_rate = 0, mrr = 0, map = 0;
};

// `relevant_sorted` ascending, no duplicates. `ranked` may be shorter than k.
RankingMetrics ranking_metrics(std::span<const uint32_t> ranked, std::span<const uint32_t> relevant_sorted, size_t k);

// Area under the ROC curve of `scores` separating relevant from the other candidates, where
// candidates are all items not in `excluded_sorted`. Ties count one half (Mann-Whitney U).
// 0.5 when there are no relevant or no irrelevant candidates.
double auc(std::span<const float> scores, std::span<const uint32_t> relevant_sorted,
           std::span<const uint32_t> excluded_sorted);

}  // namespace nudge
