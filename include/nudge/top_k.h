// Exact top-k selection over a dense score vector: the oracle every faster retrieval path is
// tested against.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nudge {

struct ScoredItem {
  uint32_t item;
  float score;
  bool operator==(const ScoredItem&) const = default;
};

// "a ranks before b": the higher score, then the lower index, so every ranking is
// deterministic. A template so that the embedded core's C struct (nudge_scored_item, with the
// same two fields) ranks exactly as ScoredItem does.
template <typename Scored>
constexpr bool ranks_before(const Scored& a, const Scored& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// Sorts by ranks_before; keeps the best k of `items` (all, when fewer), best first.
void sort_best_first(std::vector<ScoredItem>* items);
void keep_best(std::vector<ScoredItem>* items, size_t k);

// The k highest scores, best first, skipping items in `exclude_sorted` (ascending, may hold
// duplicates) and NaN scores. Ties go to the lower item index, so results are deterministic.
// Fewer than k come back when fewer items are eligible. O(n log k).
void top_k(std::span<const float> scores, size_t k, std::span<const uint32_t> exclude_sorted,
           std::vector<ScoredItem>* out);

}  // namespace nudge
