#include "nudge/cleaning.h"

#include <algorithm>
#include <numeric>

namespace nudge {

Result<RepeatPolicy> parse_repeat_policy(std::string_view name) {
  if (name == "keep-all") return RepeatPolicy::kKeepAll;
  if (name == "keep-latest") return RepeatPolicy::kKeepLatest;
  if (name == "sum") return RepeatPolicy::kSum;
  return Status::invalid_argument("unknown repeat policy '" + std::string(name) +
                                  "' (known: keep-all, keep-latest, sum)");
}

std::string CleanReport::summary() const {
  return "clean: " + std::to_string(rows_kept) + " rows kept; dropped " + std::to_string(exact_duplicates) +
         " exact duplicates, " + std::to_string(merged_repeats) + " repeats merged, " + std::to_string(kcore_rows) +
         " rows by k-core (" + std::to_string(kcore_rounds) + " rounds, " + std::to_string(users_removed) +
         " users and " + std::to_string(items_removed) + " items removed)";
}

namespace {

// Row order sorted by (user, item, type, timestamp, row): groups pairs, latest last.
std::vector<uint32_t> sorted_rows(const Interactions& in) {
  std::vector<uint32_t> order(in.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (in.users[a] != in.users[b]) return in.users[a] < in.users[b];
    if (in.items[a] != in.items[b]) return in.items[a] < in.items[b];
    if (in.types[a] != in.types[b]) return in.types[a] < in.types[b];
    if (in.timestamps[a] != in.timestamps[b]) return in.timestamps[a] < in.timestamps[b];
    return a < b;
  });
  return order;
}

uint64_t drop_exact_duplicates(Interactions& in) {
  const auto order = sorted_rows(in);
  std::vector<bool> keep(in.size(), true);
  for (size_t k = 1; k < order.size(); ++k) {
    const uint32_t a = order[k - 1], b = order[k];
    if (in.users[a] == in.users[b] && in.items[a] == in.items[b] && in.types[a] == in.types[b] &&
        in.timestamps[a] == in.timestamps[b] && in.values[a] == in.values[b]) {
      keep[b] = false;  // the first occurrence in file order survives
    }
  }
  return in.filter(keep);
}

uint64_t merge_repeats(Interactions& in, RepeatPolicy policy) {
  if (policy == RepeatPolicy::kKeepAll) return 0;
  const auto order = sorted_rows(in);
  std::vector<bool> keep(in.size(), false);
  auto same_group = [&](uint32_t a, uint32_t b) {
    return in.users[a] == in.users[b] && in.items[a] == in.items[b] &&
           (policy == RepeatPolicy::kKeepLatest || in.types[a] == in.types[b]);
  };
  size_t begin = 0;
  while (begin < order.size()) {
    size_t end = begin + 1;
    while (end < order.size() && same_group(order[begin], order[end])) ++end;
    // Latest event: greatest timestamp, file order breaking ties.
    uint32_t latest = order[begin];
    float sum = 0.f;
    for (size_t k = begin; k < end; ++k) {
      const uint32_t r = order[k];
      sum += in.values[r];
      if (in.timestamps[r] > in.timestamps[latest] || (in.timestamps[r] == in.timestamps[latest] && r > latest))
        latest = r;
    }
    keep[latest] = true;
    if (policy == RepeatPolicy::kSum) in.values[latest] = sum;
    begin = end;
  }
  return in.filter(keep);
}

}  // namespace

Dataset clean(const Dataset& dataset, const CleanOptions& options, CleanReport* report) {
  CleanReport local;
  CleanReport& rep = report ? *report : local;
  rep = CleanReport{};
  Interactions in = dataset.interactions();
  if (options.drop_exact_duplicates) rep.exact_duplicates = drop_exact_duplicates(in);
  rep.merged_repeats = merge_repeats(in, options.repeats);

  const uint32_t nu = dataset.num_users(), ni = dataset.num_items();
  std::vector<bool> keep_user(nu, true), keep_item(ni, true);
  if (options.min_user_interactions > 0 || options.min_item_interactions > 0) {
    // Removing rows can push others below a threshold, so repeat until nothing changes.
    for (;;) {
      std::vector<uint32_t> user_count(nu, 0), item_count(ni, 0);
      for (size_t r = 0; r < in.size(); ++r) {
        ++user_count[in.users[r]];
        ++item_count[in.items[r]];
      }
      for (uint32_t u = 0; u < nu; ++u) keep_user[u] = user_count[u] >= options.min_user_interactions;
      for (uint32_t i = 0; i < ni; ++i) keep_item[i] = item_count[i] >= options.min_item_interactions;
      std::vector<bool> keep(in.size());
      for (size_t r = 0; r < in.size(); ++r) keep[r] = keep_user[in.users[r]] && keep_item[in.items[r]];
      const size_t dropped = in.filter(keep);
      ++rep.kcore_rounds;
      rep.kcore_rows += dropped;
      if (dropped == 0) break;
    }
  }
  rep.rows_kept = in.size();
  const bool removes_entities = std::find(keep_user.begin(), keep_user.end(), false) != keep_user.end() ||
                                std::find(keep_item.begin(), keep_item.end(), false) != keep_item.end();
  if (!removes_entities) return dataset.with_interactions(std::move(in));

  auto catalog = std::make_shared<Catalog>();
  const Catalog& old = dataset.catalog();
  std::vector<uint32_t> user_map, item_map;
  catalog->users = old.users.subset(keep_user, &user_map);
  catalog->items = old.items.subset(keep_item, &item_map);
  catalog->event_types = old.event_types;
  catalog->user_features = old.user_features.subset(keep_user);
  catalog->item_features = old.item_features.subset(keep_item);
  rep.users_removed = nu - catalog->users.size();
  rep.items_removed = ni - catalog->items.size();
  for (size_t r = 0; r < in.size(); ++r) {
    in.users[r] = user_map[in.users[r]];
    in.items[r] = item_map[in.items[r]];
  }
  return Dataset(std::move(catalog), std::move(in));
}

}  // namespace nudge
