#include "nudge/fusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <set>

#include "common/text.h"
#include "nudge/log.h"
#include "nudge/metrics.h"
#include "nudge/nn/logistic.h"
#include "nudge/param_table.h"
#include "nudge/registry.h"
#include "nudge/rng.h"
#include "nudge/serialize.h"
#include "nudge/split.h"

namespace nudge {

const ParamTable<FusionOptions>& FusionOptions::parameters() {
  using T = ParamTable<FusionOptions>;
  static const T kTable({
      T::Entry{"models", "two or more model names, + separated", "components",
               [](std::string_view owner, const Params& p, FusionOptions* o) {
                 std::string text;
                 NUDGE_RETURN_IF_ERROR(p.read_string(owner, "models", &text));
                 if (text.empty()) return Status::ok();
                 o->models.clear();
                 for (std::string_view m : split_view(text, '+')) o->models.emplace_back(trim(m));
                 if (o->models.size() < 2)
                   return Status::invalid_argument(
                       std::string(owner) + ": parameter 'models' needs at least two models, e.g. ials+twotower");
                 return Status::ok();
               },
               [](const FusionOptions& o) {
                 std::string out;
                 for (const std::string& m : o.models) out += (out.empty() ? "" : "+") + m;
                 return out;
               }},
      T::choice("method", &FusionOptions::method, {"weighted", "learned"},
                "weighted (λ tuned on validation), learned (logistic stacking)"),
      T::choice("normalise", &FusionOptions::normalise, {"zscore", "minmax", "rank"}, "per-user score normalisation"),
      T::number("validation", &FusionOptions::validation, 0.01, 0.5, "share of training pairs used for tuning"),
      T::choice_of<SplitMethod>("split", &FusionOptions::split,
                                {{"random", SplitMethod::kRandom},
                                 {"leave-last", SplitMethod::kLeaveLastOut},
                                 {"temporal", SplitMethod::kTemporal}},
                                {},
                                "how validation pairs are held out: random, leave-last (each user's newest), temporal "
                                "(the newest share); nudge serve's default fusion uses temporal"),
      T::choice("refit", &FusionOptions::refit, {"warm", "full"},
                "after tuning, the components learn the held-out pairs: warm (iALS: a fifth of its sweeps from the "
                "tuned factors; two-tower: a fifth of its epochs from the tuned embeddings; other kinds fit again) or "
                "full (every component from scratch)"),
      T::integer("tuning_users", &FusionOptions::tuning_users, 10, 1 << 30, "validation users used for tuning"),
      T::integer("seed", &FusionOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

Result<FusionOptions> FusionOptions::from_params(const Params& p) {
  FusionOptions o;
  // "ials.factors=32" is a component's parameter, passed to it; the components are known
  // only once the fusion's own keys ("models") are read.
  Params own;
  std::vector<std::pair<std::string, std::string>> component_params;
  const std::string text = p.to_string();
  for (std::string_view entry : split_view(text, ',')) {
    if (entry.empty()) continue;
    std::string key(entry.substr(0, entry.find('=')));
    std::string value(entry.substr(entry.find('=') + 1));
    if (key.find('.') == std::string::npos) own.set(std::move(key), std::move(value));
    else component_params.emplace_back(std::move(key), std::move(value));
  }
  NUDGE_RETURN_IF_ERROR(parameters().read("fusion", own, &o));
  o.model_params.assign(o.models.size(), Params{});
  for (const auto& [key, value] : component_params) {
    const size_t dot = key.find('.');
    auto it = std::find(o.models.begin(), o.models.end(), key.substr(0, dot));
    if (it == o.models.end()) {
      std::string models;
      for (const std::string& m : o.models) models += (models.empty() ? "" : "+") + m;
      return Status::invalid_argument("fusion: parameter '" + key + "' names no component (models: " + models + ")");
    }
    o.model_params[static_cast<size_t>(it - o.models.begin())].set(key.substr(dot + 1), value);
  }
  for (size_t m = 0; m < o.models.size(); ++m) {
    if (o.models[m] == "fusion") return Status::invalid_argument("fusion: components cannot be fusions");
  }
  return o;
}

namespace {

// Mean and population standard deviation: what z-scores divide by.
// Sums in double over 8 independent lanes, which the compiler packs into vector adds: one
// running sum is one dependent add per item, and made normalising two 54k-item score vectors
// cost more than computing them.
template <typename Term>
double lane_sum(std::span<const float> s, Term term) {
  constexpr size_t kLanes = 8;
  double lane[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= s.size(); i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lane[j] += term(static_cast<double>(s[i + j]));
  }
  double total = 0;
  for (; i < s.size(); ++i) total += term(static_cast<double>(s[i]));
  for (double x : lane) total += x;
  return total;
}

std::pair<double, double> mean_and_sd(std::span<const float> s) {
  const double mean = lane_sum(s, [](double x) { return x; }) / static_cast<double>(s.size());
  const double sq = lane_sum(s, [mean](double x) { return (x - mean) * (x - mean); });
  return {mean, std::sqrt(sq / static_cast<double>(s.size()))};
}

}  // namespace

void normalise_scores(std::string_view method, std::span<float> s, std::span<float> extras) {
  if (s.empty()) return;
  if (extras.empty()) return normalise_scores(method, s);
  if (method == "rank") {
    // The share of catalogue scores below each extra, as ranks / (n - 1) are.
    std::vector<float> sorted(s.begin(), s.end());
    std::sort(sorted.begin(), sorted.end());
    const float denom = s.size() > 1 ? static_cast<float>(s.size() - 1) : 1.f;
    for (float& x : extras)
      x = std::min(1.f, static_cast<float>(std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin()) / denom);
  } else if (method == "minmax") {
    const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    const float l = *lo, range = *hi - *lo;
    for (float& x : extras) x = range > 0 ? (x - l) / range : 0.f;
  } else {
    const auto [mean, sd] = mean_and_sd(s);  // as the catalogue's scores are scaled below
    const auto m = static_cast<float>(mean), scale = static_cast<float>(1.0 / sd);
    for (float& x : extras) x = sd > 0 ? (x - m) * scale : 0.f;
  }
  normalise_scores(method, s);
}

void normalise_scores(std::string_view method, std::span<float> s) {
  if (s.empty()) return;
  if (method == "rank") {
    std::vector<uint32_t> order(s.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return s[a] < s[b] || (s[a] == s[b] && a < b); });
    const float denom = s.size() > 1 ? static_cast<float>(s.size() - 1) : 1.f;
    std::vector<float> ranks(s.size());
    for (size_t r = 0; r < order.size(); ++r) ranks[order[r]] = static_cast<float>(r) / denom;
    std::copy(ranks.begin(), ranks.end(), s.begin());
    return;
  }
  if (method == "minmax") {
    const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
    const float l = *lo, range = *hi - *lo;
    for (float& x : s) x = range > 0 ? (x - l) / range : 0.f;
    return;
  }
  const auto [mean, sd] = mean_and_sd(s);
  if (!(sd > 0)) return std::fill(s.begin(), s.end(), 0.f);
  const auto m = static_cast<float>(mean), scale = static_cast<float>(1.0 / sd);
  for (float& x : s) x = (x - m) * scale;
}

Result<std::unique_ptr<Recommender>> FusionModel::create(const Params& params) {
  NUDGE_ASSIGN_OR_RETURN(FusionOptions o, FusionOptions::from_params(params));
  auto m = std::unique_ptr<FusionModel>(new FusionModel());
  m->options_ = o;
  m->params_ = params;
  for (size_t k = 0; k < o.models.size(); ++k) {
    auto part = make_recommender(o.models[k], o.model_params[k]);
    if (!part.is_ok()) return part.status().with_context("fusion");
    m->parts_.push_back(std::move(part).value());
  }
  return std::unique_ptr<Recommender>(std::move(m));
}

void FusionModel::combine(const std::vector<std::vector<float>>& z, float history, std::span<float> out) const {
  std::vector<const float*> rows(z.size());
  for (size_t k = 0; k < z.size(); ++k) rows[k] = z[k].data();
  combine_rows(rows.data(), history, out);
}

void FusionModel::combine_rows(const float* const* z, float history, std::span<float> out) const {
  const size_t m = parts_.size();
  if (options_.method == "weighted") {
    float total = 0;
    for (float w : weights_) total += w;
    std::fill(out.begin(), out.end(), 0.f);
    for (size_t k = 0; k < m; ++k) {
      const float w = total > 0 ? weights_[k] / total : 1.f / static_cast<float>(m);
      for (size_t i = 0; i < out.size(); ++i) out[i] += w * z[k][i];
    }
    return;
  }
  // Learned: w . [z_k, z_k * h, p, h * p, 1] (the logit; ranking needs no sigmoid).
  for (size_t i = 0; i < out.size(); ++i) {
    float s = weights_[2 * m] * item_pop_[i] + weights_[2 * m + 1] * history * item_pop_[i] + weights_[2 * m + 2];
    for (size_t k = 0; k < m; ++k) s += (weights_[k] + weights_[m + k] * history) * z[k][i];
    out[i] = s;
  }
}

float FusionModel::fuse(const float* z, uint32_t item, float history) const {
  const size_t m = parts_.size();
  float s = 0;
  if (options_.method == "weighted") {
    float total = 0;
    for (float w : weights_) total += w;
    for (size_t k = 0; k < m; ++k) s += (total > 0 ? weights_[k] / total : 1.f / static_cast<float>(m)) * z[k];
    return s;
  }
  const float pop = item == kNoIndex ? 0.f : item_pop_[item];
  s = weights_[2 * m] * pop + weights_[2 * m + 1] * history * pop + weights_[2 * m + 2];
  for (size_t k = 0; k < m; ++k) s += (weights_[k] + weights_[m + k] * history) * z[k];
  return s;
}

void FusionModel::combine_described(const std::vector<std::vector<float>>& z, float history,
                                    std::span<float> out) const {
  const size_t m = parts_.size();
  if (options_.method == "weighted") {
    float total = 0;
    for (float w : weights_) total += w;
    for (size_t i = 0; i < out.size(); ++i) {
      float s = 0;
      for (size_t k = 0; k < m; ++k) s += (total > 0 ? weights_[k] / total : 1.f / static_cast<float>(m)) * z[k][i];
      out[i] = s;
    }
    return;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    float s = weights_[2 * m + 2];  // popularity 0: never seen
    for (size_t k = 0; k < m; ++k) s += (weights_[k] + weights_[m + k] * history) * z[k][i];
    out[i] = s;
  }
}

Status FusionModel::tune(const Dataset& fit_part, const Dataset& validation) {
  const size_t m = parts_.size();
  const uint32_t n = fit_part.num_items();
  const CsrMatrix& seen = fit_part.user_items();
  const CsrMatrix& truth = validation.user_items();
  // The search evaluates the fusion a hundred times or more, so each tuning user keeps only
  // candidates: the union of every component's top kCandidates unseen items, with their
  // normalised scores. `bound[k]` is component k's best normalised score outside them, so
  // with weights >= 0 no other item can fuse above sum_k w_k bound[k]; a user whose fused
  // top 10 does not clear that bound is scored in full instead. The search stays exact.
  constexpr size_t kCandidates = 200;
  struct UserCase {
    uint32_t user;
    float history;
    std::vector<uint32_t> items;  // candidates
    std::vector<float> z;         // items.size() x m, item-major
    std::vector<float> bound;     // per component
    // For stacking: the held-out items' scores (truth row order x m), and uniform negatives
    // (unseen items, 4 per held-out item) with theirs.
    std::vector<float> truth_z;
    std::vector<uint32_t> negatives;
    std::vector<float> negative_z;
  };
  std::vector<UserCase> cases;
  Rng rng(static_cast<uint64_t>(options_.seed) + 5);
  std::vector<std::vector<float>> full(m, std::vector<float>(n));
  std::vector<uint8_t> is_candidate(n, 0);
  std::vector<ScoredItem> top;
  for (uint32_t u = 0; u < truth.num_rows && static_cast<int64_t>(cases.size()) < options_.tuning_users; ++u) {
    if (truth.row_nnz(u) == 0 || seen.row_nnz(u) == 0) continue;
    UserCase c{u, user_history_[u], {}, {}, std::vector<float>(m, -std::numeric_limits<float>::infinity()), {}, {}, {}};
    for (size_t k = 0; k < m; ++k) {
      parts_[k]->score_user(u, full[k]);
      normalise_scores(options_.normalise, full[k]);
      top_k(full[k], kCandidates, seen.row_indices(u), &top);
      for (const auto& t : top) {
        if (!is_candidate[t.item]) c.items.push_back(t.item);
        is_candidate[t.item] = 1;
      }
    }
    for (uint32_t i : seen.row_indices(u)) is_candidate[i] = 1;  // never ranked
    for (size_t k = 0; k < m; ++k) {
      for (uint32_t i = 0; i < n; ++i) {
        if (!is_candidate[i]) c.bound[k] = std::max(c.bound[k], full[k][i]);
      }
    }
    for (uint32_t i : c.items) {
      for (size_t k = 0; k < m; ++k) c.z.push_back(full[k][i]);
      is_candidate[i] = 0;
    }
    for (uint32_t i : seen.row_indices(u)) is_candidate[i] = 0;
    if (options_.method == "learned") {
      const auto hist = seen.row_indices(u);
      for (uint32_t i : truth.row_indices(u)) {
        for (size_t k = 0; k < m; ++k) c.truth_z.push_back(full[k][i]);
        for (int neg = 0; neg < 4; ++neg) {
          uint32_t j;
          do j = rng.uniform_index(n);
          while (std::binary_search(hist.begin(), hist.end(), j));
          c.negatives.push_back(j);
          for (size_t k = 0; k < m; ++k) c.negative_z.push_back(full[k][j]);
        }
      }
    }
    cases.push_back(std::move(c));
  }
  untuned_reason_.clear();
  if (cases.empty()) {
    // Too few users with both training and held-out items (a burst of new users): an equal
    // mix serves until a later fit can tune; a retrain must not fail for this.
    untuned_reason_ = "no validation user to tune on: equal weights, untuned";
    if (options_.method == "weighted") {
      weights_.assign(m, 1.f);
    } else {
      weights_.assign(2 * m + 3, 0.f);
      for (size_t k = 0; k < m; ++k) weights_[k] = 1.f / static_cast<float>(m);
    }
    spdlog::warn("fusion: {}", untuned_reason_);
    return Status::ok();
  }
  std::vector<float> fused;
  std::vector<uint32_t> ranked;
  size_t rescored = 0;
  auto ndcg = [&]() {
    double sum = 0;
    for (const auto& c : cases) {
      fused.resize(c.items.size());
      for (size_t j = 0; j < c.items.size(); ++j) fused[j] = fuse(&c.z[j * m], c.items[j], c.history);
      top_k(fused, 10, {}, &top);
      const bool exact = options_.method == "weighted" && top.size() == 10 &&
                         top.back().score >= fuse(c.bound.data(), kNoIndex, c.history);
      ranked.clear();
      if (exact) {
        for (const auto& t : top) ranked.push_back(c.items[t.item]);
      } else {
        ++rescored;
        for (size_t k = 0; k < m; ++k) {
          parts_[k]->score_user(c.user, full[k]);
          normalise_scores(options_.normalise, full[k]);
        }
        fused.resize(n);
        combine(full, c.history, fused);
        top_k(fused, 10, seen.row_indices(c.user), &top);
        for (const auto& t : top) ranked.push_back(t.item);
      }
      sum += ranking_metrics(ranked, truth.row_indices(c.user), 10).ndcg;
    }
    return sum / static_cast<double>(cases.size());
  };
  if (options_.method == "weighted") {
    // Start from the best of the equal mix and each component alone, so the search can only
    // end at or above the best single component on the validation users.
    std::vector<float> start(m, 1.f);
    weights_ = start;
    double best = ndcg();
    for (size_t k = 0; k < m; ++k) {
      weights_.assign(m, 0.f);
      weights_[k] = 1.f;
      if (const double v = ndcg(); v > best) {
        best = v;
        start = weights_;
      }
    }
    weights_ = start;
    // Coordinate search on a 0.1 grid (weights relative; one is the scale).
    for (int round = 0; round < 3; ++round) {
      bool improved = false;
      for (size_t k = 0; k < m; ++k) {
        const float keep = weights_[k];
        float best_w = keep;
        for (int step = 0; step <= 20; ++step) {
          weights_[k] = 0.1f * static_cast<float>(step);
          const double v = ndcg();
          if (v > best + 1e-9) {
            best = v;
            best_w = weights_[k];
            improved = true;
          }
        }
        weights_[k] = best_w;
      }
      if (!improved) break;
    }
    float total = 0;
    for (float w : weights_) total += w;
    std::string tuned;
    for (size_t k = 0; k < m; ++k)
      tuned += fmt::format("{}{} {:.3f}", k ? ", " : "", parts_[k]->name(), total > 0 ? weights_[k] / total : 0.f);
    spdlog::info("fusion: weights {} tuned on {} validation users, NDCG@10 {:.4f} ({} rankings scored in full)", tuned,
                 cases.size(), best, rescored);
    return Status::ok();
  }
  // Learned: logistic regression (nn/logistic.h) on validation positives and sampled negatives.
  std::vector<std::vector<float>> features;
  std::vector<float> labels;
  const size_t dim = 2 * m + 3;
  auto add = [&](const UserCase& c, const float* z, uint32_t item, float label) {
    std::vector<float> f(dim);
    for (size_t k = 0; k < m; ++k) {
      f[k] = z[k];
      f[m + k] = z[k] * c.history;
    }
    f[2 * m] = item_pop_[item];
    f[2 * m + 1] = c.history * item_pop_[item];
    f[2 * m + 2] = 1.f;
    features.push_back(std::move(f));
    labels.push_back(label);
  };
  for (const auto& c : cases) {
    const auto held_out = truth.row_indices(c.user);
    for (size_t t = 0; t < held_out.size(); ++t) {
      add(c, &c.truth_z[t * m], held_out[t], 1.f);
      for (size_t neg = 4 * t; neg < 4 * t + 4; ++neg) add(c, &c.negative_z[neg * m], c.negatives[neg], 0.f);
    }
  }
  weights_ = nn::fit_logistic(features, labels, dim);
  spdlog::info("fusion: stacking fitted on {} examples, NDCG@10 {:.4f}", features.size(), ndcg());
  return Status::ok();
}

Status FusionModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const CsrMatrix& ui = train.user_items();
  const CsrMatrix& iu = train.item_users();
  float max_pop = 1, max_hist = 1;
  for (uint32_t i = 0; i < num_items(); ++i) max_pop = std::max(max_pop, static_cast<float>(iu.row_nnz(i)));
  for (uint32_t u = 0; u < num_users(); ++u) max_hist = std::max(max_hist, static_cast<float>(ui.row_nnz(u)));
  item_pop_.resize(num_items());
  user_history_.resize(num_users());
  for (uint32_t i = 0; i < num_items(); ++i)
    item_pop_[i] = std::log1p(static_cast<float>(iu.row_nnz(i))) / std::log1p(max_pop);
  history_scale_ = std::log1p(max_hist);
  for (uint32_t u = 0; u < num_users(); ++u)
    user_history_[u] = std::log1p(static_cast<float>(ui.row_nnz(u))) / history_scale_;
  NUDGE_ASSIGN_OR_RETURN(TrainTest parts, split(train, {.method = options_.split,
                                                        .test_fraction = options_.validation,
                                                        .seed = static_cast<uint64_t>(options_.seed)}));
  for (auto& p : parts_) NUDGE_RETURN_IF_ERROR(p->fit(parts.train).with_context("fusion: " + std::string(p->name())));
  NUDGE_RETURN_IF_ERROR(tune(parts.train, parts.test));
  for (auto& p : parts_) {
    NUDGE_RETURN_IF_ERROR((options_.refit == "warm" ? p->fit_warm(train) : p->fit(train))
                              .with_context("fusion: " + std::string(p->name())));
  }
  return Status::ok();
}

void FusionModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  std::vector<std::vector<float>> z(parts_.size(), std::vector<float>(num_items()));
  for (size_t k = 0; k < parts_.size(); ++k) {
    parts_[k]->score_user(user, z[k]);
    normalise_scores(options_.normalise, z[k]);
  }
  combine(z, user_history_[user], scores);
}

void FusionModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  // Each component scores the whole block (one matrix product for the factor models); the
  // rows are then normalised and combined user by user.
  const size_t n = num_items(), m = parts_.size();
  thread_local std::vector<float> block;  // kept: a block is megabytes, reallocating it costs page faults
  block.resize(m * scores.size());
  for (size_t k = 0; k < m; ++k)
    parts_[k]->score_users(users, std::span<float>(block).subspan(k * scores.size(), scores.size()));
  std::vector<const float*> rows(m);
  for (size_t r = 0; r < users.size(); ++r) {
    for (size_t k = 0; k < m; ++k) {
      float* row = block.data() + k * scores.size() + r * n;
      normalise_scores(options_.normalise, std::span<float>(row, n));
      rows[k] = row;
    }
    combine_rows(rows.data(), user_history_[users[r]], scores.subspan(r * n, n));
  }
}

void FusionModel::release_training_state() {
  for (auto& p : parts_) p->release_training_state();
}

float FusionModel::history_feature(size_t items) const {
  return std::min(1.f, std::log1p(static_cast<float>(items)) / history_scale_);
}

void FusionModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                std::span<float> scores) const {
  check_history_call(items, weights, scores);
  score_history_with(UserHistory{items, weights}, {}, scores, {});
}

bool FusionModel::has_feature_view() const {
  return std::any_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->has_feature_view(); });
}

bool FusionModel::knows_attributes(const FeatureDescription& attributes) const {
  return std::any_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->knows_attributes(attributes); });
}

bool FusionModel::score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                                     std::span<float> scores, std::span<float> described_scores) const {
  check_history_call(user.items, user.weights, scores);
  NUDGE_CHECK(described.size() == described_scores.size(), "fusion: one score per described item");
  std::vector<std::vector<float>> z(parts_.size()), zd(parts_.size());
  for (size_t k = 0; k < parts_.size(); ++k) {
    z[k].resize(num_items());
    zd[k].resize(described.size());
    if (parts_[k]->score_history_with(user, described, z[k], zd[k])) {
      normalise_scores(options_.normalise, z[k], zd[k]);
    } else {
      normalise_scores(options_.normalise, z[k]);
      // No evidence from this component: its average normalised score.
      double mean = 0;
      for (float x : z[k]) mean += x;
      std::fill(zd[k].begin(), zd[k].end(), static_cast<float>(mean / std::max<size_t>(1, z[k].size())));
    }
  }
  const float h = history_feature(user.items.size());
  combine(z, h, scores);
  combine_described(zd, h, described_scores);
  return has_feature_view();
}

Status FusionModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  Status last = Status::unsupported("fusion: no component finds similar items");
  for (const auto& p : parts_) {
    last = p->similar_items(item, k, out);
    if (last.is_ok()) return last;
  }
  return last;
}

Recommender::ItemEmbeddings FusionModel::item_embeddings() const {
  for (const auto& p : parts_)
    if (auto e = p->item_embeddings(); e.data) return e;
  return {};
}

void FusionModel::component_scores(const UserHistory& user, std::vector<std::vector<float>>* out) const {
  out->resize(parts_.size());
  for (size_t k = 0; k < parts_.size(); ++k) {
    (*out)[k].resize(num_items());
    parts_[k]->score_history_with(user, {}, (*out)[k], {});
    normalise_scores(options_.normalise, (*out)[k]);
  }
}

void FusionModel::save_state(ModelWriter& out) const {
  out.floats(weights_);
  out.floats(item_pop_);
  out.floats(user_history_);
  out.f32(history_scale_);
  for (const auto& p : parts_) p->save_state(out);
}

Status FusionModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(in.floats(&weights_, "fusion: weights"));
  const size_t want = options_.method == "weighted" ? parts_.size() : 2 * parts_.size() + 3;
  if (weights_.size() != want) return in.corrupt("fusion: weights", "count does not match the method");
  NUDGE_RETURN_IF_ERROR(in.floats(&item_pop_, "fusion: item popularity"));
  NUDGE_RETURN_IF_ERROR(in.floats(&user_history_, "fusion: history lengths"));
  NUDGE_RETURN_IF_ERROR(in.f32(&history_scale_, "fusion: history scale"));
  for (auto& p : parts_) {
    NUDGE_RETURN_IF_ERROR(p->load_state(in));
    if (p->num_items() != item_pop_.size() || p->num_users() != user_history_.size()) {
      return in.corrupt("fusion: " + std::string(p->name()), "component shape differs from the fusion's");
    }
  }
  set_shape(static_cast<uint32_t>(user_history_.size()), static_cast<uint32_t>(item_pop_.size()));
  return Status::ok();
}

}  // namespace nudge
