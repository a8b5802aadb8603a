#include "nudge/models/ials.h"
#include "nudge/param_table.h"

#include <cmath>

#include "nudge/check.h"
#include "nudge/parallel.h"
#include "nudge/progress.h"

namespace nudge {

const ParamTable<IalsOptions>& IalsOptions::parameters() {
  using T = ParamTable<IalsOptions>;
  static const T kTable({
      T::integer("factors", &IalsOptions::factors, 1, 4096, "latent dimensions"),
      T::integer("iterations", &IalsOptions::iterations, 0, 10000, "alternating sweeps"),
      T::number("regularization", &IalsOptions::regularization, 0, 1e9, "λ"),
      T::number("reg_exponent", &IalsOptions::reg_exponent, 0, 2,
                "λ_u = λ (1 + n_u)^ν; 1 = frequency scaling (Rendle et al. 2021)"),
      T::number("alpha", &IalsOptions::alpha, 0, 1e9, "confidence 1 + α·weight"),
      T::integer("cg_steps", &IalsOptions::cg_steps, 0, 100, "conjugate-gradient steps per row (0 = exact Cholesky)"),
      T::number("init_scale", &IalsOptions::init_scale, 0, 10, "initial factors ~ N(0, init_scale²)"),
      T::integer("threads", &IalsOptions::threads, 0, 1024, "0 = all cores"),
      T::integer("seed", &IalsOptions::seed, 0, INT64_MAX, "random seed"),
      T::boolean("training_loss", &IalsOptions::training_loss,
                 "the loss after each sweep, per unit of confidence (an extra pass over the events; implicit's "
                 "calculate_training_loss)"),
  });
  return kTable;
}

Result<IalsOptions> IalsOptions::from_params(const Params& p) {
  IalsOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("ials", p, &o));
  return o;
}

namespace {

float row_lambda(const IalsOptions& o, uint32_t nnz) {
  return static_cast<float>(o.regularization * std::pow(1.0 + nnz, o.reg_exponent));
}

}  // namespace

// For one row: A = G + lambda I + sum_i (c_i - 1) y_i y_i^T,  b = sum_i c_i y_i.
void IalsModel::solve_side(const CsrMatrix& rows, const FactorMatrix& fixed, FactorMatrix* solved) const {
  solve_rows(rows, 0, rows.num_rows, fixed, (fixed.transpose() * fixed).eval(), solved);
}

void IalsModel::solve_rows(const CsrMatrix& rows, uint32_t first, uint32_t last, const FactorMatrix& fixed,
                           const Eigen::MatrixXf& gram, FactorMatrix* solved) const {
  NUDGE_CHECK(first <= last && last <= rows.num_rows && solved->rows() == rows.num_rows &&
                  gram.rows() == fixed.cols() && gram.cols() == fixed.cols(),
              "ials: solve_rows with mismatched shapes");
  const Eigen::Index f = fixed.cols();
  const float alpha = static_cast<float>(options_.alpha);
  parallel_for(
      last - first, static_cast<int>(options_.threads),
      [&](size_t begin, size_t end, int) {
        Eigen::VectorXf r(f), p(f), ap(f), b(f);
        Eigen::MatrixXf a(f, f);
        for (size_t row = first + begin; row < first + end; ++row) {
          auto idx = rows.row_indices(static_cast<uint32_t>(row));
          auto val = rows.row_values(static_cast<uint32_t>(row));
          auto x = solved->row(static_cast<Eigen::Index>(row));
          const float lambda = row_lambda(options_, static_cast<uint32_t>(idx.size()));
          if (idx.empty()) {
            x.setZero();
            continue;
          }
          if (options_.cg_steps == 0) {
            a = gram;
            a.diagonal().array() += lambda;
            b.setZero();
            for (size_t k = 0; k < idx.size(); ++k) {
              const auto y = fixed.row(idx[k]);
              const float c = 1.f + alpha * val[k];
              a.noalias() += (c - 1.f) * y.transpose() * y;
              b.noalias() += c * y.transpose();
            }
            x = a.ldlt().solve(b).transpose();
            continue;
          }
          // r = b - A x, computed without forming A.
          r.noalias() = -(gram * x.transpose());
          r -= lambda * x.transpose();
          for (size_t k = 0; k < idx.size(); ++k) {
            const auto y = fixed.row(idx[k]);
            const float c = 1.f + alpha * val[k];
            r.noalias() += (c - (c - 1.f) * y.dot(x)) * y.transpose();
          }
          p = r;
          float rs_old = r.squaredNorm();
          for (int64_t step = 0; step < options_.cg_steps && rs_old > 1e-20f; ++step) {
            ap.noalias() = gram * p;
            ap += lambda * p;
            for (size_t k = 0; k < idx.size(); ++k) {
              const auto y = fixed.row(idx[k]);
              const float c = 1.f + alpha * val[k];
              ap.noalias() += ((c - 1.f) * y.dot(p)) * y.transpose();
            }
            const float step_size = rs_old / p.dot(ap);
            x += step_size * p.transpose();
            r -= step_size * ap;
            const float rs_new = r.squaredNorm();
            p = r + (rs_new / rs_old) * p;
            rs_old = rs_new;
          }
        }
      },
      64);
}

Status IalsModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  Rng rng(static_cast<uint64_t>(options_.seed));
  users_ = random_factors(train.num_users(), options_.factors, options_.init_scale, rng);
  items_ = random_factors(train.num_items(), options_.factors, options_.init_scale, rng);
  losses_.clear();
  return fit_more(train, options_.iterations);
}

Status IalsModel::fit_warm(const Dataset& train) {
  if (users_.rows() != train.num_users() || items_.rows() != train.num_items()) return fit(train);
  // Alternating least squares from factors that already fit most of the data converges in a
  // few sweeps; the user side is solved first, from the item factors.
  return fit_more(train, std::max<int64_t>(2, options_.iterations / 5));
}

Status IalsModel::fit_more(const Dataset& train, int64_t iterations) {
  NUDGE_CHECK(users_.rows() == train.num_users() && items_.rows() == train.num_items(),
              "ials: fit_more on a dataset of another shape");
  const CsrMatrix& ui = train.user_items();
  const CsrMatrix& iu = train.item_users();
  // What the loss is divided by: every pair's confidence, 1 for each unobserved one.
  double confidence = 1.0;
  if (options_.training_loss) {
    confidence = static_cast<double>(train.num_users()) * train.num_items() - static_cast<double>(ui.nnz());
    for (float w : ui.values) confidence += 1.0 + options_.alpha * w;
    confidence = std::max(confidence, 1.0);
  }
  Progress progress("ials iterations", static_cast<uint64_t>(iterations));
  for (int64_t it = 0; it < iterations; ++it) {
    solve_side(ui, items_, &users_);
    solve_side(iu, users_, &items_);
    progress.advance();
    double sweep_loss = std::nan("");
    if (options_.training_loss) {
      sweep_loss = loss(train) / confidence;
      losses_.push_back(sweep_loss);
    }
    if (!epoch_finished(it, sweep_loss)) break;
  }
  gram_ = items_.transpose() * items_;
  return Status::ok();
}

double IalsModel::loss(const Dataset& train) const {
  const CsrMatrix& ui = train.user_items();
  const Eigen::MatrixXf gram = items_.transpose() * items_;
  double total = 0;
  for (uint32_t u = 0; u < ui.num_rows; ++u) {
    const auto x = users_.row(u);
    // Every pair as if unobserved (c = 1, p = 0), then corrected for the observed ones.
    total += static_cast<double>(x * gram * x.transpose());
    auto idx = ui.row_indices(u);
    auto val = ui.row_values(u);
    for (size_t k = 0; k < idx.size(); ++k) {
      const double s = x.dot(items_.row(idx[k]));
      const double c = 1.0 + options_.alpha * val[k];
      total += c * (1 - s) * (1 - s) - s * s;
    }
    total += row_lambda(options_, static_cast<uint32_t>(idx.size())) * x.squaredNorm();
  }
  const CsrMatrix& iu = train.item_users();
  for (uint32_t i = 0; i < iu.num_rows; ++i) {
    total += row_lambda(options_, iu.row_nnz(i)) * items_.row(i).squaredNorm();
  }
  return total;
}

Eigen::VectorXf IalsModel::fold_in(std::span<const uint32_t> items, std::span<const float> weights) const {
  return fold_in(items, weights, gram_);
}

Eigen::VectorXf IalsModel::fold_in(std::span<const uint32_t> items, std::span<const float> weights,
                                   const Eigen::MatrixXf& gram) const {
  const Eigen::Index f = items_.cols();
  NUDGE_CHECK(gram.rows() == f && gram.cols() == f, "ials: fold_in with a Gram matrix of the wrong size");
  const auto n = static_cast<Eigen::Index>(items.size());
  if (n == 0) return Eigen::VectorXf::Zero(f);
  // In double: A's condition number reaches 1e5 with little regularisation, and float
  // sums of its n rank-one terms then move scores by ~1e-4 of their size. The history's
  // rows go through one small product: 21.6 us for 50 items x 64 factors against 26.5 us for
  // float's rank-one loop (BM_IalsFoldIn50).
  Eigen::MatrixXd y(n, f);
  Eigen::VectorXd c(n);
  const double alpha = options_.alpha;
  for (Eigen::Index k = 0; k < n; ++k) {
    y.row(k) = items_.row(items[static_cast<size_t>(k)]).cast<double>();
    c[k] = 1.0 + alpha * weights[static_cast<size_t>(k)];
  }
  Eigen::MatrixXd a = gram.cast<double>();
  a.diagonal().array() += row_lambda(options_, static_cast<uint32_t>(n));
  a.noalias() += y.transpose() * (c.array() - 1.0).matrix().asDiagonal() * y;
  const Eigen::VectorXd b = y.transpose() * c;
  return a.ldlt().solve(b).cast<float>();
}

void IalsModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  Eigen::Map<Eigen::VectorXf>(scores.data(), static_cast<Eigen::Index>(scores.size())).noalias() =
      items_ * users_.row(user).transpose();
}

void IalsModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  const FactorMatrix block = gather_rows(users_, users);
  score_by_product(block.data(), users.size(), items_.data(), num_items(), static_cast<size_t>(items_.cols()), nullptr,
                   scores.data());
}

void IalsModel::score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const {
  NUDGE_CHECK(user < num_users() && items.size() == out.size(), "ials: bad score_user_items call");
  for (size_t k = 0; k < items.size(); ++k) {
    NUDGE_CHECK(items[k] < num_items(), "ials: item index out of range");
    out[k] = items_.row(items[k]).dot(users_.row(user));
  }
}

void IalsModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                              std::span<float> scores) const {
  check_history_call(items, weights, scores);
  const Eigen::VectorXf x = fold_in(items, weights);
  Eigen::Map<Eigen::VectorXf>(scores.data(), static_cast<Eigen::Index>(scores.size())).noalias() = items_ * x;
}

bool IalsModel::history_vector(const UserHistory& history, std::span<float> user) const {
  NUDGE_CHECK(user.size() == static_cast<size_t>(items_.cols()), "ials: history_vector of the wrong size");
  Eigen::Map<Eigen::VectorXf>(user.data(), items_.cols()) = fold_in(history.items, history.weights);
  return true;
}

Status IalsModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  cosine_neighbours(items_.data(), num_items(), static_cast<uint32_t>(items_.cols()), item, k, out);
  return Status::ok();
}

void IalsModel::set_factors(FactorMatrix users, FactorMatrix items) {
  NUDGE_CHECK(users.cols() == items.cols(), "ials: set_factors with different factor counts");
  users_ = std::move(users);
  items_ = std::move(items);
  gram_ = items_.transpose() * items_;
  set_shape(static_cast<uint32_t>(users_.rows()), static_cast<uint32_t>(items_.rows()));
}

void IalsModel::save_state(ModelWriter& out) const {
  write_factors(out, users_);
  write_factors(out, items_);
}

Status IalsModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(read_factors(in, &users_, "ials: user factors"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &items_, "ials: item factors"));
  if (users_.cols() != items_.cols()) return in.corrupt("ials: item factors", "factor count differs from the users'");
  gram_ = items_.transpose() * items_;
  set_shape(static_cast<uint32_t>(users_.rows()), static_cast<uint32_t>(items_.rows()));
  return Status::ok();
}

}  // namespace nudge
