#include "nudge/nn/layers.h"

#include <cmath>

namespace nudge::nn {

Dense::Dense(int in, int out, Rng& rng) : weight(out, in), bias(Vector::Zero(out)) {
  const double limit = std::sqrt(6.0 / (in + out));
  for (Eigen::Index r = 0; r < weight.rows(); ++r) {
    for (Eigen::Index c = 0; c < weight.cols(); ++c) weight(r, c) = static_cast<float>((2 * rng.uniform() - 1) * limit);
  }
}

void linear_forward(const Matrix& x, const float* weight, const float* bias, int out, Matrix* y) {
  const Eigen::Map<const Matrix> w(weight, out, x.cols());
  y->noalias() = x * w.transpose();
  y->rowwise() += Eigen::Map<const Vector>(bias, out).transpose();
}

void linear_backward(const Matrix& x, const Matrix& dy, const float* weight, float* weight_grad, float* bias_grad,
                     Matrix* dx) {
  const Eigen::Index out = dy.cols(), in = x.cols();
  Eigen::Map<Matrix>(weight_grad, out, in).noalias() += dy.transpose() * x;
  Eigen::Map<Vector>(bias_grad, out) += dy.colwise().sum().transpose();
  if (dx) dx->noalias() = dy * Eigen::Map<const Matrix>(weight, out, in);
}

void Dense::forward(const Matrix& x, Matrix* y) const {
  linear_forward(x, weight.data(), bias.data(), static_cast<int>(weight.rows()), y);
}

void Dense::backward(const Matrix& x, const Matrix& dy, DenseGrad* grad, Matrix* dx) const {
  linear_backward(x, dy, weight.data(), grad->weight.data(), grad->bias.data(), dx);
}

void relu(Matrix* z) { *z = z->cwiseMax(0.f); }

void relu_backward(const Matrix& activated, Matrix* dy) { *dy = (activated.array() > 0.f).select(*dy, 0.f); }

double bce_with_logits(const Vector& logits, const Vector& labels, Vector* dlogits) {
  const auto n = static_cast<double>(logits.size());
  double loss = 0;
  dlogits->resize(logits.size());
  for (Eigen::Index k = 0; k < logits.size(); ++k) {
    const double z = logits[k], y = labels[k];
    // log(1 + e^z) - y z, written to avoid overflow for large |z|.
    loss += std::max(z, 0.0) - y * z + std::log1p(std::exp(-std::fabs(z)));
    (*dlogits)[k] = static_cast<float>((1.0 / (1.0 + std::exp(-z)) - y) / n);
  }
  return loss / n;
}

}  // namespace nudge::nn
