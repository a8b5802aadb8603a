#include "nudge/nn/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nudge/check.h"

namespace nudge::nn {
namespace {

using ConstMap = Eigen::Map<const Matrix>;
using Map = Eigen::Map<Matrix>;

// Rows per chunk of logits: 256 x 54k items is 55 MB.
constexpr Eigen::Index kChunkRows = 256;

// Turns each row of logits into softmax - onehot(target column), times scale; returns the
// summed cross-entropy. -inf logits (masked columns) get probability 0.
double softmax_rows_to_gradient(Matrix* logits, std::span<const uint32_t> target_columns, float scale) {
  double loss = 0;
  for (Eigen::Index r = 0; r < logits->rows(); ++r) {
    auto row = logits->row(r);
    const float top = row.maxCoeff();
    row = (row.array() - top).exp().matrix();
    const double total = row.sum();
    const auto target = static_cast<Eigen::Index>(target_columns[static_cast<size_t>(r)]);
    loss += std::log(total) - std::log(std::max(static_cast<double>(row[target]), 1e-300));
    row *= static_cast<float>(scale / total);
    row[target] -= scale;
  }
  return loss;
}

}  // namespace

double full_softmax_loss(const Matrix& h, const float* items, uint32_t num_items, std::span<const uint32_t> targets,
                         float scale, Matrix* dh, float* item_grad) {
  NUDGE_CHECK(targets.size() == static_cast<size_t>(h.rows()), "full_softmax_loss: one target per row");
  const Eigen::Index d = h.cols();
  const ConstMap e(items, num_items, d);
  Map grad(item_grad, num_items, d);
  dh->resize(h.rows(), d);
  Matrix logits;
  double loss = 0;
  for (Eigen::Index start = 0; start < h.rows(); start += kChunkRows) {
    const Eigen::Index rows = std::min(kChunkRows, h.rows() - start);
    const auto hc = h.middleRows(start, rows);
    logits.noalias() = hc * e.transpose();
    loss += softmax_rows_to_gradient(&logits, targets.subspan(static_cast<size_t>(start), static_cast<size_t>(rows)),
                                     scale);
    dh->middleRows(start, rows).noalias() = logits * e;
    grad.noalias() += logits.transpose() * hc;
  }
  return loss;
}

double sampled_softmax_loss(const Matrix& h, const float* items, std::span<const uint32_t> targets,
                            std::span<const uint32_t> negatives, std::span<const float> log_q, float scale, Matrix* dh,
                            float* item_grad) {
  NUDGE_CHECK(targets.size() == static_cast<size_t>(h.rows()), "sampled_softmax_loss: one target per row");
  const Eigen::Index d = h.cols();
  const auto s = static_cast<Eigen::Index>(negatives.size());
  Matrix negative_rows(s, d);
  Vector negative_log_q(s);
  for (Eigen::Index j = 0; j < s; ++j) {
    const uint32_t item = negatives[static_cast<size_t>(j)];
    negative_rows.row(j) = ConstMap(items + static_cast<size_t>(item) * d, 1, d);
    negative_log_q[j] = log_q[item];
  }
  dh->resize(h.rows(), d);
  Matrix logits, negative_grad = Matrix::Zero(s, d);
  std::vector<uint32_t> column_zero;
  double loss = 0;
  for (Eigen::Index start = 0; start < h.rows(); start += kChunkRows) {
    const Eigen::Index rows = std::min(kChunkRows, h.rows() - start);
    const auto hc = h.middleRows(start, rows);
    logits.resize(rows, s + 1);
    logits.rightCols(s).noalias() = hc * negative_rows.transpose();
    logits.rightCols(s).rowwise() -= negative_log_q.transpose();
    for (Eigen::Index r = 0; r < rows; ++r) {
      const uint32_t target = targets[static_cast<size_t>(start + r)];
      logits(r, 0) = hc.row(r).dot(ConstMap(items + static_cast<size_t>(target) * d, 1, d).row(0)) - log_q[target];
      for (Eigen::Index j = 0; j < s; ++j)
        if (negatives[static_cast<size_t>(j)] == target) logits(r, j + 1) = -std::numeric_limits<float>::infinity();
    }
    column_zero.assign(static_cast<size_t>(rows), 0);
    loss += softmax_rows_to_gradient(&logits, column_zero, scale);
    dh->middleRows(start, rows).noalias() = logits.rightCols(s) * negative_rows;
    negative_grad.noalias() += logits.rightCols(s).transpose() * hc;
    for (Eigen::Index r = 0; r < rows; ++r) {
      const uint32_t target = targets[static_cast<size_t>(start + r)];
      Map target_grad(item_grad + static_cast<size_t>(target) * d, 1, d);
      const ConstMap target_row(items + static_cast<size_t>(target) * d, 1, d);
      dh->row(start + r) += logits(r, 0) * target_row;
      target_grad += logits(r, 0) * hc.row(r);
    }
  }
  for (Eigen::Index j = 0; j < s; ++j)
    Map(item_grad + static_cast<size_t>(negatives[static_cast<size_t>(j)]) * d, 1, d) += negative_grad.row(j);
  return loss;
}

}  // namespace nudge::nn
