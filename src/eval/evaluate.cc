#include "nudge/evaluate.h"

#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/text.h"
#include "nudge/metrics.h"
#include "nudge/parallel.h"
#include "nudge/rng.h"

namespace nudge {
namespace {

using Clock = std::chrono::steady_clock;

// Per-user values in a users x columns table, summed in user order at the end so the result
// does not depend on how users were split between threads.
struct Table {
  std::vector<std::string> columns;
  std::vector<double> values;  // row-major
  std::vector<uint8_t> used;
  Table(std::vector<std::string> cols, size_t rows)
      : columns(std::move(cols)), values(rows * columns.size(), 0.0), used(rows, 0) {}
  double* row(size_t r) {
    used[r] = 1;
    return values.data() + r * columns.size();
  }
  void mean_into(std::map<std::string, double>& out, uint64_t* count) const {
    std::vector<double> sum(columns.size(), 0.0);
    uint64_t n = 0;
    for (size_t r = 0; r < used.size(); ++r) {
      if (!used[r]) continue;
      ++n;
      for (size_t c = 0; c < columns.size(); ++c) sum[c] += values[r * columns.size() + c];
    }
    for (size_t c = 0; c < columns.size(); ++c) out[columns[c]] = n ? sum[c] / static_cast<double>(n) : 0.0;
    *count = n;
  }
};

// Whether user u is evaluated: it needs test items, and a training history (otherwise it is
// counted in `skipped`: a cold-start user no CF model can rank for).
bool evaluated(size_t u, const CsrMatrix& seen, const CsrMatrix& truth, std::atomic<uint64_t>& skipped) {
  const auto user = static_cast<uint32_t>(u);
  if (u >= truth.num_rows || truth.row_nnz(user) == 0) return false;
  if (seen.row_nnz(user) == 0) {
    skipped.fetch_add(1);
    return false;
  }
  return true;
}

size_t max_k(const EvalOptions& o) {
  NUDGE_CHECK(!o.ks.empty(), "evaluate: no cut-offs (ks) given");
  return *std::max_element(o.ks.begin(), o.ks.end());
}

}  // namespace

EvalResult evaluate_full_ranking(const Recommender& model, const Dataset& train, const Dataset& test,
                                 const EvalOptions& options) {
  NUDGE_CHECK(model.num_items() == train.num_items() && model.num_users() == train.num_users(),
              "evaluate: model and dataset shapes differ");
  const CsrMatrix& seen = train.user_items();
  const CsrMatrix& truth = test.user_items();
  const size_t kmax = max_k(options);
  std::vector<std::string> cols;
  for (size_t k : options.ks) {
    for (const char* m : {"precision", "recall", "ndcg", "hit_rate", "mrr", "map", "novelty", "arp"}) {
      cols.push_back(fmt::format("{}@{}", m, k));
    }
  }
  if (options.compute_auc) cols.emplace_back("auc");
  Table table(cols, train.num_users());
  // Item popularity in train: share of users, and self-information for novelty.
  const CsrMatrix& iu = train.item_users();
  std::vector<double> pop(train.num_items()), info(train.num_items());
  const double users = std::max<double>(1.0, train.num_users());
  for (uint32_t i = 0; i < train.num_items(); ++i) {
    pop[i] = iu.row_nnz(i) / users;
    info[i] = -std::log2(std::max<double>(iu.row_nnz(i), 1.0) / users);
  }
  const int threads = resolve_threads(options.threads);
  std::vector<std::vector<std::vector<uint8_t>>> covered(
      threads, std::vector<std::vector<uint8_t>>(options.ks.size(), std::vector<uint8_t>(train.num_items(), 0)));
  std::atomic<uint64_t> skipped{0};
  const auto start = Clock::now();
  parallel_for(
      train.num_users(), threads,
      [&](size_t begin, size_t end, int tid) {
        RankScratch scratch;
        std::vector<uint32_t> block_users, ranked;
        for (size_t u = begin; u < end; ++u) {
          if (evaluated(u, seen, truth, skipped)) block_users.push_back(static_cast<uint32_t>(u));
        }
        rank_users(model, block_users, kmax, &seen, &scratch,
                   [&](size_t at, std::span<const float> scores, std::span<const ScoredItem> top) {
                     const uint32_t user = block_users[at];
                     ranked.clear();
                     for (const auto& s : top) ranked.push_back(s.item);
                     double* row = table.row(user);
                     size_t c = 0;
                     for (size_t ki = 0; ki < options.ks.size(); ++ki) {
                       const size_t k = options.ks[ki];
                       const RankingMetrics m = ranking_metrics(ranked, truth.row_indices(user), k);
                       const size_t n = std::min(k, ranked.size());
                       double nov = 0, arp = 0;
                       for (size_t r = 0; r < n; ++r) {
                         nov += info[ranked[r]];
                         arp += pop[ranked[r]];
                         covered[tid][ki][ranked[r]] = 1;
                       }
                       for (double v : {m.precision, m.recall, m.ndcg, m.hit_rate, m.mrr, m.map, n ? nov / n : 0.0,
                                        n ? arp / n : 0.0}) {
                         row[c++] = v;
                       }
                     }
                     if (options.compute_auc) row[c] = auc(scores, truth.row_indices(user), seen.row_indices(user));
                   });
      },
      kScoreBlockUsers);
  EvalResult r;
  r.model = std::string(model.name());
  r.protocol = "full";
  table.mean_into(r.metrics, &r.users_evaluated);
  r.users_skipped = skipped.load();
  for (size_t ki = 0; ki < options.ks.size(); ++ki) {
    size_t n = 0;
    for (uint32_t i = 0; i < train.num_items(); ++i) {
      bool any = false;
      for (int t = 0; t < threads; ++t) any |= covered[t][ki][i] != 0;
      n += any;
    }
    r.metrics[fmt::format("coverage@{}", options.ks[ki])] =
        train.num_items() ? static_cast<double>(n) / train.num_items() : 0;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  r.score_ms_per_user = r.users_evaluated ? 1000.0 * secs * threads / static_cast<double>(r.users_evaluated) : 0;
  return r;
}

EvalResult evaluate_sampled(const Recommender& model, const Dataset& train, const Dataset& test,
                            const EvalOptions& options, const NegativeLists* given) {
  NUDGE_CHECK(model.num_items() == train.num_items(), "evaluate: model and dataset shapes differ");
  const CsrMatrix& seen = train.user_items();
  const CsrMatrix& truth = test.user_items();
  std::vector<std::string> cols;
  for (size_t k : options.ks) {
    cols.push_back(fmt::format("hit_rate@{}", k));
    cols.push_back(fmt::format("ndcg@{}", k));
  }
  cols.emplace_back("mrr");
  Table table(cols, train.num_users());
  const uint32_t n_items = train.num_items();
  std::atomic<uint64_t> skipped{0};
  const auto start = Clock::now();
  parallel_for(
      train.num_users(), options.threads,
      [&](size_t begin, size_t end, int) {
        std::vector<float> scores;
        std::vector<uint32_t> negatives, candidates;
        for (size_t u = begin; u < end; ++u) {
          if (!evaluated(u, seen, truth, skipped)) continue;
          const auto user = static_cast<uint32_t>(u);
          const auto pos = truth.row_indices(user);
          negatives.clear();
          if (given) {
            auto it = given->find(user);
            if (it == given->end()) continue;
            negatives = it->second;
          } else {
            // Seeded per user, so the negatives do not depend on threads.
            Rng rng(options.seed ^ (0x9e3779b97f4a7c15ULL * (u + 1)));
            const auto hist = seen.row_indices(user);
            const size_t available = n_items - hist.size() - pos.size();
            const size_t want = std::min(options.sampled_negatives, available);
            std::set<uint32_t> picked;
            while (picked.size() < want) {
              const uint32_t j = rng.uniform_index(n_items);
              if (std::binary_search(hist.begin(), hist.end(), j) || std::binary_search(pos.begin(), pos.end(), j))
                continue;
              picked.insert(j);
            }
            negatives.assign(picked.begin(), picked.end());
          }
          // Only the positives and their negatives are scored.
          candidates.assign(pos.begin(), pos.end());
          candidates.insert(candidates.end(), negatives.begin(), negatives.end());
          scores.resize(candidates.size());
          model.score_user_items(user, candidates, scores);
          double* row = table.row(u);
          std::vector<double> acc(cols.size(), 0.0);
          for (size_t pk = 0; pk < pos.size(); ++pk) {
            // Rank of the positive among its negatives; ties count against it.
            size_t rank = 0;
            for (size_t n = pos.size(); n < candidates.size(); ++n) rank += scores[n] >= scores[pk];
            size_t c = 0;
            for (size_t k : options.ks) {
              const bool hit = rank < k;
              acc[c++] += hit ? 1.0 : 0.0;
              acc[c++] += hit ? 1.0 / std::log2(static_cast<double>(rank) + 2.0) : 0.0;
            }
            acc[c] += 1.0 / static_cast<double>(rank + 1);
          }
          for (size_t c = 0; c < cols.size(); ++c) row[c] = acc[c] / static_cast<double>(pos.size());
        }
      },
      16);
  EvalResult r;
  r.model = std::string(model.name());
  r.protocol = given ? "sampled(given)" : fmt::format("sampled({})", options.sampled_negatives);
  table.mean_into(r.metrics, &r.users_evaluated);
  r.users_skipped = skipped.load();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  r.score_ms_per_user = r.users_evaluated ? 1000.0 * secs * resolve_threads(options.threads) / r.users_evaluated : 0;
  return r;
}

EvalResult evaluate_ratings(const Recommender& model, const Dataset& train, const Dataset& test,
                            const EvalOptions& options) {
  NUDGE_CHECK(model.num_items() == train.num_items(), "evaluate: model and dataset shapes differ");
  const auto& tr = train.interactions();
  float lo = 0, hi = 0;
  if (!tr.empty()) {
    auto [a, b] = std::minmax_element(tr.values.begin(), tr.values.end());
    lo = *a;
    hi = *b;
  }
  const CsrMatrix& seen = train.user_items();
  // Test rows grouped by user, each user's scores computed once.
  const auto& te = test.interactions();
  std::vector<std::vector<uint32_t>> rows_of(train.num_users());
  for (uint32_t r = 0; r < te.size(); ++r) rows_of[te.users[r]].push_back(r);
  std::vector<double> se(train.num_users(), 0), ae(train.num_users(), 0);
  std::vector<uint32_t> count(train.num_users(), 0);
  std::atomic<uint64_t> skipped{0};
  const auto start = Clock::now();
  parallel_for(
      train.num_users(), options.threads,
      [&](size_t begin, size_t end, int) {
        std::vector<float> scores(train.num_items());
        for (size_t u = begin; u < end; ++u) {
          if (rows_of[u].empty()) continue;
          if (seen.row_nnz(static_cast<uint32_t>(u)) == 0) {
            skipped.fetch_add(1);
            continue;
          }
          model.score_user(static_cast<uint32_t>(u), scores);
          for (uint32_t r : rows_of[u]) {
            const double err = std::clamp(scores[te.items[r]], lo, hi) - te.values[r];
            se[u] += err * err;
            ae[u] += std::fabs(err);
            ++count[u];
          }
        }
      },
      16);
  double sse = 0, sae = 0;
  uint64_t n = 0, users = 0;
  for (size_t u = 0; u < se.size(); ++u) {
    sse += se[u];
    sae += ae[u];
    n += count[u];
    users += count[u] > 0;
  }
  EvalResult r;
  r.model = std::string(model.name());
  r.protocol = "rating";
  r.metrics["rmse"] = n ? std::sqrt(sse / static_cast<double>(n)) : 0;
  r.metrics["mae"] = n ? sae / static_cast<double>(n) : 0;
  r.users_evaluated = users;
  r.users_skipped = skipped.load();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  r.score_ms_per_user = users ? 1000.0 * secs * resolve_threads(options.threads) / static_cast<double>(users) : 0;
  return r;
}

EvalResult combine_folds(const std::vector<EvalResult>& folds) {
  NUDGE_CHECK(!folds.empty(), "combine_folds: no folds");
  EvalResult r = folds.front();
  r.protocol += fmt::format(" x{}", folds.size());
  const double n = static_cast<double>(folds.size());
  for (auto& [name, mean] : r.metrics) {
    double sum = 0, sq = 0;
    for (const auto& f : folds) {
      auto it = f.metrics.find(name);
      const double v = it == f.metrics.end() ? 0.0 : it->second;
      sum += v;
      sq += v * v;
    }
    mean = sum / n;
    r.stddev[name] = n > 1 ? std::sqrt(std::max(0.0, (sq - n * mean * mean) / (n - 1))) : 0.0;
  }
  r.fit_seconds = r.score_ms_per_user = 0;
  r.users_evaluated = r.users_skipped = 0;
  for (const auto& f : folds) {
    r.fit_seconds += f.fit_seconds / n;
    r.score_ms_per_user += f.score_ms_per_user / n;
    r.users_evaluated += f.users_evaluated;
    r.users_skipped += f.users_skipped;
  }
  return r;
}

MetricName parse_metric_name(const std::string& name) {
  const size_t at = name.find('@');
  if (at == std::string::npos) return {name, 0};
  return {name.substr(0, at), std::strtol(name.c_str() + at + 1, nullptr, 10)};  // strtol: never throws
}

std::vector<std::string> metric_columns(const std::vector<EvalResult>& results) {
  std::vector<std::string> cols;
  for (const auto& r : results) {
    for (const auto& [k, v] : r.metrics) {
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    }
  }
  auto key = [](const std::string& name) {
    auto [family, k] = parse_metric_name(name);
    static const std::vector<std::string> kOrder = {"rmse", "mae", "precision", "recall",   "ndcg",    "hit_rate",
                                                    "mrr",  "map", "auc",       "coverage", "novelty", "arp"};
    const auto pos = std::find(kOrder.begin(), kOrder.end(), family) - kOrder.begin();
    return std::make_tuple(pos, family, k);
  };
  std::sort(cols.begin(), cols.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return cols;
}

std::string format_results(const std::vector<EvalResult>& results) {
  const std::vector<std::string> cols = metric_columns(results);
  size_t name_w = 5;
  size_t protocol_w = 15;
  for (const auto& r : results) {
    name_w = std::max(name_w, r.model.size());
    protocol_w = std::max(protocol_w, r.protocol.size());
  }
  bool folds = false;
  for (const auto& r : results) folds |= !r.stddev.empty();
  const size_t w = folds ? 16 : 10;
  std::string out = fmt::format("{:<{}}  {:<{}}", "model", name_w, "protocol", protocol_w);
  for (const auto& c : cols) out += fmt::format(" {:>{}}", c, w);
  out += fmt::format(" {:>9} {:>10}\n", "fit s", "ms/user");
  for (const auto& r : results) {
    out += fmt::format("{:<{}}  {:<{}}", r.model, name_w, r.protocol, protocol_w);
    for (const auto& c : cols) {
      auto it = r.metrics.find(c);
      auto sd = r.stddev.find(c);
      std::string cell = it == r.metrics.end() ? "-" : fmt::format("{:.4f}", it->second);
      if (sd != r.stddev.end()) cell += fmt::format("±{:.4f}", sd->second);
      out += fmt::format(" {:>{}}", cell, w + (sd != r.stddev.end() ? 1 : 0));  // '±' is two bytes
    }
    out += fmt::format(" {:>9.2f} {:>10.3f}\n", r.fit_seconds, r.score_ms_per_user);
  }
  return out;
}

void to_json(nlohmann::json& j, const EvalResult& r) {
  j = {{"model", r.model},
       {"protocol", r.protocol},
       {"metrics", r.metrics},
       {"stddev", r.stddev},
       {"users_evaluated", r.users_evaluated},
       {"users_skipped", r.users_skipped},
       {"fit_seconds", r.fit_seconds},
       {"score_ms_per_user", r.score_ms_per_user}};
  if (!r.epoch_losses.empty()) j["epoch_losses"] = r.epoch_losses;
}

}  // namespace nudge
