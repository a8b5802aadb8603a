// Adam (Kingma & Ba 2015) for dense parameters, and a lazy per-row variant for embedding
// tables where a batch touches few rows (rows keep their own step count, like PyTorch's
// SparseAdam). Thread-safety: none (Hogwild callers accept races on purpose).
#pragma once

#include <cmath>
#include <vector>

#include "nudge/check.h"
#include "nudge/nn/layers.h"

namespace nudge::nn {

struct AdamOptions {
  float learning_rate = 0.001f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.f;  // L2 added to the gradient
};

// State for one dense tensor (matrix or vector viewed as flat floats).
class Adam {
 public:
  Adam() = default;
  Adam(size_t size, AdamOptions options) : options_(options), m_(size, 0.f), v_(size, 0.f) {}
  // param -= step(grad); sizes must match the constructor's.
  void step(float* param, const float* grad, size_t size);

 private:
  AdamOptions options_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

// Row-wise Adam for an embedding table (rows x dim).
class RowAdam {
 public:
  RowAdam() = default;
  RowAdam(size_t rows, size_t dim, AdamOptions options)
      : options_(options), dim_(dim), m_(rows * dim, 0.f), v_(rows * dim, 0.f), t_(rows, 0) {}
  void step_row(size_t row, float* param_row, const float* grad_row);
  void set_learning_rate(float rate) { options_.learning_rate = rate; }  // a schedule's step

 private:
  AdamOptions options_;
  size_t dim_ = 0;
  std::vector<float> m_, v_;
  std::vector<int32_t> t_;
};

}  // namespace nudge::nn
