#include "nudge/nn/logistic.h"

#include <cmath>

namespace nudge::nn {

double logistic_loss(std::span<const float> w, const std::vector<std::vector<float>>& features,
                     std::span<const float> labels, double l2, std::vector<double>* grad) {
  const size_t dim = w.size();
  if (grad) grad->assign(dim, 0.0);
  double loss = 0;
  for (size_t e = 0; e < features.size(); ++e) {
    double z = 0;
    for (size_t d = 0; d < dim; ++d) z += static_cast<double>(w[d]) * features[e][d];
    const double y = labels[e];
    loss += std::max(z, 0.0) - y * z + std::log1p(std::exp(-std::fabs(z)));
    if (grad) {
      const double err = 1.0 / (1.0 + std::exp(-z)) - y;
      for (size_t d = 0; d < dim; ++d) (*grad)[d] += err * features[e][d];
    }
  }
  const double n = features.empty() ? 1.0 : static_cast<double>(features.size());
  double reg = 0;
  for (size_t d = 0; d < dim; ++d) reg += static_cast<double>(w[d]) * w[d];
  if (grad) {
    for (size_t d = 0; d < dim; ++d) (*grad)[d] = (*grad)[d] / n + l2 * w[d];
  }
  return loss / n + 0.5 * l2 * reg;
}

std::vector<float> fit_logistic(const std::vector<std::vector<float>>& features, std::span<const float> labels,
                                size_t dim, double l2, int iterations, double step) {
  std::vector<float> w(dim, 0.f);
  std::vector<double> velocity(dim, 0.0), grad;
  for (int it = 0; it < iterations; ++it) {
    logistic_loss(w, features, labels, l2, &grad);
    for (size_t d = 0; d < dim; ++d) {
      velocity[d] = 0.9 * velocity[d] + grad[d];
      w[d] -= static_cast<float>(step * velocity[d]);
    }
  }
  return w;
}

}  // namespace nudge::nn
