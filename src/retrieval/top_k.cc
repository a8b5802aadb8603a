#include "nudge/top_k.h"

#include <algorithm>
#include <cmath>

namespace nudge {

namespace {
constexpr auto kBetter = ranks_before<ScoredItem>;
}  // namespace

void sort_best_first(std::vector<ScoredItem>* items) { std::sort(items->begin(), items->end(), kBetter); }

void keep_best(std::vector<ScoredItem>* items, size_t k) {
  if (items->size() <= k) return sort_best_first(items);
  std::partial_sort(items->begin(), items->begin() + static_cast<std::ptrdiff_t>(k), items->end(), kBetter);
  items->resize(k);
}

void top_k(std::span<const float> scores, size_t k, std::span<const uint32_t> exclude_sorted,
           std::vector<ScoredItem>* out) {
  out->clear();
  if (k == 0) return;
  // A heap whose top is the worst item kept so far.
  auto& heap = *out;
  heap.reserve(std::min(k, scores.size()));
  size_t ex = 0;
  for (uint32_t i = 0; i < scores.size(); ++i) {
    while (ex < exclude_sorted.size() && exclude_sorted[ex] < i) ++ex;
    if (ex < exclude_sorted.size() && exclude_sorted[ex] == i) continue;
    const float s = scores[i];
    if (std::isnan(s)) continue;
    const ScoredItem cand{i, s};
    if (heap.size() < k) {
      heap.push_back(cand);
      std::push_heap(heap.begin(), heap.end(), kBetter);
    } else if (kBetter(cand, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), kBetter);
      heap.back() = cand;
      std::push_heap(heap.begin(), heap.end(), kBetter);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), kBetter);
}

}  // namespace nudge
