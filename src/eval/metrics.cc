#include "nudge/metrics.h"

#include <algorithm>
#include <cmath>
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
  std::vector<std::pair<float, bool>> cand;
  cand.reserve(scores.size());
  size_t ex = 0, rel = 0;
  for (uint32_t i = 0; i < scores.size(); ++i) {
    while (ex < excluded_sorted.size() && excluded_sorted[ex] < i) ++ex;
    if (ex < excluded_sorted.size() && excluded_sorted[ex] == i) continue;
    while (rel < relevant_sorted.size() && relevant_sorted[rel] < i) ++rel;
    cand.emplace_back(scores[i], rel < relevant_sorted.size() && relevant_sorted[rel] == i);
  }
  std::sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double rank_sum = 0;
  size_t positives = 0;
  for (size_t i = 0; i < cand.size();) {
    size_t j = i;
    size_t pos_in_tie = 0;
    while (j < cand.size() && cand[j].first == cand[i].first) pos_in_tie += cand[j++].second;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    rank_sum += avg_rank * static_cast<double>(pos_in_tie);
    positives += pos_in_tie;
    i = j;
  }
  const size_t negatives = cand.size() - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double u = rank_sum - static_cast<double>(positives) * (static_cast<double>(positives) + 1.0) / 2.0;
  return u / (static_cast<double>(positives) * static_cast<double>(negatives));
}

}  // namespace nudge
