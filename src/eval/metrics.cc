#include "nudge/metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

namespace nudge {

RankingMetrics ranking_metrics(std::span<const uint32_t> ranked, std::span<const uint32_t> relevant_sorted, size_t k) {
  RankingMetrics m;
  if (relevant_sorted.empty() || k == 0) return m;
  const size_t n = std::min(k, ranked.size());
  double dcg = 0, ap = 0;
  size_t hits = 0;
  for (size_t r = 0; r < n; ++r) {
    if (!std::binary_search(relevant_sorted.begin(), relevant_sorted.end(), ranked[r])) continue;
    ++hits;
    dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    ap += static_cast<double>(hits) / static_cast<double>(r + 1);
    if (hits == 1) m.mrr = 1.0 / static_cast<double>(r + 1);
  }
  const size_t ideal = std::min(k, relevant_sorted.size());
  double idcg = 0;
  for (size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  m.precision = static_cast<double>(hits) / static_cast<double>(k);
  m.recall = static_cast<double>(hits) / static_cast<double>(relevant_sorted.size());
  m.ndcg = dcg / idcg;
  m.hit_rate = hits > 0 ? 1.0 : 0.0;
  m.map = ap / static_cast<double>(ideal);
  return m;
}

double auc(std::span<const float> scores, std::span<const uint32_t> relevant_sorted,
           std::span<const uint32_t> excluded_sorted) {
  // Mann-Whitney U by counting, not sorting: each negative adds the positives scored above it
  // (and half of those tied with it), found by binary search in the few positives' sorted
  // scores (one branch-free comparison when there is one positive, as in leave-one-out).
  // O(n log p) for n candidates and p positives, no allocation after a thread's first.
  thread_local std::vector<float> positive;
  positive.clear();
  size_t ex = 0;
  for (uint32_t i : relevant_sorted) {
    if (i >= scores.size()) break;
    while (ex < excluded_sorted.size() && excluded_sorted[ex] < i) ++ex;
    if (ex < excluded_sorted.size() && excluded_sorted[ex] == i) continue;
    positive.push_back(scores[i]);
  }
  if (positive.empty()) return 0.5;
  std::sort(positive.begin(), positive.end());
  // The negatives are the runs between skipped items (excluded or relevant).
  thread_local std::vector<uint32_t> skip;
  skip.clear();
  std::set_union(excluded_sorted.begin(), excluded_sorted.end(), relevant_sorted.begin(), relevant_sorted.end(),
                 std::back_inserter(skip));
  double pairs = 0;  // doubled: ties count 1, wins 2, so the sum stays an exact integer
  size_t negatives = 0, next = 0;
  const auto n = static_cast<uint32_t>(scores.size());
  for (uint32_t begin = 0; begin < n;) {
    while (next < skip.size() && skip[next] < begin) ++next;
    const uint32_t end = next < skip.size() ? std::min(n, skip[next]) : n;
    negatives += end - begin;
    if (positive.size() == 1) {  // leave-one-out: one comparison per item, no branch
      const float p = positive.front();
      uint64_t doubled = 0;
      for (uint32_t i = begin; i < end; ++i) doubled += 2u * (scores[i] < p) + (scores[i] == p);
      pairs += static_cast<double>(doubled);
    } else {
      for (uint32_t i = begin; i < end; ++i) {
        const auto lo = std::lower_bound(positive.begin(), positive.end(), scores[i]);
        const auto hi = std::upper_bound(lo, positive.end(), scores[i]);
        pairs += static_cast<double>(2 * (positive.end() - hi) + (hi - lo));
      }
    }
    begin = end + 1;
  }
  if (negatives == 0) return 0.5;
  return pairs / (2.0 * static_cast<double>(positive.size()) * static_cast<double>(negatives));
}

}  // namespace nudge
