#include "nudge/stats.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <numeric>

namespace nudge {

Percentiles percentiles(std::vector<uint32_t> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return static_cast<double>(v[std::clamp<size_t>(rank, 1, v.size()) - 1]);
  };
  p.min = v.front();
  p.p25 = at(0.25);
  p.p50 = at(0.50);
  p.p75 = at(0.75);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v.back();
  p.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return p;
}

double gini(std::vector<uint64_t> x) {
  if (x.empty()) return 0;
  std::sort(x.begin(), x.end());
  double weighted = 0, total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    weighted += static_cast<double>(i + 1) * static_cast<double>(x[i]);
    total += static_cast<double>(x[i]);
  }
  if (total == 0) return 0;
  const double n = static_cast<double>(x.size());
  return (2.0 * weighted) / (n * total) - (n + 1.0) / n;
}

namespace {

void time_shape(const Dataset& d, DatasetStats* s) {
  const auto& in = d.interactions();
  std::vector<uint32_t> order(in.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return in.users[a] != in.users[b] ? in.users[a] < in.users[b] : in.timestamps[a] < in.timestamps[b];
  });
  uint64_t pairs = 0, same = 0, minute = 0, day = 0;
  std::vector<uint32_t> spans;
  size_t first = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const bool last_of_user = k + 1 == order.size() || in.users[order[k + 1]] != in.users[order[k]];
    if (!last_of_user) {
      const int64_t gap = in.timestamps[order[k + 1]] - in.timestamps[order[k]];
      ++pairs;
      same += gap == 0;
      minute += gap <= 60;
      day += gap <= 86400;
      continue;
    }
    const int64_t span = in.timestamps[order[k]] - in.timestamps[order[first]];
    spans.push_back(static_cast<uint32_t>(std::min<int64_t>(span / 86400, UINT32_MAX)));
    first = k + 1;
  }
  if (pairs > 0) {
    s->same_second_share = static_cast<double>(same) / static_cast<double>(pairs);
    s->within_minute_share = static_cast<double>(minute) / static_cast<double>(pairs);
    s->within_day_share = static_cast<double>(day) / static_cast<double>(pairs);
  }
  s->user_span_days = percentiles(std::move(spans));
}

}  // namespace

DatasetStats compute_stats(const Dataset& d) {
  DatasetStats s;
  const auto& in = d.interactions();
  s.users = d.num_users();
  s.items = d.num_items();
  s.interactions = in.size();
  std::vector<uint32_t> per_user(s.users, 0), per_item(s.items, 0);
  std::vector<uint64_t> type_counts(d.catalog().event_types.size(), 0);
  double value_sum = 0;
  for (size_t r = 0; r < in.size(); ++r) {
    ++per_user[in.users[r]];
    ++per_item[in.items[r]];
    ++type_counts[in.types[r]];
    value_sum += in.values[r];
  }
  s.unique_pairs = d.user_items().nnz();
  std::vector<uint32_t> active_u, active_i;
  for (uint32_t c : per_user)
    if (c) active_u.push_back(c);
  for (uint32_t c : per_item)
    if (c) active_i.push_back(c);
  s.active_users = static_cast<uint32_t>(active_u.size());
  s.active_items = static_cast<uint32_t>(active_i.size());
  if (s.active_users && s.active_items) {
    s.density = static_cast<double>(s.unique_pairs) / (static_cast<double>(s.active_users) * s.active_items);
  }
  s.item_gini = gini(std::vector<uint64_t>(per_item.begin(), per_item.end()));
  std::vector<uint32_t> sorted_items = per_item;
  std::sort(sorted_items.rbegin(), sorted_items.rend());
  const size_t decile = std::max<size_t>(1, sorted_items.size() / 10);
  if (s.interactions) {
    s.top_decile_share =
        std::accumulate(sorted_items.begin(),
                        sorted_items.begin() + static_cast<std::ptrdiff_t>(std::min(decile, sorted_items.size())),
                        0.0) /
        static_cast<double>(s.interactions);
  }
  s.user_history = percentiles(std::move(active_u));
  s.item_popularity = percentiles(std::move(active_i));
  for (size_t t = 0; t < type_counts.size(); ++t) {
    if (type_counts[t])
      s.event_counts.emplace_back(d.catalog().event_types.name(static_cast<EventType>(t)), type_counts[t]);
  }
  s.mean_value = s.interactions ? value_sum / static_cast<double>(s.interactions) : 0;
  if (!in.empty()) {
    auto [lo, hi] = std::minmax_element(in.timestamps.begin(), in.timestamps.end());
    s.first_timestamp = *lo;
    s.last_timestamp = *hi;
  }
  time_shape(d, &s);
  const auto& cat = d.catalog();
  for (uint32_t i = 0; i < s.items; ++i) {
    bool has = !cat.item_features.tokens(i).empty();
    for (uint32_t f = 0; f < cat.item_features.fields().size() && !has; ++f) {
      has = cat.item_features.fields()[f].kind == FeatureKind::kNumeric && !std::isnan(cat.item_features.numeric(i, f));
    }
    s.items_with_features += has;
  }
  for (uint32_t u = 0; u < s.users; ++u) s.users_with_features += !cat.user_features.tokens(u).empty();
  for (const auto& f : cat.item_features.fields())
    s.item_fields.push_back(f.name + ":" + std::string(feature_kind_name(f.kind)));
  for (const auto& f : cat.user_features.fields())
    s.user_fields.push_back(f.name + ":" + std::string(feature_kind_name(f.kind)));
  return s;
}

namespace {

std::string iso_date(int64_t ts) {
  const std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

std::string pct_line(const Percentiles& p) {
  return fmt::format("min {:g} | p25 {:g} | p50 {:g} | p75 {:g} | p90 {:g} | p99 {:g} | max {:g} | mean {:.1f}", p.min,
                     p.p25, p.p50, p.p75, p.p90, p.p99, p.max, p.mean);
}

}  // namespace

std::string format_stats(const DatasetStats& s) {
  std::string out;
  auto row = [&](std::string_view k, const std::string& v) { out += fmt::format("  {:<22} {}\n", k, v); };
  row("users", fmt::format("{} ({} active)", s.users, s.active_users));
  row("items", fmt::format("{} ({} active)", s.items, s.active_items));
  row("interactions", fmt::format("{} ({} unique user-item pairs)", s.interactions, s.unique_pairs));
  row("density", fmt::format("{:.4f}%", 100.0 * s.density));
  row("popularity Gini", fmt::format("{:.3f}", s.item_gini));
  row("top-10% items' share", fmt::format("{:.1f}%", 100.0 * s.top_decile_share));
  row("history per user", pct_line(s.user_history));
  row("events per item", pct_line(s.item_popularity));
  std::string types;
  for (const auto& [name, n] : s.event_counts) types += (types.empty() ? "" : ", ") + fmt::format("{} {}", name, n);
  row("event types", types.empty() ? "-" : types);
  row("mean value", fmt::format("{:.3f}", s.mean_value));
  row("time range", s.interactions ? iso_date(s.first_timestamp) + " .. " + iso_date(s.last_timestamp) : "-");
  row("consecutive events",
      fmt::format("same second {:.1f}% | within a minute {:.1f}% | within a day {:.1f}%", 100.0 * s.same_second_share,
                  100.0 * s.within_minute_share, 100.0 * s.within_day_share));
  row("user span (days)", pct_line(s.user_span_days));
  row("item features", fmt::format("{} items; fields {}", s.items_with_features, join(s.item_fields)));
  row("user features", fmt::format("{} users; fields {}", s.users_with_features, join(s.user_fields)));
  return out;
}

namespace {
nlohmann::json pct_json(const Percentiles& p) {
  return {{"min", p.min}, {"p25", p.p25}, {"p50", p.p50}, {"p75", p.p75},
          {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}, {"mean", p.mean}};
}
}  // namespace

void to_json(nlohmann::json& j, const DatasetStats& s) {
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, n] : s.event_counts) types[name] = n;
  j = {{"users", s.users},
       {"items", s.items},
       {"active_users", s.active_users},
       {"active_items", s.active_items},
       {"interactions", s.interactions},
       {"unique_pairs", s.unique_pairs},
       {"density", s.density},
       {"item_gini", s.item_gini},
       {"top_decile_share", s.top_decile_share},
       {"user_history", pct_json(s.user_history)},
       {"item_popularity", pct_json(s.item_popularity)},
       {"event_counts", types},
       {"mean_value", s.mean_value},
       {"first_timestamp", s.first_timestamp},
       {"last_timestamp", s.last_timestamp},
       {"same_second_share", s.same_second_share},
       {"within_minute_share", s.within_minute_share},
       {"within_day_share", s.within_day_share},
       {"user_span_days", pct_json(s.user_span_days)},
       {"items_with_features", s.items_with_features},
       {"users_with_features", s.users_with_features},
       {"item_fields", s.item_fields},
       {"user_fields", s.user_fields}};
}

}  // namespace nudge
