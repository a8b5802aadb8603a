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

// The k highest scores, best first, skipping items in `exclude_sorted` (ascending, may hold
// duplicates) and NaN scores. Ties go to the lower item index, so results are deterministic.
// Fewer than k come back when fewer items are eligible. O(n log k).
void top_k(std::span<const float> scores, size_t k, std::span<const uint32_t> exclude_sorted,
           std::vector<ScoredItem>* out);

}  // namespace nudge
