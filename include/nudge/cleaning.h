// Cleaning: duplicates, repeated (user, item) pairs and k-core filtering.
//
// Applied after reading and before splitting. Removing users or items (k-core) renumbers the
// survivors densely and carries their features along. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "nudge/dataset.h"
#include "nudge/status.h"

namespace nudge {

enum class RepeatPolicy {
  kKeepAll,     // every event stays (implicit models sum their weights)
  kKeepLatest,  // per (user, item): only the latest event (file order breaks ties)
  kSum,         // per (user, item, type): one event, values summed, latest timestamp
};
Result<RepeatPolicy> parse_repeat_policy(std::string_view name);  // "keep-all", "keep-latest", "sum"

struct CleanOptions {
  bool drop_exact_duplicates = true;  // same user, item, type, value and timestamp
  RepeatPolicy repeats = RepeatPolicy::kKeepAll;
  uint32_t min_user_interactions = 0;  // k-core: users with fewer are removed (repeatedly)
  uint32_t min_item_interactions = 0;  // k-core: items with fewer are removed (repeatedly)
};

struct CleanReport {
  uint64_t exact_duplicates = 0;  // rows dropped as exact duplicates
  uint64_t merged_repeats = 0;    // rows folded by the repeat policy
  uint64_t kcore_rows = 0;        // rows dropped by k-core
  uint32_t kcore_rounds = 0;
  uint32_t users_removed = 0;
  uint32_t items_removed = 0;
  uint64_t rows_kept = 0;
  std::string summary() const;
};

Dataset clean(const Dataset& dataset, const CleanOptions& options, CleanReport* report);

}  // namespace nudge
