// DatasetStats: the numbers `nudge data stats` prints: sizes, density, popularity skew
// (Gini), history-length percentiles, event-type counts, time range, features.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nudge/dataset.h"

namespace nudge {

struct Percentiles {
  double min = 0, p25 = 0, p50 = 0, p75 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Percentiles of `values` (nearest-rank); all zero for an empty input.
Percentiles percentiles(std::vector<uint32_t> values);
// Gini coefficient of non-negative counts: 0 when all equal, towards 1 when one holds all.
double gini(std::vector<uint64_t> counts);

struct DatasetStats {
  uint32_t users = 0, items = 0;
  uint32_t active_users = 0, active_items = 0;  // with at least one interaction
  uint64_t interactions = 0, unique_pairs = 0;
  double density = 0;           // unique pairs / (active users x active items)
  double item_gini = 0;         // over all items' interaction counts
  double top_decile_share = 0;  // share of interactions on the 10% most popular items
  Percentiles user_history;     // interactions per active user
  Percentiles item_popularity;  // interactions per active item
  std::vector<std::pair<std::string, uint64_t>> event_counts;
  double mean_value = 0;
  int64_t first_timestamp = 0, last_timestamp = 0;
  // Of a user's consecutive events in time order: the share with equal timestamps, within a
  // minute, within a day (heavy ties make "the most recent items" an arbitrary pick).
  double same_second_share = 0, within_minute_share = 0, within_day_share = 0;
  Percentiles user_span_days;  // last minus first event time per active user, in days
  uint32_t items_with_features = 0, users_with_features = 0;
  std::vector<std::string> item_fields, user_fields;  // "category:cat", ...
};

DatasetStats compute_stats(const Dataset& dataset);
// Aligned two-column table for the terminal.
std::string format_stats(const DatasetStats& stats);
void to_json(nlohmann::json& j, const DatasetStats& stats);

}  // namespace nudge
