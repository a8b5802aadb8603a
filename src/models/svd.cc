#include "nudge/models/svd.h"
#include "nudge/param_table.h"

#include <cmath>
#include <numeric>

namespace nudge {

const ParamTable<SvdOptions>& SvdOptions::parameters() {
  using T = ParamTable<SvdOptions>;
  static const T kTable({
      T::integer("factors", &SvdOptions::factors, 1, 4096, "latent dimensions (Surprise's defaults)"),
      T::integer("epochs", &SvdOptions::epochs, 0, 100000, "SGD passes over the ratings"),
      T::number("learning_rate", &SvdOptions::learning_rate, 0, 10, "SGD step"),
      T::number("regularization", &SvdOptions::regularization, 0, 100, "L2 on factors and biases"),
      T::number("init_std", &SvdOptions::init_std, 0, 10, "initial factors ~ N(0, init_std²)"),
      T::boolean("biased", &SvdOptions::biased, "learn user and item biases"),
      T::integer("seed", &SvdOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

SvdOptions SvdOptions::defaults(bool plus_plus) {
  SvdOptions o;
  if (plus_plus) {
    o.factors = 20;
    o.learning_rate = 0.007;
  }
  return o;
}

Result<SvdOptions> SvdOptions::from_params(std::string_view owner, const Params& p, bool plus_plus) {
  SvdOptions o = defaults(plus_plus);
  NUDGE_RETURN_IF_ERROR(parameters().read(owner, p, &o));
  return o;
}

Eigen::VectorXf SvdModel::implicit_sum(std::span<const uint32_t> items) const {
  Eigen::VectorXf z = Eigen::VectorXf::Zero(items_.cols());
  if (!plus_plus_ || items.empty()) return z;
  for (uint32_t j : items) z += implicit_.row(j).transpose();
  return z / std::sqrt(static_cast<float>(items.size()));
}

Status SvdModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  const auto& in = train.interactions();
  const Eigen::Index f = options_.factors;
  Rng rng(static_cast<uint64_t>(options_.seed));
  users_ = random_factors(train.num_users(), f, options_.init_std, rng);
  items_ = random_factors(train.num_items(), f, options_.init_std, rng);
  user_bias_ = Eigen::VectorXf::Zero(train.num_users());
  item_bias_ = Eigen::VectorXf::Zero(train.num_items());
  mean_ = in.empty() ? 0.f : static_cast<float>(std::accumulate(in.values.begin(), in.values.end(), 0.0) / in.size());
  if (!options_.biased) mean_ = 0;
  const float lr = static_cast<float>(options_.learning_rate), reg = static_cast<float>(options_.regularization);
  const float bias_on = options_.biased ? 1.f : 0.f;
  if (plus_plus_) {
    implicit_ = random_factors(train.num_items(), f, options_.init_std, rng);
    rated_ = train.user_items();
  }
  // Ratings grouped by user (SVD++ needs each user's ratings together), users visited in a
  // fresh shuffle each epoch, and each user's ratings shuffled too.
  std::vector<std::vector<uint32_t>> rows_of(train.num_users());
  for (uint32_t r = 0; r < in.size(); ++r) rows_of[in.users[r]].push_back(r);
  std::vector<uint32_t> order(train.num_users());
  std::iota(order.begin(), order.end(), 0u);
  Eigen::VectorXf z(f), grad_z(f), pu_old(f);
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    rng.shuffle(order);
    for (uint32_t u : order) {
      auto& rows = rows_of[u];
      if (rows.empty()) continue;
      rng.shuffle(rows);
      const float norm = plus_plus_ ? 1.f / std::sqrt(static_cast<float>(rated_.row_nnz(u))) : 0.f;
      z = implicit_sum(plus_plus_ ? rated_.row_indices(u) : std::span<const uint32_t>{});
      grad_z.setZero();
      auto pu = users_.row(u);
      for (uint32_t r : rows) {
        const uint32_t i = in.items[r];
        auto qi = items_.row(i);
        const float pred = mean_ + user_bias_[u] + item_bias_[i] + qi.dot(pu + z.transpose());
        const float err = in.values[r] - pred;
        user_bias_[u] += bias_on * lr * (err - reg * user_bias_[u]);
        item_bias_[i] += bias_on * lr * (err - reg * item_bias_[i]);
        pu_old = pu.transpose();
        pu += lr * (err * qi - reg * pu);
        qi += lr * (err * (pu_old.transpose() + z.transpose()) - reg * qi);
        if (plus_plus_) grad_z += err * norm * qi.transpose();
      }
      if (plus_plus_) {
        for (uint32_t j : rated_.row_indices(u)) {
          auto yj = implicit_.row(j);
          yj += lr * (grad_z.transpose() - reg * static_cast<float>(rows.size()) * yj);
        }
      }
    }
    if (!epoch_finished(epoch, std::nan(""))) break;
  }
  return Status::ok();
}

void SvdModel::predict_all(const Eigen::VectorXf& user_vector, float user_bias, std::span<float> scores) const {
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  out.noalias() = items_ * user_vector;
  out.array() += item_bias_.array() + (mean_ + user_bias);
}

Eigen::VectorXf SvdModel::user_vector(uint32_t user) const {
  NUDGE_CHECK(user < num_users(), "svd: user index out of range");
  Eigen::VectorXf v = users_.row(user).transpose();
  if (plus_plus_) v += implicit_sum(rated_.row_indices(user));
  return v;
}

void SvdModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  predict_all(user_vector(user), user_bias_[user], scores);
}

void SvdModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  // Rating predictions: mean + b_u + b_i + q_i . p_u; the per-user constant goes in after.
  FactorMatrix block(static_cast<Eigen::Index>(users.size()), items_.cols());
  for (size_t r = 0; r < users.size(); ++r) block.row(static_cast<Eigen::Index>(r)) = user_vector(users[r]).transpose();
  score_by_product(block.data(), users.size(), items_.data(), num_items(), static_cast<size_t>(items_.cols()),
                   item_bias_.data(), scores.data());
  for (size_t r = 0; r < users.size(); ++r) {
    const float shift = mean_ + user_bias_[users[r]];
    for (float& s : scores.subspan(r * num_items(), num_items())) s += shift;
  }
}

void SvdModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                             std::span<float> scores) const {
  check_history_call(items, weights, scores);
  const Eigen::VectorXf z = implicit_sum(items);
  Eigen::VectorXf p = Eigen::VectorXf::Zero(items_.cols());
  float bu = 0;
  const float lr = static_cast<float>(options_.learning_rate), reg = static_cast<float>(options_.regularization);
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    for (size_t k = 0; k < items.size(); ++k) {
      const auto qi = items_.row(items[k]);
      const float err = weights[k] - (mean_ + bu + item_bias_[items[k]] + qi.dot((p + z).transpose()));
      if (options_.biased) bu += lr * (err - reg * bu);
      p += lr * (err * qi.transpose() - reg * p);
    }
  }
  predict_all(p + z, bu, scores);
}

Status SvdModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  cosine_neighbours(items_.data(), num_items(), static_cast<uint32_t>(items_.cols()), item, k, out);
  return Status::ok();
}

void SvdModel::save_state(ModelWriter& out) const {
  out.f32(mean_);
  out.floats(std::span<const float>(user_bias_.data(), static_cast<size_t>(user_bias_.size())));
  out.floats(std::span<const float>(item_bias_.data(), static_cast<size_t>(item_bias_.size())));
  write_factors(out, users_);
  write_factors(out, items_);
  if (plus_plus_) {
    write_factors(out, implicit_);
    out.csr(rated_);
  }
}

Status SvdModel::load_state(ModelReader& in) {
  const std::string n(name());
  NUDGE_RETURN_IF_ERROR(in.f32(&mean_, n + ": mean"));
  std::vector<float> ub, ib;
  NUDGE_RETURN_IF_ERROR(in.floats(&ub, n + ": user biases"));
  NUDGE_RETURN_IF_ERROR(in.floats(&ib, n + ": item biases"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &users_, n + ": user factors"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &items_, n + ": item factors"));
  if (static_cast<size_t>(users_.rows()) != ub.size() || static_cast<size_t>(items_.rows()) != ib.size() ||
      users_.cols() != items_.cols()) {
    return in.corrupt(n + ": factors", "shapes do not agree");
  }
  user_bias_ = Eigen::Map<Eigen::VectorXf>(ub.data(), static_cast<Eigen::Index>(ub.size()));
  item_bias_ = Eigen::Map<Eigen::VectorXf>(ib.data(), static_cast<Eigen::Index>(ib.size()));
  if (plus_plus_) {
    NUDGE_RETURN_IF_ERROR(read_factors(in, &implicit_, n + ": implicit factors"));
    NUDGE_RETURN_IF_ERROR(in.csr(&rated_, n + ": rated items"));
    if (implicit_.rows() != items_.rows() || implicit_.cols() != items_.cols() || rated_.num_rows != users_.rows() ||
        rated_.num_cols != items_.rows()) {
      return in.corrupt(n + ": implicit factors", "shapes do not agree");
    }
  }
  set_shape(static_cast<uint32_t>(users_.rows()), static_cast<uint32_t>(items_.rows()));
  return Status::ok();
}

}  // namespace nudge
