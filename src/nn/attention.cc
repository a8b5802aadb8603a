#include "nudge/nn/attention.h"

#include <cmath>

#include "nudge/check.h"

namespace nudge::nn {
namespace {

using ConstVec = Eigen::Map<const Vector>;
using VecMap = Eigen::Map<Vector>;

constexpr float kLayerNormEpsilon = 1e-5f;

}  // namespace

void layer_norm_forward(const Matrix& x, const float* gain, const float* bias, Matrix* y, LayerNormCache* cache) {
  const Eigen::Index d = x.cols();
  cache->normalized.resize(x.rows(), d);
  cache->inv_std.resize(x.rows());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const float mean = x.row(r).mean();
    const auto centred = x.row(r).array() - mean;
    const float inv = 1.f / std::sqrt(centred.square().mean() + kLayerNormEpsilon);
    cache->inv_std[r] = inv;
    cache->normalized.row(r) = centred * inv;
  }
  y->resize(x.rows(), d);
  y->array() = (cache->normalized.array().rowwise() * ConstVec(gain, d).transpose().array()).rowwise() +
               ConstVec(bias, d).transpose().array();
}

void layer_norm_backward(const Matrix& dy, const float* gain, const LayerNormCache& cache, float* gain_grad,
                         float* bias_grad, Matrix* dx) {
  const Eigen::Index d = dy.cols();
  VecMap(gain_grad, d) += (dy.array() * cache.normalized.array()).colwise().sum().transpose().matrix();
  VecMap(bias_grad, d) += dy.colwise().sum().transpose();
  const Matrix dnorm = (dy.array().rowwise() * ConstVec(gain, d).transpose().array()).matrix();
  dx->resize(dy.rows(), d);
  for (Eigen::Index r = 0; r < dy.rows(); ++r) {
    const float mean_d = dnorm.row(r).mean();
    const float mean_dn = dnorm.row(r).dot(cache.normalized.row(r)) / static_cast<float>(d);
    dx->row(r) = cache.inv_std[r] * (dnorm.row(r).array() - mean_d - cache.normalized.row(r).array() * mean_dn);
  }
}

void causal_attention_forward(const Matrix& x, int heads, const AttentionWeights& w, Matrix* y, AttentionCache* cache) {
  const Eigen::Index t_len = x.rows(), d = x.cols();
  NUDGE_CHECK(heads > 0 && d % heads == 0, "attention: the width must split evenly into heads");
  const auto dh = d / heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  linear_forward(x, w.wq, w.bq, static_cast<int>(d), &cache->q);
  linear_forward(x, w.wk, w.bk, static_cast<int>(d), &cache->k);
  linear_forward(x, w.wv, w.bv, static_cast<int>(d), &cache->v);
  cache->weights.resize(static_cast<size_t>(heads));
  cache->context.resize(t_len, d);
  for (int h = 0; h < heads; ++h) {
    Matrix& a = cache->weights[static_cast<size_t>(h)];
    a.noalias() = (cache->q.middleCols(h * dh, dh) * cache->k.middleCols(h * dh, dh).transpose()) * scale;
    for (Eigen::Index r = 0; r < t_len; ++r) {
      auto row = a.row(r);
      const float top = row.head(r + 1).maxCoeff();
      row.head(r + 1) = (row.head(r + 1).array() - top).exp().matrix();
      row.head(r + 1) /= row.head(r + 1).sum();
      row.tail(t_len - r - 1).setZero();
    }
    cache->context.middleCols(h * dh, dh).noalias() = a * cache->v.middleCols(h * dh, dh);
  }
  linear_forward(cache->context, w.wo, w.bo, static_cast<int>(d), y);
}

void causal_attention_backward(const Matrix& x, const Matrix& dy, int heads, const AttentionWeights& w,
                               const AttentionCache& cache, const AttentionGrads& g, Matrix* dx) {
  const Eigen::Index t_len = x.rows(), d = x.cols();
  const auto dh = d / heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(dh));
  Matrix dcontext;
  linear_backward(cache.context, dy, w.wo, g.wo, g.bo, &dcontext);
  Matrix dq(t_len, d), dk(t_len, d), dv(t_len, d), da, ds;
  for (int h = 0; h < heads; ++h) {
    const Matrix& a = cache.weights[static_cast<size_t>(h)];
    const auto dc = dcontext.middleCols(h * dh, dh);
    dv.middleCols(h * dh, dh).noalias() = a.transpose() * dc;
    da.noalias() = dc * cache.v.middleCols(h * dh, dh).transpose();
    // Softmax backward per row: ds = a * (da - sum(da * a)); zero above the diagonal as a is.
    const Vector row_dot = (da.array() * a.array()).rowwise().sum();
    ds = (a.array() * (da.array().colwise() - row_dot.array())).matrix() * scale;
    dq.middleCols(h * dh, dh).noalias() = ds * cache.k.middleCols(h * dh, dh);
    dk.middleCols(h * dh, dh).noalias() = ds.transpose() * cache.q.middleCols(h * dh, dh);
  }
  Matrix dxq, dxk, dxv;
  linear_backward(x, dq, w.wq, g.wq, g.bq, &dxq);
  linear_backward(x, dk, w.wk, g.wk, g.bk, &dxk);
  linear_backward(x, dv, w.wv, g.wv, g.bv, &dxv);
  *dx = dxq + dxk + dxv;
}

}  // namespace nudge::nn
