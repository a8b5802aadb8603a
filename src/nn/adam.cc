#include "nudge/nn/adam.h"

namespace nudge::nn {

void Adam::step(float* param, const float* grad, size_t size) {
  NUDGE_ASSERT(size == m_.size());
  ++t_;
  const float c1 = 1.f - std::pow(options_.beta1, static_cast<float>(t_));
  const float c2 = 1.f - std::pow(options_.beta2, static_cast<float>(t_));
  for (size_t k = 0; k < size; ++k) {
    const float g = grad[k] + options_.weight_decay * param[k];
    m_[k] = options_.beta1 * m_[k] + (1.f - options_.beta1) * g;
    v_[k] = options_.beta2 * v_[k] + (1.f - options_.beta2) * g * g;
    param[k] -= options_.learning_rate * (m_[k] / c1) / (std::sqrt(v_[k] / c2) + options_.epsilon);
  }
}

void RowAdam::step_row(size_t row, float* param, const float* grad) {
  const int32_t t = ++t_[row];
  const float c1 = 1.f - std::pow(options_.beta1, static_cast<float>(t));
  const float c2 = 1.f - std::pow(options_.beta2, static_cast<float>(t));
  float* m = m_.data() + row * dim_;
  float* v = v_.data() + row * dim_;
  for (size_t k = 0; k < dim_; ++k) {
    const float g = grad[k] + options_.weight_decay * param[k];
    m[k] = options_.beta1 * m[k] + (1.f - options_.beta1) * g;
    v[k] = options_.beta2 * v[k] + (1.f - options_.beta2) * g * g;
    param[k] -= options_.learning_rate * (m[k] / c1) / (std::sqrt(v[k] / c2) + options_.epsilon);
  }
}

}  // namespace nudge::nn
