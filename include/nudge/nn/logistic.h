// Logistic regression on dense features: the learned-fusion (stacking) layer.
#pragma once

#include <span>
#include <vector>

namespace nudge::nn {

// Mean log loss of sigmoid(w . x) against 0/1 labels plus (l2 / 2) |w|^2; fills *grad
// (same size as w) when not null. `features` holds one row of w.size() values per example.
double logistic_loss(std::span<const float> w, const std::vector<std::vector<float>>& features,
                     std::span<const float> labels, double l2, std::vector<double>* grad);

// Fits w (resized to `dim`, started at 0) by full-batch gradient descent with momentum.
std::vector<float> fit_logistic(const std::vector<std::vector<float>>& features, std::span<const float> labels,
                                size_t dim, double l2 = 1e-4, int iterations = 300, double step = 0.5);

}  // namespace nudge::nn
