#include "nudge/models/bpr.h"
#include "nudge/param_table.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "nudge/parallel.h"
#include "nudge/progress.h"

namespace nudge {

const ParamTable<BprOptions>& BprOptions::parameters() {
  using T = ParamTable<BprOptions>;
  static const T kTable({
      T::integer("factors", &BprOptions::factors, 1, 4096, "latent dimensions"),
      T::integer("epochs", &BprOptions::epochs, 0, 100000, "one epoch = one step per stored pair"),
      T::number("learning_rate", &BprOptions::learning_rate, 0, 10, "SGD step"),
      T::number("regularization", &BprOptions::regularization, 0, 100, "L2 on the factors"),
      T::choice("sampling", &BprOptions::sampling, {"uniform", "popularity", "adaptive"},
                "negatives: uniform, popularity (∝ pop^0.75), adaptive (the best scored of adaptive_candidates)"),
      T::integer("adaptive_candidates", &BprOptions::adaptive_candidates, 1, 1000,
                 "adaptive sampling: candidates per negative (more picks harder negatives, and more false ones)"),
      T::number("init_scale", &BprOptions::init_scale, 0, 10, "initial factors ~ N(0, init_scale²)"),
      T::integer("threads", &BprOptions::threads, 0, 1024, "0 = all cores; 1 for reproducible runs (Hogwild)"),
      T::integer("seed", &BprOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

Result<BprOptions> BprOptions::from_params(const Params& p) {
  BprOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("bpr", p, &o));
  return o;
}

namespace {

bool contains(std::span<const uint32_t> sorted, uint32_t x) {
  return std::binary_search(sorted.begin(), sorted.end(), x);
}

// sigmoid(-(x.(y_i - y_j) + b_i - b_j)): the weight of a BPR gradient step.
inline float bpr_weight(const float* x, const float* yi, const float* yj, float bias_diff, int f) {
  float diff = bias_diff;
  for (int d = 0; d < f; ++d) diff += x[d] * (yi[d] - yj[d]);
  return 1.f / (1.f + std::exp(diff));
}

// One BPR step on (x_u; y_i, b_i; y_j, b_j); returns its weight z = 1 - sigmoid(x_uij).
inline float bpr_step(float* x, float* yi, float* yj, float* bi, float* bj, int f, float lr, float reg) {
  const float z = bpr_weight(x, yi, yj, *bi - *bj, f);
  for (int d = 0; d < f; ++d) {
    const float xu = x[d];
    x[d] += lr * (z * (yi[d] - yj[d]) - reg * xu);
    yi[d] += lr * (z * xu - reg * yi[d]);
    yj[d] += lr * (-z * xu - reg * yj[d]);
  }
  *bi += lr * (z - reg * *bi);
  *bj += lr * (-z - reg * *bj);
  return z;
}

// The same step for the user vector alone (fold-in: items fixed).
inline void bpr_user_step(float* x, const float* yi, const float* yj, float bias_diff, int f, float lr, float reg) {
  const float z = bpr_weight(x, yi, yj, bias_diff, f);
  for (int d = 0; d < f; ++d) x[d] += lr * (z * (yi[d] - yj[d]) - reg * x[d]);
}

}  // namespace

Status BprModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const CsrMatrix& ui = train.user_items();
  const int f = static_cast<int>(options_.factors);
  Rng rng(static_cast<uint64_t>(options_.seed));
  users_ = random_factors(train.num_users(), f, options_.init_scale, rng);
  items_ = random_factors(train.num_items(), f, options_.init_scale, rng);
  item_bias_ = Eigen::VectorXf::Zero(train.num_items());
  if (ui.nnz() == 0 || train.num_items() < 2) return Status::ok();
  // Popularity sampling: cumulative popularity^0.75, searched by binary search.
  std::vector<double> cum;
  if (options_.sampling == "popularity") {
    const CsrMatrix& iu = train.item_users();
    cum.resize(train.num_items());
    double acc = 0;
    for (uint32_t i = 0; i < train.num_items(); ++i) cum[i] = acc += std::pow(iu.row_nnz(i), 0.75);
  }
  const int threads = resolve_threads(static_cast<int>(options_.threads));
  const float lr = static_cast<float>(options_.learning_rate), reg = static_cast<float>(options_.regularization);
  const uint32_t n_items = train.num_items();
  std::vector<Rng> rngs;
  for (int t = 0; t < threads; ++t) rngs.push_back(rng.fork(static_cast<uint64_t>(t)));
  std::vector<uint32_t> order(train.num_users());
  losses_.clear();
  std::vector<double> loss_sum(static_cast<size_t>(threads));
  std::vector<uint64_t> loss_steps(static_cast<size_t>(threads));
  for (uint32_t u = 0; u < order.size(); ++u) order[u] = u;
  Progress progress("bpr epochs", static_cast<uint64_t>(options_.epochs));
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch, progress.advance()) {
    // User-major sweeps: each user (in a fresh shuffle) takes as many steps as it has
    // positives, each on a positive drawn at random. The user's row and history stay in
    // cache across its steps, which random (user, item) draws would not allow.
    rng.shuffle(order);
    std::fill(loss_sum.begin(), loss_sum.end(), 0.0);
    std::fill(loss_steps.begin(), loss_steps.end(), 0);
    // Hogwild: threads share the factors without locks, each taking a slice of users.
    parallel_for(
        static_cast<size_t>(threads), threads,
        [&](size_t begin, size_t end, int) {
          for (size_t t = begin; t < end; ++t) {
            Rng& r = rngs[t];
            const size_t lo = order.size() * t / static_cast<size_t>(threads);
            const size_t hi = order.size() * (t + 1) / static_cast<size_t>(threads);
            for (size_t k = lo; k < hi; ++k) {
              const uint32_t u = order[k];
              auto seen = ui.row_indices(u);
              if (seen.empty() || seen.size() >= n_items) continue;
              float* x = users_.row(u).data();
              for (size_t step = 0; step < seen.size(); ++step) {
                const uint32_t i = seen[r.uniform_index(static_cast<uint32_t>(seen.size()))];
                uint32_t j = 0;
                do {
                  if (!cum.empty()) {
                    j = static_cast<uint32_t>(std::upper_bound(cum.begin(), cum.end(), r.uniform() * cum.back()) -
                                              cum.begin());
                    j = std::min(j, n_items - 1);
                  } else if (options_.sampling == "adaptive") {
                    float best = -INFINITY;
                    for (int64_t c = 0; c < options_.adaptive_candidates; ++c) {
                      const uint32_t cand = r.uniform_index(n_items);
                      const float sc = users_.row(u).dot(items_.row(cand)) + item_bias_[cand];
                      if (sc > best) best = sc, j = cand;
                    }
                  } else {
                    j = r.uniform_index(n_items);
                  }
                } while (contains(seen, j));
                const float z =
                    bpr_step(x, items_.row(i).data(), items_.row(j).data(), &item_bias_[i], &item_bias_[j], f, lr, reg);
                if ((step & 15) == 0) {  // -log sigmoid(x_uij) = -log(1 - z)
                  loss_sum[t] -= std::log(std::max(1.0 - static_cast<double>(z), 1e-30));
                  ++loss_steps[t];
                }
              }
            }
          }
        },
        1);
    const double steps = static_cast<double>(std::accumulate(loss_steps.begin(), loss_steps.end(), uint64_t{0}));
    losses_.push_back(steps > 0 ? std::accumulate(loss_sum.begin(), loss_sum.end(), 0.0) / steps : 0.0);
    if (!epoch_finished(epoch, losses_.back())) break;
  }
  return Status::ok();
}

void BprModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  Eigen::Map<Eigen::VectorXf>(scores.data(), static_cast<Eigen::Index>(scores.size())).noalias() =
      items_ * users_.row(user).transpose() + item_bias_;
}

void BprModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  const FactorMatrix block = gather_rows(users_, users);
  score_by_product(block.data(), users.size(), items_.data(), num_items(), static_cast<size_t>(items_.cols()),
                   item_bias_.data(), scores.data());
}

void BprModel::score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const {
  NUDGE_CHECK(user < num_users() && items.size() == out.size(), "bpr: bad score_user_items call");
  for (size_t k = 0; k < items.size(); ++k) {
    NUDGE_CHECK(items[k] < num_items(), "bpr: item index out of range");
    out[k] = items_.row(items[k]).dot(users_.row(user)) + item_bias_[items[k]];
  }
}

void BprModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                             std::span<float> scores) const {
  check_history_call(items, weights, scores);
  Eigen::VectorXf x = Eigen::VectorXf::Zero(items_.cols());
  std::vector<uint32_t> seen(items.begin(), items.end());
  std::sort(seen.begin(), seen.end());
  if (!items.empty() && seen.size() < num_items()) {
    Rng rng(static_cast<uint64_t>(options_.seed));
    const size_t steps = 200 * items.size();
    for (size_t s = 0; s < steps; ++s) {
      const uint32_t i = items[rng.uniform_index(static_cast<uint32_t>(items.size()))];
      uint32_t j;
      do j = rng.uniform_index(num_items());
      while (contains(seen, j));
      bpr_user_step(x.data(), items_.row(i).data(), items_.row(j).data(), item_bias_[i] - item_bias_[j],
                    static_cast<int>(x.size()), static_cast<float>(options_.learning_rate),
                    static_cast<float>(options_.regularization));
    }
  }
  Eigen::Map<Eigen::VectorXf>(scores.data(), static_cast<Eigen::Index>(scores.size())).noalias() =
      items_ * x + item_bias_;
}

Status BprModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  cosine_neighbours(items_.data(), num_items(), static_cast<uint32_t>(items_.cols()), item, k, out);
  return Status::ok();
}

void BprModel::save_state(ModelWriter& out) const {
  write_factors(out, users_);
  write_factors(out, items_);
  out.floats(std::span<const float>(item_bias_.data(), static_cast<size_t>(item_bias_.size())));
}

Status BprModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(read_factors(in, &users_, "bpr: user factors"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &items_, "bpr: item factors"));
  if (users_.cols() != items_.cols()) return in.corrupt("bpr: item factors", "factor count differs from the users'");
  std::vector<float> bias;
  NUDGE_RETURN_IF_ERROR(in.floats(&bias, "bpr: item biases", static_cast<size_t>(items_.rows())));
  item_bias_ = Eigen::Map<Eigen::VectorXf>(bias.data(), static_cast<Eigen::Index>(bias.size()));
  set_shape(static_cast<uint32_t>(users_.rows()), static_cast<uint32_t>(items_.rows()));
  return Status::ok();
}

}  // namespace nudge
