#include "nudge/models/two_tower.h"
#include "nudge/param_table.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "nudge/parallel.h"
#include "nudge/progress.h"
#include "nudge/serialize.h"

namespace nudge {

const ParamTable<TwoTowerOptions>& TwoTowerOptions::parameters() {
  using T = ParamTable<TwoTowerOptions>;
  static const T kTable({
      T::integer("factors", &TwoTowerOptions::factors, 1, 1024, "embedding width"),
      T::integer("epochs", &TwoTowerOptions::epochs, 0, 10000,
                 "passes over the training data; 0 = the loss's default (softmax 40, warp and bpr 20)"),
      T::number("learning_rate", &TwoTowerOptions::learning_rate, 0, 10,
                "0 = the loss's default: 0.02 (softmax, Adam), 0.05 (warp and bpr, Adagrad)"),
      T::number("regularization", &TwoTowerOptions::regularization, 0, 10, "L2 on the embeddings"),
      T::number("id_dropout", &TwoTowerOptions::id_dropout, 0, 1,
                "chance an item's ID token is dropped while training, so that features alone score cold items"),
      T::choice("loss", &TwoTowerOptions::loss, {"auto", "softmax", "warp", "bpr"},
                "softmax (held-out items against every item, the user's others masked), warp (a rank-weighted "
                "hinge against a violating negative from a pool scored once per user; rank estimated from the "
                "pool, as WMRB) or bpr; auto: softmax up to 20,000 items, else warp"),
      T::integer("negatives", &TwoTowerOptions::negatives, 0, 1000,
                 "warp: least candidates in the negative pool scored once per user (0 = 100); bpr: negatives per "
                 "positive (0 = 1)"),
      T::number("holdout", &TwoTowerOptions::holdout, 0.01, 0.99,
                "softmax: share of each user's items held out as targets each epoch (at least one)"),
      T::number("attributes_only", &TwoTowerOptions::attributes_only, 0, 1,
                "softmax: chance a user with attributes trains on them alone, every item a target (users served "
                "from attributes)"),
      T::integer("history", &TwoTowerOptions::history, 0, 10000,
                 "items in the user tower: 0 = all of the user's items, else the most recent (the server keeps 64 "
                 "per user)"),
      T::number("pooling", &TwoTowerOptions::pooling, 0, 1,
                "the user tower sums its n items over n^pooling: 1 = their mean, 0.5 = 1/sqrt(n) as SVD++"),
      T::integer("buckets", &TwoTowerOptions::buckets, 1, 1000, "quantile buckets per numeric feature"),
      T::integer("threads", &TwoTowerOptions::threads, 0, 1024, "0 = all cores"),
      T::integer("seed", &TwoTowerOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

Result<TwoTowerOptions> TwoTowerOptions::from_params(const Params& p) {
  TwoTowerOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("twotower", p, &o));
  if (o.negatives == 0) o.negatives = o.loss == "bpr" ? 1 : 100;
  return o;
}

namespace {

// CSR from per-row lists (values unused: 1).
CsrMatrix from_lists(const std::vector<std::vector<uint32_t>>& rows, uint32_t cols) {
  CsrMatrix m;
  m.num_rows = static_cast<uint32_t>(rows.size());
  m.num_cols = cols;
  m.indptr.assign(rows.size() + 1, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    m.indptr[r + 1] = m.indptr[r] + rows[r].size();
    m.indices.insert_at_end(rows[r].begin(), rows[r].end());
  }
  m.values.assign(m.indices.size(), 1.f);
  return m;
}

// Token ids for one feature table: its vocabulary, then `buckets` per numeric field.
// Returns the number of tokens used, starting at `base`. `numeric` (when given) receives each
// numeric field's first token and bucket boundaries.
uint32_t feature_tokens(const FeatureTable& table, uint32_t entities, int64_t buckets, uint32_t base,
                        std::vector<std::vector<uint32_t>>* lists,
                        std::vector<TwoTowerModel::NumericField>* numeric = nullptr) {
  lists->assign(entities, {});
  for (uint32_t e = 0; e < entities; ++e) {
    for (uint32_t t : table.tokens(e)) (*lists)[e].push_back(base + t);
  }
  uint32_t next = base + table.vocabulary().size();
  for (uint32_t f = 0; f < table.fields().size(); ++f) {
    if (table.fields()[f].kind != FeatureKind::kNumeric) continue;
    std::vector<float> values;
    for (uint32_t e = 0; e < entities; ++e) {
      const float v = table.numeric(e, f);
      if (!std::isnan(v)) values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    std::vector<float> cuts;  // quantile boundaries
    for (int64_t b = 1; b < buckets && !values.empty(); ++b) cuts.push_back(values[values.size() * b / buckets]);
    for (uint32_t e = 0; e < entities; ++e) {
      const float v = table.numeric(e, f);
      if (std::isnan(v)) continue;
      const auto bucket = static_cast<uint32_t>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
      (*lists)[e].push_back(next + bucket);
    }
    if (numeric) numeric->push_back({table.fields()[f].name, next, std::move(cuts)});
    next += static_cast<uint32_t>(buckets);
  }
  return next - base;
}

}  // namespace

void TwoTowerModel::item_tokens(uint32_t item, bool drop_id, std::vector<uint32_t>* out) const {
  auto feats = item_token_lists_.row_indices(item);
  out->assign(feats.begin(), feats.end());
  // An item without features keeps its ID even when dropped: nothing else describes it.
  if ((!drop_id || out->empty()) && item_id_token_[item] != kNoIndex) out->push_back(item_id_token_[item]);
}

void TwoTowerModel::mean_of(std::span<const uint32_t> tokens, Eigen::VectorXf* v, float* bias) const {
  v->setZero(embeddings_.cols());
  *bias = 0.f;
  if (tokens.empty()) return;
  for (uint32_t t : tokens) {
    *v += embeddings_.row(t).transpose();
    *bias += biases_[t];
  }
  *v /= static_cast<float>(tokens.size());
  *bias /= static_cast<float>(tokens.size());
}

void TwoTowerModel::item_weights(uint32_t item, std::span<const uint32_t> tokens, std::vector<float>* w) const {
  const bool with_id = id_plus_features_ && !tokens.empty() && tokens.back() == item_id_token_[item];
  const size_t features = tokens.size() - (with_id ? 1 : 0);
  w->assign(tokens.size(),
            tokens.empty() ? 0.f : 1.f / static_cast<float>(with_id ? std::max<size_t>(features, 1) : tokens.size()));
  if (with_id) w->back() = 1.f;
}

void TwoTowerModel::weighted_sum(std::span<const uint32_t> tokens, std::span<const float> w, Eigen::VectorXf* v,
                                 float* bias) const {
  v->setZero(embeddings_.cols());
  *bias = 0.f;
  for (size_t k = 0; k < tokens.size(); ++k) {
    *v += w[k] * embeddings_.row(tokens[k]).transpose();
    *bias += w[k] * biases_[tokens[k]];
  }
}

void TwoTowerModel::item_vector(uint32_t item, bool drop_id, Eigen::VectorXf* v, float* bias) const {
  std::vector<uint32_t> toks;
  std::vector<float> w;
  item_tokens(item, drop_id, &toks);
  item_weights(item, toks, &w);
  weighted_sum(toks, w, v, bias);
}

Eigen::VectorXf TwoTowerModel::user_vector(std::span<const uint32_t> user_tokens,
                                           std::span<const uint32_t> history) const {
  Eigen::VectorXf u = Eigen::VectorXf::Zero(embeddings_.cols());
  for (uint32_t t : user_tokens) u += embeddings_.row(t).transpose();
  if (!user_tokens.empty()) u /= static_cast<float>(user_tokens.size());
  if (!history.empty()) {
    Eigen::VectorXf h = Eigen::VectorXf::Zero(embeddings_.cols());
    for (uint32_t i : history) h += history_vectors().row(i).transpose();
    u += h / pooling_norm(history.size());
  }
  return u;
}

void TwoTowerModel::Gradient::resize(size_t tokens, size_t factors) {
  embeddings.assign(tokens * factors, 0.f);
  biases.assign(tokens, 0.f);
  is_touched.assign(tokens, 0);
  touched.clear();
}

float* TwoTowerModel::Gradient::row(uint32_t token, size_t factors) {
  if (!is_touched[token]) {
    is_touched[token] = 1;
    touched.push_back(token);
  }
  return embeddings.data() + static_cast<size_t>(token) * factors;
}

void TwoTowerModel::Gradient::clear(size_t factors) {
  for (uint32_t t : touched) {
    std::fill_n(embeddings.data() + static_cast<size_t>(t) * factors, factors, 0.f);
    biases[t] = 0.f;
    is_touched[t] = 0;
  }
  touched.clear();
}

double TwoTowerModel::batch_loss(const UserBatch& b, Gradient* grad) const {
  const Eigen::Index d = embeddings_.cols();
  const auto fd = static_cast<size_t>(d);
  using Vec = Eigen::VectorXf;
  auto add_to = [&](uint32_t token, const Vec& v, float scale) {
    Eigen::Map<Vec>(grad->row(token, fd), d) += scale * v;
  };
  // The user tower's parts: the mean of the user tokens, and each history item's vector.
  Vec eu = Vec::Zero(d);
  for (uint32_t t : b.user_tokens) eu += embeddings_.row(t).transpose();
  if (!b.user_tokens.empty()) eu /= static_cast<float>(b.user_tokens.size());
  const size_t m = b.history.size();
  // Per-thread buffers: a batch is a few microseconds of work, too little to pay for
  // allocations. hv and left_out keep their memory while m stays at most their columns.
  struct Scratch {
    std::vector<std::vector<uint32_t>> history_tokens;
    std::vector<std::vector<float>> history_weights;
    Eigen::MatrixXf hv, left_out;
    std::vector<uint32_t> tp, tn;
    std::vector<float> wp, wn;
  };
  thread_local Scratch scratch;
  auto& history_tokens = scratch.history_tokens;
  auto& history_weights = scratch.history_weights;
  if (history_tokens.size() < m) history_tokens.resize(m), history_weights.resize(m);
  if (scratch.hv.rows() != d || scratch.hv.cols() < static_cast<Eigen::Index>(m)) {
    scratch.hv.resize(d, static_cast<Eigen::Index>(std::max<size_t>(m, options_.history)));
    scratch.left_out.resize(d, scratch.hv.cols());
  }
  auto hv = scratch.hv.leftCols(static_cast<Eigen::Index>(m));
  float unused_bias = 0.f;
  Vec v;
  for (size_t k = 0; k < m; ++k) {
    item_tokens(b.history[k], b.drop_history_ids, &history_tokens[k]);
    item_weights(b.history[k], history_tokens[k], &history_weights[k]);
    weighted_sum(history_tokens[k], history_weights[k], &v, &unused_bias);
    hv.col(static_cast<Eigen::Index>(k)) = v;
  }
  const Vec hsum = m > 0 ? Vec(hv.rowwise().sum()) : Vec(Vec::Zero(d));

  // Gradients reaching the user tower, summed over the batch and applied once at the end:
  // every history item gets `all` except what came from examples it was the positive of.
  Vec user_grad = Vec::Zero(d), all = Vec::Zero(d);
  auto left_out = scratch.left_out.leftCols(static_cast<Eigen::Index>(m));
  left_out.setZero();
  auto& tp = scratch.tp;
  auto& tn = scratch.tn;
  auto& wp = scratch.wp;
  auto& wn = scratch.wn;
  Vec vp, vn, u(d), du(d);
  const bool warp = options_.loss == "warp";
  double total = 0;
  for (const Pair& pair : b.pairs) {
    // The tower without the positive: it must not see the item it is asked to rank.
    const auto it = std::find(b.history.begin(), b.history.end(), pair.positive);
    const auto at = static_cast<Eigen::Index>(it - b.history.begin());
    const bool in_history = it != b.history.end();
    const size_t mh = m - (in_history ? 1 : 0);
    u = eu;
    if (mh > 0 && in_history) u += (hsum - hv.col(at)) / pooling_norm(mh);
    else if (mh > 0) u += hsum / pooling_norm(mh);
    float bp = 0, bn = 0;
    item_tokens(pair.positive, pair.drop_ids, &tp);
    item_tokens(pair.negative, pair.drop_ids, &tn);
    item_weights(pair.positive, tp, &wp);
    item_weights(pair.negative, tn, &wn);
    weighted_sum(tp, wp, &vp, &bp);
    weighted_sum(tn, wn, &vn, &bn);
    const double x = static_cast<double>(u.dot(vp - vn)) + bp - bn;
    double loss = 0, dx = 0;  // d loss / d x
    if (warp) {
      loss = std::max(0.0, 1.0 - x);
      dx = x < 1.0 ? -1.0 : 0.0;
    } else {
      loss = x > 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));  // softplus(-x)
      dx = -1.0 / (1.0 + std::exp(x));
    }
    total += pair.weight * loss;
    if (!grad || dx == 0.0) continue;
    const auto g = static_cast<float>(pair.weight * dx);
    for (size_t k = 0; k < tp.size(); ++k) {
      add_to(tp[k], u, g * wp[k]);
      grad->biases[tp[k]] += g * wp[k];
    }
    for (size_t k = 0; k < tn.size(); ++k) {
      add_to(tn[k], u, -g * wn[k]);
      grad->biases[tn[k]] -= g * wn[k];
    }
    du.noalias() = g * (vp - vn);
    user_grad += du;
    if (mh > 0) {
      all += du / pooling_norm(mh);
      if (in_history) left_out.col(at) += du / pooling_norm(mh);
    }
  }
  if (!grad) return total;
  for (uint32_t t : b.user_tokens) add_to(t, user_grad, 1.f / static_cast<float>(b.user_tokens.size()));
  for (size_t k = 0; k < m; ++k) {
    if (history_tokens[k].empty()) continue;
    const Vec gh = all - left_out.col(static_cast<Eigen::Index>(k));
    for (size_t j = 0; j < history_tokens[k].size(); ++j) add_to(history_tokens[k][j], gh, history_weights[k][j]);
  }
  return total;
}

void TwoTowerModel::sample_pairs(uint32_t u, std::span<const uint32_t> positives, Rng& rng, UserBatch* b) const {
  b->pairs.clear();
  const uint32_t n = num_items();
  auto is_positive = [&](uint32_t i) { return std::binary_search(positives.begin(), positives.end(), i); };
  if (options_.loss == "bpr") {
    for (size_t step = 0; step < positives.size(); ++step) {
      Pair pair;
      pair.positive = positives[rng.uniform_index(static_cast<uint32_t>(positives.size()))];
      pair.drop_ids = rng.uniform() < options_.id_dropout;
      for (int64_t k = 0; k < options_.negatives; ++k) {
        do pair.negative = rng.uniform_index(n);
        while (is_positive(pair.negative));
        b->pairs.push_back(pair);
      }
    }
    return;
  }
  // WARP over one shared pool: the user's tower scores the pool's candidates once, and each
  // positive takes a random violator among them. Random rows of a large catalogue miss the
  // cache, so one pool per user instead of fresh tries per positive is what keeps this fast.
  const Eigen::VectorXf tower = user_vector(user_token_lists_.row_indices(u), recent_.row_indices(u));
  const size_t pool_size = std::max(static_cast<size_t>(options_.negatives), positives.size());
  // Rows are prefetched first and scored after: their loads then overlap instead of each
  // stalling on memory in turn.
  const size_t row_bytes = static_cast<size_t>(item_vectors_.cols()) * sizeof(float);
  auto prefetch = [&](uint32_t i) {
    const char* row = reinterpret_cast<const char*>(item_vectors_.row(i).data());
    for (size_t at = 0; at < row_bytes; at += 64) __builtin_prefetch(row + at);
  };
  auto score = [&](uint32_t i) { return item_vectors_.row(i).dot(tower) + item_bias_[i]; };
  auto& pool = b->pool;
  pool.clear();
  for (size_t k = 0; k < pool_size; ++k) {
    const uint32_t i = rng.uniform_index(n);
    if (is_positive(i)) continue;
    prefetch(i);
    pool.push_back({i, 0.f});
  }
  for (uint32_t i : positives) prefetch(i);
  for (auto& c : pool) c.score = score(c.item);
  auto& positive_scores = b->positive_scores;
  positive_scores.resize(positives.size());
  for (size_t k = 0; k < positives.size(); ++k) positive_scores[k] = score(positives[k]);
  if (pool.empty()) return;
  std::sort(pool.begin(), pool.end(), [](const ScoredItem& a, const ScoredItem& c) { return a.score > c.score; });
  const auto drawn = static_cast<float>(pool_size);
  for (size_t step = 0; step < positives.size(); ++step) {
    Pair pair;
    const uint32_t k = rng.uniform_index(static_cast<uint32_t>(positives.size()));
    pair.positive = positives[k];
    pair.drop_ids = rng.uniform() < options_.id_dropout;
    const float target = positive_scores[k] - 1.f;
    // Violators lead the sorted pool: candidates scoring above the positive's score minus the margin.
    const auto violators = static_cast<size_t>(
        std::partition_point(pool.begin(), pool.end(), [&](const ScoredItem& c) { return c.score > target; }) -
        pool.begin());
    if (violators == 0) continue;
    pair.negative = pool[rng.uniform_index(static_cast<uint32_t>(violators))].item;
    pair.weight = std::log1p(std::floor(static_cast<float>(n - 1) * static_cast<float>(violators) / drawn));
    b->pairs.push_back(pair);
  }
}

void TwoTowerModel::refresh_item_vectors() {
  item_vectors_.resize(num_items(), embeddings_.cols());
  item_bias_.assign(num_items(), 0.f);
  Eigen::VectorXf v;
  for (uint32_t i = 0; i < num_items(); ++i) {
    item_vector(i, false, &v, &item_bias_[i]);
    item_vectors_.row(i) = v.transpose();
  }
  item_inputs_.resize(input_base_ ? num_items() : 0, embeddings_.cols());
  std::vector<uint32_t> tokens;
  std::vector<float> w;
  float unused = 0.f;
  for (uint32_t i = 0; i < item_inputs_.rows(); ++i) {
    item_tokens(i, false, &tokens);
    item_weights(i, tokens, &w);
    for (uint32_t& t : tokens) t += input_base_;
    weighted_sum(tokens, w, &v, &unused);
    item_inputs_.row(i) = v.transpose();
  }
}

uint32_t TwoTowerModel::lay_out(const Dataset& train, std::span<const uint64_t> trained_items) {
  const Catalog& cat = train.catalog();
  const CsrMatrix& iu = train.item_users();
  std::vector<std::vector<uint32_t>> item_lists, user_lists;
  auto start_index = [](const FeatureTable& table, uint32_t base, FeatureIndex* index) {
    index->fields.clear();
    for (const auto& f : table.fields()) index->fields.push_back(f.name);
    index->vocabulary = table.vocabulary();
    index->base = base;
    index->numeric.clear();
  };
  start_index(cat.item_features, 0, &item_index_);
  uint32_t next =
      feature_tokens(cat.item_features, num_items(), options_.buckets, 0, &item_lists, &item_index_.numeric);
  layout_.item_features = next;
  item_id_token_.assign(num_items(), kNoIndex);
  for (uint32_t i = 0; i < num_items(); ++i) {
    // Only items seen in training get an ID token.
    if (trained_items.empty() ? iu.row_nnz(i) > 0 : trained_items[i] > 0) item_id_token_[i] = next++;
  }
  layout_.user_base = next;
  start_index(cat.user_features, next, &user_index_);
  layout_.user_features =
      feature_tokens(cat.user_features, num_users(), options_.buckets, next, &user_lists, &user_index_.numeric);
  next += layout_.user_features;
  item_token_lists_ = from_lists(item_lists, next);
  user_token_lists_ = from_lists(user_lists, next);
  // Each user's distinct items, newest first: all of them, or the `history` most recent.
  const auto& in = train.interactions();
  std::vector<uint32_t> order(in.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return in.timestamps[a] > in.timestamps[b]; });
  std::vector<std::vector<uint32_t>> recent(num_users());
  for (uint32_t r : order) {
    auto& list = recent[in.users[r]];
    // All items (repeats dropped below, in one pass) or the first `history` distinct ones.
    if (options_.history == 0 || (static_cast<int64_t>(list.size()) < options_.history &&
                                  std::find(list.begin(), list.end(), in.items[r]) == list.end()))
      list.push_back(in.items[r]);
  }
  if (options_.history == 0) {
    std::vector<uint32_t> last_user(num_items(), kNoIndex);  // drops repeats, keeping the newest
    for (uint32_t u = 0; u < num_users(); ++u) {
      auto& list = recent[u];
      size_t kept = 0;
      for (uint32_t i : list)
        if (std::exchange(last_user[i], u) != u) list[kept++] = i;
      list.resize(kept);
    }
  }
  recent_ = from_lists(recent, num_items());
  return next;
}

uint32_t TwoTowerModel::allocate(uint32_t tokens, Rng& rng) {
  loss_used_ = options_.loss != "auto" ? options_.loss : num_items() <= kSoftmaxItems ? "softmax" : "warp";
  // The softmax model reads a user's items through input rows of their own (one per item
  // token, after the tokens); warp and bpr read them through the item vectors.
  input_base_ = loss_used_ == "softmax" ? tokens : 0;
  round_state_.reset();  // a new layout: rounds (begin_rounds) start their own state after this
  const uint32_t rows = tokens + (input_base_ ? layout_.user_base : 0);
  embeddings_ = random_factors(rows, options_.factors, 0.1, rng);
  biases_.assign(rows, 0.f);
  adagrad_.assign(static_cast<size_t>(rows) * static_cast<size_t>(options_.factors), 0.f);
  adagrad_bias_.assign(rows, 0.f);
  return rows;
}

Status TwoTowerModel::fit(const Dataset& train) {
  fit_from_scratch(train, -1);
  return Status::ok();
}

void TwoTowerModel::fit_from_scratch(const Dataset& train, int64_t epochs) {
  set_shape(train.num_users(), train.num_items());
  const uint32_t tokens = lay_out(train);
  Rng rng(static_cast<uint64_t>(options_.seed));
  allocate(tokens, rng);
  losses_.clear();
  run_epochs(train, epochs < 0 ? epochs_to_run() : epochs, 1.f, rng);  // after lay_out: it resolves the loss
}

int64_t TwoTowerModel::epochs_to_run() const {
  if (options_.epochs > 0) return options_.epochs;
  return loss_used_ == "softmax" ? 40 : 20;
}

void TwoTowerModel::run_epochs(const Dataset& train, int64_t epochs, float start_rate, Rng& rng) {
  if (loss_used_ == "softmax") train_softmax_epochs(train, epochs, start_rate, rng);
  else train_epochs(train, epochs, rng);
}

void TwoTowerModel::begin_rounds(const Dataset& shard, std::span<const uint64_t> trained_items, Rng& rng) {
  NUDGE_CHECK(trained_items.size() == shard.num_items(), "twotower: trained_items of the wrong size");
  set_shape(shard.num_users(), shard.num_items());
  allocate(lay_out(shard, trained_items), rng);
  losses_.clear();
  round_state_ = std::make_unique<SoftmaxState>();
}

void TwoTowerModel::train_round(const Dataset& shard, int64_t first, int64_t epochs, int64_t total, Rng& rng) {
  NUDGE_CHECK(round_state_ != nullptr && first >= 0 && epochs >= 0 && first + epochs <= total,
              "twotower: train_round outside begin_rounds or past the last epoch");
  refresh_item_vectors();  // the rows changed since (averaged)
  // One epoch a call: train_softmax_epochs' rate for a single epoch is its start rate.
  for (int64_t e = first; e < first + epochs; ++e)
    run_epochs(shard, 1, 1.f - static_cast<float>(e) / static_cast<float>(total), rng);
}

void TwoTowerModel::end_rounds(const Dataset& all) {
  const TokenLayout trained = layout_;
  const std::vector<uint32_t> trained_ids = item_id_token_;
  set_shape(all.num_users(), all.num_items());
  const uint32_t tokens = lay_out(all);
  NUDGE_CHECK(trained_ids == item_id_token_ && trained.user_base == layout_.user_base &&
                  tokens + (input_base_ ? layout_.user_base : 0) == embeddings_.rows(),
              "twotower: end_rounds on data with other trained items than begin_rounds'");
  refresh_item_vectors();
  round_state_.reset();
}

Status TwoTowerModel::fit_warm(const Dataset& train) {
  if (adagrad_.empty() || train.num_users() != num_users() || train.num_items() != num_items()) return fit(train);
  const int64_t warm_epochs = std::max<int64_t>(1, epochs_to_run() / 5);
  Rng rng(static_cast<uint64_t>(options_.seed) + 1);
  continue_training(train, warm_epochs, static_cast<float>(warm_epochs) / static_cast<float>(epochs_to_run()), rng);
  release_training_state();  // kept for one warm start only: it is as large as the embeddings
  return Status::ok();
}

Status TwoTowerModel::fit_more(const Dataset& train, int64_t epochs) {
  if (epochs < 0) return Status::invalid_argument("twotower: epochs must be >= 0");
  if (adagrad_.empty() || train.num_users() != num_users() || train.num_items() != num_items()) {
    fit_from_scratch(train, epochs);
    return Status::ok();
  }
  // A stream of its own per call (by the epochs trained so far): repeated calls do not
  // replay one sample.
  Rng rng = Rng(static_cast<uint64_t>(options_.seed) + 2).fork(losses_.size());
  continue_training(train, epochs, 1.f, rng);
  return Status::ok();
}

void TwoTowerModel::continue_training(const Dataset& train, int64_t epochs, float start_rate, Rng& rng) {
  // Token rows move (items and users seen for the first time get ID tokens), so each old row
  // is carried to its new place with its Adagrad state; new tokens start as fit() starts them.
  const TokenLayout old = layout_;
  const uint32_t old_input_base = input_base_;
  const std::vector<uint32_t> old_items = item_id_token_;
  const FactorMatrix old_embeddings = std::move(embeddings_);
  const std::vector<float> old_biases = std::move(biases_), old_adagrad = std::move(adagrad_),
                           old_adagrad_bias = std::move(adagrad_bias_);
  const uint32_t tokens = lay_out(train);
  NUDGE_CHECK(layout_.item_features == old.item_features && layout_.user_features == old.user_features,
              "twotower: a warm fit on a dataset with other features");
  allocate(tokens, rng);
  const auto fd = static_cast<size_t>(options_.factors);
  auto carry = [&](uint32_t from, uint32_t to) {
    if (from == kNoIndex || to == kNoIndex) return;
    embeddings_.row(to) = old_embeddings.row(from);
    biases_[to] = old_biases[from];
    std::copy_n(old_adagrad.begin() + static_cast<std::ptrdiff_t>(from * fd), fd,
                adagrad_.begin() + static_cast<std::ptrdiff_t>(to * fd));
    adagrad_bias_[to] = old_adagrad_bias[from];
  };
  for (uint32_t t = 0; t < old.item_features; ++t) carry(t, t);
  for (uint32_t i = 0; i < num_items(); ++i) carry(old_items[i], item_id_token_[i]);
  if (old_input_base && input_base_) {
    for (uint32_t t = 0; t < old.item_features; ++t) carry(old_input_base + t, input_base_ + t);
    for (uint32_t i = 0; i < num_items(); ++i)
      if (old_items[i] != kNoIndex && item_id_token_[i] != kNoIndex)
        carry(old_input_base + old_items[i], input_base_ + item_id_token_[i]);
  }
  for (uint32_t t = 0; t < old.user_features; ++t) carry(old.user_base + t, layout_.user_base + t);
  run_epochs(train, epochs, start_rate, rng);
}

void TwoTowerModel::train_epochs(const Dataset& train, int64_t epochs, Rng& rng) {
  const CsrMatrix& seen = train.user_items();
  const auto fd = static_cast<size_t>(options_.factors);
  const auto next = static_cast<uint32_t>(embeddings_.rows());
  std::vector<float>& accum = adagrad_;
  std::vector<float>& bias_accum = adagrad_bias_;
  const int threads = resolve_threads(static_cast<int>(options_.threads));
  const float lr = static_cast<float>(options_.learning_rate > 0 ? options_.learning_rate : 0.05),
              reg = static_cast<float>(options_.regularization);
  std::vector<uint32_t> users(num_users());
  std::iota(users.begin(), users.end(), 0u);
  std::vector<Gradient> grads(static_cast<size_t>(threads));
  for (auto& g : grads) g.resize(next, fd);
  std::vector<double> loss_sum(static_cast<size_t>(threads)), loss_weight(static_cast<size_t>(threads));
  Progress progress("twotower epochs", static_cast<uint64_t>(epochs));
  for (int64_t epoch = 0; epoch < epochs; ++epoch, progress.advance()) {
    rng.shuffle(users);
    std::vector<Rng> rngs;
    for (int t = 0; t < threads; ++t) rngs.push_back(rng.fork(static_cast<uint64_t>(t)));
    // WARP samples against item vectors as of the epoch's start.
    refresh_item_vectors();
    std::fill(loss_sum.begin(), loss_sum.end(), 0.0);
    std::fill(loss_weight.begin(), loss_weight.end(), 0.0);
    parallel_for(
        static_cast<size_t>(threads), threads,
        [&](size_t tb, size_t te, int) {
          for (size_t t = tb; t < te; ++t) {
            Rng& r = rngs[t];
            Gradient& grad = grads[t];
            UserBatch batch;
            using Row = Eigen::Map<Eigen::ArrayXf>;
            Eigen::ArrayXf gc(options_.factors);
            for (size_t k = users.size() * t / threads; k < users.size() * (t + 1) / threads; ++k) {
              const uint32_t u = users[k];
              const auto pos = seen.row_indices(u);
              if (pos.empty() || pos.size() >= num_items()) continue;
              sample_pairs(u, pos, r, &batch);
              if (batch.pairs.empty()) continue;
              auto ut = user_token_lists_.row_indices(u);
              batch.user_tokens.assign(ut.begin(), ut.end());
              auto history = recent_.row_indices(u);
              batch.history.assign(history.begin(), history.end());
              batch.drop_history_ids = r.uniform() < options_.id_dropout;
              loss_sum[t] += batch_loss(batch, &grad);
              for (const auto& pair : batch.pairs) loss_weight[t] += pair.weight;
              // Adagrad, Hogwild: rows are updated without locks.
              for (uint32_t tok : grad.touched) {
                Row e(embeddings_.row(tok).data(), options_.factors);
                Row a(accum.data() + static_cast<size_t>(tok) * fd, options_.factors);
                gc = Row(grad.embeddings.data() + static_cast<size_t>(tok) * fd, options_.factors) + reg * e;
                a += gc.square();
                e -= lr * gc * (a + 1e-16f).rsqrt();  // rsqrt: no square root and division per coordinate
                const float gb = grad.biases[tok];
                bias_accum[tok] += gb * gb;
                biases_[tok] -= lr * gb / (std::sqrt(bias_accum[tok]) + 1e-8f);
              }
              grad.clear(fd);
            }
          }
        },
        1);
    const double weight = std::accumulate(loss_weight.begin(), loss_weight.end(), 0.0);
    losses_.push_back(weight > 0 ? std::accumulate(loss_sum.begin(), loss_sum.end(), 0.0) / weight : 0.0);
    if (!epoch_finished(epoch, losses_.back())) break;
  }
  refresh_item_vectors();
}

Eigen::VectorXf TwoTowerModel::training_user_vector(uint32_t user) const {
  NUDGE_CHECK(user < num_users(), "twotower: user index out of range");
  return user_vector(user_token_lists_.row_indices(user), recent_.row_indices(user));
}

std::vector<std::pair<std::string, uint32_t>> TwoTowerModel::user_feature_tokens() const {
  std::vector<std::pair<std::string, uint32_t>> out;
  for (uint32_t k = 0; k < user_index_.vocabulary.size(); ++k)
    out.emplace_back(user_index_.vocabulary.id_of(k), user_index_.base + k);
  return out;
}

void TwoTowerModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  score_items(training_user_vector(user), scores);
}

void TwoTowerModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  FactorMatrix block(static_cast<Eigen::Index>(users.size()), item_vectors_.cols());
  for (size_t r = 0; r < users.size(); ++r)
    block.row(static_cast<Eigen::Index>(r)) = training_user_vector(users[r]).transpose();
  score_by_product(block.data(), users.size(), item_vectors_.data(), num_items(),
                   static_cast<size_t>(item_vectors_.cols()), item_bias_.data(), scores.data());
}

void TwoTowerModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                  std::span<float> scores) const {
  check_history_call(items, weights, scores);
  score_items(user_vector(UserHistory{items, weights}), scores);
}

Eigen::VectorXf TwoTowerModel::user_vector(const UserHistory& user) const {
  thread_local std::vector<uint32_t> tokens;
  tokens.clear();
  if (user.attributes) user_index_.tokens(*user.attributes, &tokens);
  std::span<const uint32_t> recent = user.recent.empty() || options_.history == 0 ? user.items : user.recent;
  if (options_.history > 0 && static_cast<int64_t>(recent.size()) > options_.history)
    recent = recent.first(static_cast<size_t>(options_.history));
  for (uint32_t i : recent) NUDGE_CHECK(i < num_items(), "twotower: recent item out of range");
  return user_vector(tokens, recent);
}

bool TwoTowerModel::knows_attributes(const FeatureDescription& attributes) const {
  std::vector<uint32_t> tokens;
  user_index_.tokens(attributes, &tokens);
  return !tokens.empty();
}

void TwoTowerModel::score_items(const Eigen::VectorXf& u, std::span<float> scores) const {
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  out.noalias() = item_vectors_ * u;
  out += Eigen::Map<const Eigen::VectorXf>(item_bias_.data(), static_cast<Eigen::Index>(item_bias_.size()));
}

void TwoTowerModel::FeatureIndex::tokens(const FeatureDescription& d, std::vector<uint32_t>* out) const {
  out->clear();
  for (const auto& [field, value] : d.values) {
    // The field as named in training, else the value under any field (a "tag" served as
    // "tags" in the file the model was trained from).
    auto t = vocabulary.find(field + "=" + value);
    for (size_t f = 0; !t && f < fields.size(); ++f) t = vocabulary.find(fields[f] + "=" + value);
    if (t) out->push_back(base + *t);
  }
  for (const auto& [field, x] : d.numbers) {
    for (const NumericField& f : numeric) {
      if (f.field != field || std::isnan(x)) continue;
      out->push_back(f.first_token +
                     static_cast<uint32_t>(std::upper_bound(f.cuts.begin(), f.cuts.end(), x) - f.cuts.begin()));
    }
  }
}

bool TwoTowerModel::score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                                       std::span<float> scores, std::span<float> described_scores) const {
  check_history_call(user.items, user.weights, scores);
  NUDGE_CHECK(described.size() == described_scores.size(), "twotower: one score per described item");
  const Eigen::VectorXf u = user_vector(user);
  score_items(u, scores);
  Eigen::VectorXf v;
  float bias = 0.f;
  for (size_t k = 0; k < described.size(); ++k) {
    described_item_vector(described[k], &v, &bias);
    described_scores[k] = u.dot(v) + bias;  // no known feature: a zero tower, score 0
  }
  return true;
}

void TwoTowerModel::described_item_vector(const FeatureDescription& item, Eigen::VectorXf* v, float* bias) const {
  thread_local std::vector<uint32_t> tokens;
  describe(item, &tokens);
  mean_of(tokens, v, bias);
}

bool TwoTowerModel::history_vector(const UserHistory& history, std::span<float> user) const {
  NUDGE_CHECK(user.size() == static_cast<size_t>(embeddings_.cols()), "twotower: history_vector of the wrong size");
  Eigen::Map<Eigen::VectorXf>(user.data(), embeddings_.cols()) = user_vector(history);
  return true;
}

Status TwoTowerModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  cosine_neighbours(item_vectors_.data(), num_items(), static_cast<uint32_t>(item_vectors_.cols()), item, k, out);
  return Status::ok();
}

void TwoTowerModel::save_state(ModelWriter& out) const {
  out.u32(num_users());
  out.csr(item_token_lists_);
  out.csr(user_token_lists_);
  out.u32s(item_id_token_);
  out.csr(recent_);
  write_factors(out, embeddings_);
  out.floats(biases_);
  // The feature vocabularies, for items described after training (cold start) and users
  // served by their attributes. Files written before each existed end before it.
  out.u32(kFeatureIndexMarker);
  item_index_.save(out);
  out.u32(kUserFeatureIndexMarker);
  out.u32(user_index_.base);
  user_index_.save(out);
  // Files from before end here: their items are the mean of all their tokens.
  out.u32(kCompositionMarker);
}

void TwoTowerModel::FeatureIndex::save(ModelWriter& out) const {
  out.u32(static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) out.str(f);
  out.u32(vocabulary.size());
  for (uint32_t t = 0; t < vocabulary.size(); ++t) out.str(vocabulary.id_of(t));
  out.u32(static_cast<uint32_t>(numeric.size()));
  for (const auto& f : numeric) {
    out.str(f.field);
    out.u32(f.first_token);
    out.floats(f.cuts);
  }
}

Status TwoTowerModel::load_state(ModelReader& in) {
  uint32_t users = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&users, "twotower: users"));
  NUDGE_RETURN_IF_ERROR(in.csr(&item_token_lists_, "twotower: item tokens"));
  NUDGE_RETURN_IF_ERROR(in.csr(&user_token_lists_, "twotower: user tokens"));
  NUDGE_RETURN_IF_ERROR(in.u32s(&item_id_token_, "twotower: item ID tokens", item_token_lists_.num_rows));
  NUDGE_RETURN_IF_ERROR(in.csr(&recent_, "twotower: recent items"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &embeddings_, "twotower: embeddings"));
  NUDGE_RETURN_IF_ERROR(in.floats(&biases_, "twotower: biases", static_cast<size_t>(embeddings_.rows())));
  // Rows past the tokens are the softmax model's input rows, one per item token.
  const auto tokens = item_token_lists_.num_cols;
  input_base_ = static_cast<uint32_t>(embeddings_.rows()) > tokens ? tokens : 0;
  uint32_t item_token_end = 0;
  for (uint32_t t : item_token_lists_.indices) item_token_end = std::max(item_token_end, t + 1);
  for (uint32_t t : item_id_token_)
    if (t != kNoIndex) item_token_end = std::max(item_token_end, t + 1);
  if (embeddings_.rows() < tokens || (input_base_ && embeddings_.rows() - tokens < item_token_end) ||
      user_token_lists_.num_cols != tokens || user_token_lists_.num_rows != users || recent_.num_rows != users ||
      recent_.num_cols != item_token_lists_.num_rows) {
    return in.corrupt("twotower: tokens", "shapes do not agree");
  }
  for (uint32_t t : item_id_token_) {
    if (t != kNoIndex && t >= tokens) return in.corrupt("twotower: item ID tokens", "token out of range");
  }
  item_index_ = FeatureIndex();
  user_index_ = FeatureIndex();
  if (in.remaining() > 0) {  // files from before the item index end here
    uint32_t marker = 0;
    NUDGE_RETURN_IF_ERROR(in.u32(&marker, "twotower: feature index"));
    if (marker != kFeatureIndexMarker) return in.corrupt("twotower: feature index", "bad marker");
    NUDGE_RETURN_IF_ERROR(item_index_.load(in, tokens));
  }
  if (in.remaining() > 0) {  // files from before the user index end here
    uint32_t marker = 0;
    NUDGE_RETURN_IF_ERROR(in.u32(&marker, "twotower: user feature index"));
    if (marker != kUserFeatureIndexMarker) return in.corrupt("twotower: user feature index", "bad marker");
    NUDGE_RETURN_IF_ERROR(in.u32(&user_index_.base, "twotower: user feature base"));
    NUDGE_RETURN_IF_ERROR(user_index_.load(in, tokens));
  }
  // Files from before the marker end here: items the mean of all their tokens, the tower the
  // mean of its items.
  id_plus_features_ = in.remaining() > 0;
  if (id_plus_features_) {
    uint32_t marker = 0;
    NUDGE_RETURN_IF_ERROR(in.u32(&marker, "twotower: item composition"));
    if (marker != kCompositionMarker) return in.corrupt("twotower: item composition", "bad marker");
  } else {
    options_.pooling = 1.0;
  }
  set_shape(users, item_token_lists_.num_rows);
  refresh_item_vectors();
  return Status::ok();
}

Status TwoTowerModel::FeatureIndex::load(ModelReader& in, uint32_t tokens) {
  uint32_t count = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&count, "twotower: feature fields"));
  if (count > in.remaining()) return in.corrupt("twotower: feature fields", "count larger than the file");
  fields.resize(count);
  for (auto& f : fields) NUDGE_RETURN_IF_ERROR(in.str(&f, "twotower: feature field"));
  NUDGE_RETURN_IF_ERROR(in.u32(&count, "twotower: feature vocabulary"));
  if (base > tokens || count > tokens - base)
    return in.corrupt("twotower: feature vocabulary", "more values than tokens");
  std::string value;
  for (uint32_t t = 0; t < count; ++t) {
    NUDGE_RETURN_IF_ERROR(in.str(&value, "twotower: feature value"));
    if (vocabulary.intern(value) != t) return in.corrupt("twotower: feature vocabulary", "repeated value");
  }
  NUDGE_RETURN_IF_ERROR(in.u32(&count, "twotower: numeric fields"));
  if (count > in.remaining()) return in.corrupt("twotower: numeric fields", "count larger than the file");
  numeric.resize(count);
  for (auto& f : numeric) {
    NUDGE_RETURN_IF_ERROR(in.str(&f.field, "twotower: numeric field"));
    NUDGE_RETURN_IF_ERROR(in.u32(&f.first_token, "twotower: numeric field token"));
    NUDGE_RETURN_IF_ERROR(in.floats(&f.cuts, "twotower: numeric field cuts"));
    if (static_cast<uint64_t>(f.first_token) + f.cuts.size() >= tokens)
      return in.corrupt("twotower: numeric field token", "token out of range");
  }
  return Status::ok();
}

}  // namespace nudge
