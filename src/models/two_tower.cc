#include "nudge/models/two_tower.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "nudge/model_file.h"
#include "nudge/parallel.h"
#include "nudge/progress.h"

namespace nudge {

Result<TwoTowerOptions> TwoTowerOptions::from_params(const Params& p) {
  TwoTowerOptions o;
  const char* n = "twotower";
  NUDGE_RETURN_IF_ERROR(p.check_known(n, {"factors", "epochs", "learning_rate", "regularization", "id_dropout",
                                          "history", "buckets", "threads", "seed"}));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "factors", 1, 1024, &o.factors));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "epochs", 0, 10000, &o.epochs));
  NUDGE_RETURN_IF_ERROR(p.read_double(n, "learning_rate", 0, 10, &o.learning_rate));
  NUDGE_RETURN_IF_ERROR(p.read_double(n, "regularization", 0, 10, &o.regularization));
  NUDGE_RETURN_IF_ERROR(p.read_double(n, "id_dropout", 0, 1, &o.id_dropout));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "history", 0, 10000, &o.history));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "buckets", 1, 1000, &o.buckets));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "threads", 0, 1024, &o.threads));
  NUDGE_RETURN_IF_ERROR(p.read_int(n, "seed", 0, INT64_MAX, &o.seed));
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
    m.indices.insert(m.indices.end(), rows[r].begin(), rows[r].end());
  }
  m.values.assign(m.indices.size(), 1.f);
  return m;
}

// Token ids for one feature table: its vocabulary, then `buckets` per numeric field.
// Returns the number of tokens used, starting at `base`.
uint32_t feature_tokens(const FeatureTable& table, uint32_t entities, int64_t buckets, uint32_t base,
                        std::vector<std::vector<uint32_t>>* lists) {
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

void TwoTowerModel::item_vector(uint32_t item, bool drop_id, Eigen::VectorXf* v, float* bias) const {
  std::vector<uint32_t> toks;
  item_tokens(item, drop_id, &toks);
  mean_of(toks, v, bias);
}

Eigen::VectorXf TwoTowerModel::user_vector(std::span<const uint32_t> user_tokens, std::span<const uint32_t> history) const {
  Eigen::VectorXf u = Eigen::VectorXf::Zero(embeddings_.cols());
  for (uint32_t t : user_tokens) u += embeddings_.row(t).transpose();
  if (!user_tokens.empty()) u /= static_cast<float>(user_tokens.size());
  if (!history.empty()) {
    Eigen::VectorXf h = Eigen::VectorXf::Zero(embeddings_.cols());
    for (uint32_t i : history) h += item_vectors_.row(i).transpose();
    u += h / static_cast<float>(history.size());
  }
  return u;
}

double TwoTowerModel::example_loss(const Example& ex, Gradient* grad) const {
  const Eigen::Index d = embeddings_.cols();
  std::vector<uint32_t> tp, tn;
  item_tokens(ex.positive, ex.drop_ids, &tp);
  item_tokens(ex.negative, ex.drop_ids, &tn);
  Eigen::VectorXf vp, vn;
  float bp = 0, bn = 0;
  mean_of(tp, &vp, &bp);
  mean_of(tn, &vn, &bn);
  // The user tower, computed here from tokens so dropped IDs also apply to the history.
  Eigen::VectorXf u = Eigen::VectorXf::Zero(d);
  for (uint32_t t : ex.user_tokens) u += embeddings_.row(t).transpose();
  if (!ex.user_tokens.empty()) u /= static_cast<float>(ex.user_tokens.size());
  std::vector<std::vector<uint32_t>> hist_tokens(ex.history.size());
  Eigen::VectorXf hsum = Eigen::VectorXf::Zero(d);
  Eigen::VectorXf vh;
  float bh;
  for (size_t k = 0; k < ex.history.size(); ++k) {
    item_tokens(ex.history[k], ex.drop_ids, &hist_tokens[k]);
    mean_of(hist_tokens[k], &vh, &bh);
    hsum += vh;
  }
  if (!ex.history.empty()) u += hsum / static_cast<float>(ex.history.size());
  const double x = static_cast<double>(u.dot(vp - vn)) + bp - bn;
  const double loss = x > 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));  // softplus(-x)
  if (!grad) return loss;

  const auto g = static_cast<float>(-1.0 / (1.0 + std::exp(x)));  // d loss / d x
  std::unordered_map<uint32_t, size_t> at;
  grad->embeddings.clear();
  grad->biases.clear();
  auto add = [&](uint32_t tok, const Eigen::VectorXf& v) {
    auto [it, inserted] = at.try_emplace(tok, grad->embeddings.size());
    if (inserted) grad->embeddings.emplace_back(tok, v);
    else grad->embeddings[it->second].second += v;
  };
  const Eigen::VectorXf du = g * (vp - vn);
  for (uint32_t t : tp) {
    add(t, (g / static_cast<float>(tp.size())) * u);
    grad->biases.emplace_back(t, g / static_cast<float>(tp.size()));
  }
  for (uint32_t t : tn) {
    add(t, (-g / static_cast<float>(tn.size())) * u);
    grad->biases.emplace_back(t, -g / static_cast<float>(tn.size()));
  }
  for (uint32_t t : ex.user_tokens) add(t, du / static_cast<float>(ex.user_tokens.size()));
  for (const auto& toks : hist_tokens) {
    const float w = 1.f / static_cast<float>(ex.history.size() * toks.size());
    for (uint32_t t : toks) add(t, w * du);
  }
  return loss;
}

void TwoTowerModel::refresh_item_vectors() {
  item_vectors_.resize(num_items(), embeddings_.cols());
  item_bias_.assign(num_items(), 0.f);
  Eigen::VectorXf v;
  for (uint32_t i = 0; i < num_items(); ++i) {
    item_vector(i, false, &v, &item_bias_[i]);
    item_vectors_.row(i) = v.transpose();
  }
}

Status TwoTowerModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const Catalog& cat = train.catalog();
  const CsrMatrix& seen = train.user_items();
  const CsrMatrix& iu = train.item_users();
  std::vector<std::vector<uint32_t>> item_lists, user_lists;
  uint32_t next = feature_tokens(cat.item_features, num_items(), options_.buckets, 0, &item_lists);
  item_id_token_.assign(num_items(), kNoIndex);
  for (uint32_t i = 0; i < num_items(); ++i) {
    if (iu.row_nnz(i) > 0) item_id_token_[i] = next++;  // only items seen in training get an ID token
  }
  next += feature_tokens(cat.user_features, num_users(), options_.buckets, next, &user_lists);
  for (uint32_t u = 0; u < num_users(); ++u) {
    if (seen.row_nnz(u) > 0) user_lists[u].push_back(next++);
  }
  item_token_lists_ = from_lists(item_lists, next);
  user_token_lists_ = from_lists(user_lists, next);
  // Each user's most recent distinct items, newest first.
  const auto& in = train.interactions();
  std::vector<uint32_t> order(in.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return in.timestamps[a] > in.timestamps[b]; });
  std::vector<std::vector<uint32_t>> recent(num_users());
  for (uint32_t r : order) {
    auto& list = recent[in.users[r]];
    if (static_cast<int64_t>(list.size()) < options_.history && std::find(list.begin(), list.end(), in.items[r]) == list.end()) {
      list.push_back(in.items[r]);
    }
  }
  recent_ = from_lists(recent, num_items());

  Rng rng(static_cast<uint64_t>(options_.seed));
  embeddings_ = random_factors(next, options_.factors, 0.1, rng);
  biases_.assign(next, 0.f);
  std::vector<float> accum(static_cast<size_t>(next) * options_.factors, 0.f), bias_accum(next, 0.f);
  const int threads = resolve_threads(static_cast<int>(options_.threads));
  const float lr = static_cast<float>(options_.learning_rate), reg = static_cast<float>(options_.regularization);
  std::vector<uint32_t> users(num_users());
  std::iota(users.begin(), users.end(), 0u);
  Progress progress("twotower epochs", static_cast<uint64_t>(options_.epochs));
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch, progress.advance()) {
    rng.shuffle(users);
    std::vector<Rng> rngs;
    for (int t = 0; t < threads; ++t) rngs.push_back(rng.fork(static_cast<uint64_t>(t)));
    // History vectors move as tokens train; refresh the cache once per epoch.
    refresh_item_vectors();
    parallel_for(static_cast<size_t>(threads), threads, [&](size_t tb, size_t te, int) {
      for (size_t t = tb; t < te; ++t) {
        Rng& r = rngs[t];
        Example ex;
        Gradient grad;
        for (size_t k = users.size() * t / threads; k < users.size() * (t + 1) / threads; ++k) {
          const uint32_t u = users[k];
          const auto pos = seen.row_indices(u);
          if (pos.empty() || pos.size() >= num_items()) continue;
          auto ut = user_token_lists_.row_indices(u);
          ex.user_tokens.assign(ut.begin(), ut.end());
          for (size_t step = 0; step < pos.size(); ++step) {
            ex.positive = pos[r.uniform_index(static_cast<uint32_t>(pos.size()))];
            do ex.negative = r.uniform_index(num_items());
            while (std::binary_search(pos.begin(), pos.end(), ex.negative));
            ex.history.clear();
            for (uint32_t h : recent_.row_indices(u)) {
              if (h != ex.positive) ex.history.push_back(h);
            }
            ex.drop_ids = r.uniform() < options_.id_dropout;
            example_loss(ex, &grad);
            // Adagrad, Hogwild: rows are updated without locks.
            for (const auto& [tok, gv] : grad.embeddings) {
              float* e = embeddings_.row(tok).data();
              float* a = accum.data() + static_cast<size_t>(tok) * options_.factors;
              for (Eigen::Index c = 0; c < gv.size(); ++c) {
                const float gc = gv[c] + reg * e[c];
                a[c] += gc * gc;
                e[c] -= lr * gc / (std::sqrt(a[c]) + 1e-8f);
              }
            }
            for (const auto& [tok, gb] : grad.biases) {
              bias_accum[tok] += gb * gb;
              biases_[tok] -= lr * gb / (std::sqrt(bias_accum[tok]) + 1e-8f);
            }
          }
        }
      }
    }, 1);
  }
  refresh_item_vectors();
  return Status::ok();
}

void TwoTowerModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  const Eigen::VectorXf u = user_vector(user_token_lists_.row_indices(user), recent_.row_indices(user));
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  out.noalias() = item_vectors_ * u;
  out += Eigen::Map<const Eigen::VectorXf>(item_bias_.data(), static_cast<Eigen::Index>(item_bias_.size()));
}

void TwoTowerModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                  std::span<float> scores) const {
  check_history_call(items, weights, scores);
  const Eigen::VectorXf u = user_vector({}, items);
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  out.noalias() = item_vectors_ * u;
  out += Eigen::Map<const Eigen::VectorXf>(item_bias_.data(), static_cast<Eigen::Index>(item_bias_.size()));
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
  const auto tokens = static_cast<uint32_t>(embeddings_.rows());
  if (item_token_lists_.num_cols != tokens || user_token_lists_.num_cols != tokens || user_token_lists_.num_rows != users ||
      recent_.num_rows != users || recent_.num_cols != item_token_lists_.num_rows) {
    return in.corrupt("twotower: tokens", "shapes do not agree");
  }
  for (uint32_t t : item_id_token_) {
    if (t != kNoIndex && t >= tokens) return in.corrupt("twotower: item ID tokens", "token out of range");
  }
  set_shape(users, item_token_lists_.num_rows);
  refresh_item_vectors();
  return Status::ok();
}

}  // namespace nudge
