#include "nudge/models/ease.h"
#include "nudge/param_table.h"

namespace nudge {

const ParamTable<EaseOptions>& EaseOptions::parameters() {
  using T = ParamTable<EaseOptions>;
  static const T kTable({
      T::number("regularization", &EaseOptions::regularization, 0, 1e12, "λ"),
      T::boolean("binary", &EaseOptions::binary, "use 0/1 instead of weights"),
      T::integer("max_items", &EaseOptions::max_items, 1, 100000, "refuse larger catalogues (memory is items² floats)"),
  });
  return kTable;
}

Result<EaseOptions> EaseOptions::from_params(const Params& p) {
  EaseOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("ease", p, &o));
  return o;
}

Status EaseModel::fit(const Dataset& train) {
  const uint32_t n = train.num_items();
  if (n > options_.max_items) {
    return Status::invalid_argument("ease: " + std::to_string(n) +
                                    " items exceed max_items=" + std::to_string(options_.max_items) +
                                    " (memory grows with items^2; use itemknn or ials, or raise max_items)");
  }
  set_shape(train.num_users(), n);
  history_ = train.user_items();
  if (options_.binary) std::fill(history_.values.begin(), history_.values.end(), 1.f);
  // Gram matrix X^T X accumulated from each user's items (symmetric; both halves filled).
  // Float throughout: two n x n matrices (the factor and B) are the whole footprint.
  Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(n, n);
  for (uint32_t u = 0; u < history_.num_rows; ++u) {
    auto idx = history_.row_indices(u);
    auto val = history_.row_values(u);
    for (size_t a = 0; a < idx.size(); ++a) {
      for (size_t b = 0; b < idx.size(); ++b) gram(idx[a], idx[b]) += val[a] * val[b];
    }
  }
  gram.diagonal().array() += static_cast<float>(options_.regularization);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXf>> llt(gram);  // factorises in place
  if (llt.info() != Eigen::Success) {
    return Status::invalid_argument("ease: Gram matrix is not positive definite (raise regularization)");
  }
  weights_ = FactorMatrix::Identity(n, n);
  llt.solveInPlace(weights_);  // P = (X^T X + lambda I)^-1
  const Eigen::VectorXf diag = weights_.diagonal();
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t j = 0; j < n; ++j) weights_(i, j) = i == j ? 0.f : -weights_(i, j) / diag[j];
  }
  return Status::ok();
}

void EaseModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  score_history(history_.row_indices(user), history_.row_values(user), scores);
}

void EaseModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                              std::span<float> scores) const {
  check_history_call(items, weights, scores);
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  out.setZero();
  for (size_t k = 0; k < items.size(); ++k) {
    const float w = options_.binary ? 1.f : weights[k];
    out.noalias() += w * weights_.row(items[k]).transpose();
  }
}

Status EaseModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  std::vector<float> row(weights_.row(item).data(), weights_.row(item).data() + num_items());
  const uint32_t self[] = {item};
  top_k(row, k, self, out);
  return Status::ok();
}

void EaseModel::save_state(ModelWriter& out) const {
  out.csr(history_);
  write_factors(out, weights_);
}

Status EaseModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(in.csr(&history_, "ease: history"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &weights_, "ease: weights"));
  if (weights_.rows() != history_.num_cols || weights_.cols() != history_.num_cols) {
    return in.corrupt("ease: weights", "shape does not match the item count");
  }
  set_shape(history_.num_rows, history_.num_cols);
  return Status::ok();
}

}  // namespace nudge
