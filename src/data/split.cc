#include "nudge/split.h"

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "nudge/rng.h"

namespace nudge {

Result<SplitMethod> parse_split_method(std::string_view name) {
  if (name == "random") return SplitMethod::kRandom;
  if (name == "leave-last" || name == "loo") return SplitMethod::kLeaveLastOut;
  if (name == "temporal") return SplitMethod::kTemporal;
  return Status::invalid_argument("unknown split method '" + std::string(name) +
                                  "' (known: random, leave-last, temporal)");
}

namespace {

uint64_t pair_key(uint32_t user, uint32_t item) { return (static_cast<uint64_t>(user) << 32) | item; }

// Dense pair id per row, numbered in order of first appearance (stable across runs).
std::vector<uint32_t> pair_ids(const Interactions& in, uint32_t* num_pairs) {
  std::unordered_map<uint64_t, uint32_t> ids;
  ids.reserve(in.size());
  std::vector<uint32_t> out(in.size());
  for (size_t r = 0; r < in.size(); ++r) {
    auto [it, inserted] = ids.try_emplace(pair_key(in.users[r], in.items[r]), static_cast<uint32_t>(ids.size()));
    out[r] = it->second;
  }
  *num_pairs = static_cast<uint32_t>(ids.size());
  return out;
}

TrainTest partition(const Dataset& d, const std::vector<bool>& to_test) {
  std::vector<uint32_t> train_rows, test_rows;
  for (uint32_t r = 0; r < to_test.size(); ++r) (to_test[r] ? test_rows : train_rows).push_back(r);
  const auto& in = d.interactions();
  return {d.with_interactions(in.select(train_rows)), d.with_interactions(in.select(test_rows))};
}

Status check_fraction(double f) {
  if (!(f > 0.0 && f < 1.0))
    return Status::invalid_argument("test fraction must be in (0, 1), got " + std::to_string(f));
  return Status::ok();
}

std::vector<bool> random_split(const Interactions& in, double fraction, uint64_t seed) {
  uint32_t num_pairs = 0;
  const auto pid = pair_ids(in, &num_pairs);
  Rng rng(seed);
  std::vector<bool> pair_test(num_pairs);
  for (uint32_t p = 0; p < num_pairs; ++p) pair_test[p] = rng.uniform() < fraction;
  std::vector<bool> to_test(in.size());
  for (size_t r = 0; r < in.size(); ++r) to_test[r] = pair_test[pid[r]];
  return to_test;
}

std::vector<bool> leave_last_out(const Dataset& d) {
  const auto& in = d.interactions();
  std::vector<uint32_t> latest(d.num_users(), kNoIndex);
  for (uint32_t r = 0; r < in.size(); ++r) {
    uint32_t& l = latest[in.users[r]];
    if (l == kNoIndex || in.timestamps[r] >= in.timestamps[l]) l = r;
  }
  // Users need at least two distinct items, or nothing would be left to train on.
  std::vector<uint32_t> first_item(d.num_users(), kNoIndex);
  std::vector<bool> has_two(d.num_users(), false);
  for (size_t r = 0; r < in.size(); ++r) {
    const uint32_t u = in.users[r];
    if (first_item[u] == kNoIndex) first_item[u] = in.items[r];
    else if (first_item[u] != in.items[r]) has_two[u] = true;
  }
  std::vector<bool> to_test(in.size(), false);
  for (size_t r = 0; r < in.size(); ++r) {
    const uint32_t u = in.users[r];
    to_test[r] = has_two[u] && in.items[r] == in.items[latest[u]];
  }
  return to_test;
}

}  // namespace

Result<TrainTest> split(const Dataset& dataset, const SplitOptions& options) {
  const auto& in = dataset.interactions();
  switch (options.method) {
    case SplitMethod::kRandom:
      NUDGE_RETURN_IF_ERROR(check_fraction(options.test_fraction));
      return partition(dataset, random_split(in, options.test_fraction, options.seed));
    case SplitMethod::kLeaveLastOut: return partition(dataset, leave_last_out(dataset));
    case SplitMethod::kTemporal: {
      int64_t cut = options.cut_timestamp;
      if (cut == 0) {
        NUDGE_RETURN_IF_ERROR(check_fraction(options.test_fraction));
        if (in.empty()) return partition(dataset, {});
        std::vector<int64_t> ts = in.timestamps;
        const size_t k = std::min(ts.size() - 1, static_cast<size_t>((1.0 - options.test_fraction) * ts.size()));
        std::nth_element(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(k), ts.end());
        cut = ts[k];
      }
      // A pair seen before the cut is not new to the user: drop its later events from test.
      std::unordered_set<uint64_t> seen;
      for (size_t r = 0; r < in.size(); ++r) {
        if (in.timestamps[r] < cut) seen.insert(pair_key(in.users[r], in.items[r]));
      }
      std::vector<uint32_t> train_rows, test_rows;
      for (uint32_t r = 0; r < in.size(); ++r) {
        if (in.timestamps[r] < cut) train_rows.push_back(r);
        else if (!seen.contains(pair_key(in.users[r], in.items[r]))) test_rows.push_back(r);
      }
      return TrainTest{dataset.with_interactions(in.select(train_rows)),
                       dataset.with_interactions(in.select(test_rows))};
    }
  }
  return Status::invalid_argument("unknown split method");
}

Result<TrainValidTest> split_with_validation(const Dataset& dataset, const SplitOptions& test,
                                             const SplitOptions& validation) {
  NUDGE_ASSIGN_OR_RETURN(TrainTest outer, split(dataset, test));
  NUDGE_ASSIGN_OR_RETURN(TrainTest inner, split(outer.train, validation));
  return TrainValidTest{std::move(inner.train), std::move(inner.test), std::move(outer.test)};
}

Result<std::vector<TrainTest>> k_fold(const Dataset& dataset, int k, uint64_t seed) {
  if (k < 2) return Status::invalid_argument("k-fold needs k >= 2, got " + std::to_string(k));
  const auto& in = dataset.interactions();
  uint32_t num_pairs = 0;
  const auto pid = pair_ids(in, &num_pairs);
  std::vector<uint32_t> order(num_pairs);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(seed);
  rng.shuffle(order);
  std::vector<int> fold_of(num_pairs);
  for (uint32_t n = 0; n < num_pairs; ++n) fold_of[order[n]] = static_cast<int>(n % static_cast<uint32_t>(k));
  std::vector<TrainTest> folds;
  for (int f = 0; f < k; ++f) {
    std::vector<bool> to_test(in.size());
    for (size_t r = 0; r < in.size(); ++r) to_test[r] = fold_of[pid[r]] == f;
    folds.push_back(partition(dataset, to_test));
  }
  return folds;
}

}  // namespace nudge
