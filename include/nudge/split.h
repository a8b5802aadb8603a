// Splitters: train / validation / test partitions of a Dataset, seeded and reproducible.
//
// Every splitter works on (user, item) pairs, not raw rows: all events of a pair land on the
// same side, so no test pair ever appears in train (no leakage). The parts share the input's
// Catalog, so indices agree across them. Thread-safety: pure functions.
//
//   random        each pair goes to test with probability test_fraction
//   leave-last    per user, the pair of the latest event (file order breaks ties) goes to
//                 test; users with fewer than 2 pairs stay wholly in train
//   temporal      events at or after a global cut time go to test (cut given, or the
//                 (1 - test_fraction) quantile of timestamps); test pairs already seen
//                 before the cut are dropped from test, since they are not new to the user
//   k-fold        pairs are dealt into k folds; fold f is the test set of split f
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/status.h"

namespace nudge {

enum class SplitMethod { kRandom, kLeaveLastOut, kTemporal };
Result<SplitMethod> parse_split_method(std::string_view name);  // "random", "leave-last", "temporal"

struct SplitOptions {
  SplitMethod method = SplitMethod::kRandom;
  double test_fraction = 0.2;  // random and temporal (when cut_timestamp is unset)
  int64_t cut_timestamp = 0;   // temporal: 0 = from test_fraction
  uint64_t seed = 42;          // random
};

struct TrainTest {
  Dataset train;
  Dataset test;
};

struct TrainValidTest {
  Dataset train;
  Dataset validation;
  Dataset test;
};

// Fails on a fraction outside (0, 1).
Result<TrainTest> split(const Dataset& dataset, const SplitOptions& options);
// Splits off test, then splits validation off the remaining train with `validation`.
Result<TrainValidTest> split_with_validation(const Dataset& dataset, const SplitOptions& test,
                                             const SplitOptions& validation);
// k >= 2 folds over pairs, dealt after a seeded shuffle.
Result<std::vector<TrainTest>> k_fold(const Dataset& dataset, int k, uint64_t seed);

}  // namespace nudge
