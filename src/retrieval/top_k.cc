#include "nudge/top_k.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nudge {

namespace {
constexpr auto kBetter = ranks_before<ScoredItem>;
constexpr uint32_t kGroup = 64;  // one AVX-512 register of floats, two AVX2 ones
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
  // A heap whose top is the worst item kept so far. Items come in index order, so once the
  // heap is full a candidate must score strictly above the worst (a tie loses to the lower
  // index already kept): one predictable comparison per item, and the exclusions split the
  // range into runs instead of being checked per item. NaN never compares above.
  auto& heap = *out;
  heap.reserve(std::min(k, scores.size()));
  const auto n = static_cast<uint32_t>(scores.size());
  float worst = -std::numeric_limits<float>::infinity();
  size_t ex = 0;
  for (uint32_t begin = 0; begin < n;) {
    while (ex < exclude_sorted.size() && exclude_sorted[ex] < begin) ++ex;
    const uint32_t end = ex < exclude_sorted.size() ? std::min(n, exclude_sorted[ex]) : n;
    uint32_t i = begin;
    for (; i < end && heap.size() < k; ++i) {  // filling
      if (std::isnan(scores[i])) continue;
      heap.push_back({i, scores[i]});
      std::push_heap(heap.begin(), heap.end(), kBetter);
      if (heap.size() == k) worst = heap.front().score;
    }
    while (i < end) {
      // Sixteen at a time, a comparison the compiler vectorises: once the heap holds good
      // items, almost no group has one above the worst, and the group is skipped whole.
      const uint32_t stop = std::min(end, i + kGroup);
      if (stop - i == kGroup) {
        // An int mask over a pointer (not a bool, not scores[i + j]: a 32-bit index may wrap),
        // the form GCC turns into packed compares.
        const float* group = scores.data() + i;
        int any = 0;
        for (size_t j = 0; j < kGroup; ++j) any |= group[j] > worst ? -1 : 0;
        if (any == 0) {
          i = stop;
          continue;
        }
      }
      for (; i < stop; ++i) {
        if (!(scores[i] > worst)) continue;
        std::pop_heap(heap.begin(), heap.end(), kBetter);
        heap.back() = {i, scores[i]};
        std::push_heap(heap.begin(), heap.end(), kBetter);
        worst = heap.front().score;
      }
    }
    begin = end + 1;  // past the excluded item (or past the end)
  }
  std::sort_heap(heap.begin(), heap.end(), kBetter);
}

}  // namespace nudge
