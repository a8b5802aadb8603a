#include "sasrec_network.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "nudge/check.h"

namespace nudge {
namespace {

using nn::Matrix;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;
using Row = Eigen::Map<Eigen::RowVectorXf>;

void dropout_mask(Eigen::Index rows, Eigen::Index cols, float p, Rng* rng, Matrix* mask) {
  mask->resize(rows, cols);
  if (!rng || p <= 0) {
    mask->setOnes();
    return;
  }
  const float keep = 1.f / (1.f - p);
  for (Eigen::Index i = 0; i < mask->size(); ++i) mask->data()[i] = rng->uniform() < p ? 0.f : keep;
}

}  // namespace

SasrecNetwork::SasrecNetwork(SasrecShape shape) : shape_(shape) {
  NUDGE_CHECK(shape.factors > 0 && shape.blocks >= 0 && shape.heads > 0 && shape.factors % shape.heads == 0 &&
                  shape.max_length > 0,
              "sasrec: bad network shape");
  const auto d = static_cast<size_t>(shape.factors);
  size_t at = 0;
  auto take = [&](size_t n) { return std::exchange(at, at + n); };
  positions_ = take(static_cast<size_t>(shape.max_length) * d);
  for (int b = 0; b < shape.blocks; ++b) {
    BlockLayout l{};
    l.norm1_gain = take(d), l.norm1_bias = take(d);
    l.wq = take(d * d), l.bq = take(d), l.wk = take(d * d), l.bk = take(d);
    l.wv = take(d * d), l.bv = take(d), l.wo = take(d * d), l.bo = take(d);
    l.norm2_gain = take(d), l.norm2_bias = take(d);
    l.w1 = take(d * d), l.b1 = take(d), l.w2 = take(d * d), l.b2 = take(d);
    blocks_.push_back(l);
  }
  final_gain_ = take(d), final_bias_ = take(d);
  size_ = at;
}

void SasrecNetwork::initialise(Rng& rng, float* w) const {
  const auto d = static_cast<size_t>(shape_.factors);
  std::fill(w, w + size_, 0.f);
  auto glorot = [&](size_t at, size_t n, double fan) {
    const double limit = std::sqrt(6.0 / fan);
    for (size_t k = 0; k < n; ++k) w[at + k] = static_cast<float>((2 * rng.uniform() - 1) * limit);
  };
  auto ones = [&](size_t at) { std::fill(w + at, w + at + d, 1.f); };
  for (size_t k = 0; k < static_cast<size_t>(shape_.max_length) * d; ++k)
    w[positions_ + k] = static_cast<float>(0.1 * rng.normal());
  for (const BlockLayout& b : blocks_) {
    ones(b.norm1_gain), ones(b.norm2_gain);
    for (size_t m : {b.wq, b.wk, b.wv, b.wo, b.w1, b.w2}) glorot(m, d * d, 2.0 * static_cast<double>(d));
  }
  ones(final_gain_);
}

nn::AttentionWeights SasrecNetwork::attention_weights(const float* w, const BlockLayout& b) const {
  return {w + b.wq, w + b.bq, w + b.wk, w + b.bk, w + b.wv, w + b.bv, w + b.wo, w + b.bo};
}

nn::AttentionGrads SasrecNetwork::attention_grads(float* g, const BlockLayout& b) const {
  return {g + b.wq, g + b.bq, g + b.wk, g + b.bk, g + b.wv, g + b.bv, g + b.wo, g + b.bo};
}

void SasrecNetwork::forward(const float* weights, const float* item_table, std::span<const uint32_t> sequence,
                            float dropout, Rng* rng, Cache* cache, Matrix* out) const {
  const int d = shape_.factors;
  const auto t_len = static_cast<Eigen::Index>(sequence.size());
  NUDGE_CHECK(t_len > 0 && t_len <= shape_.max_length, "sasrec: sequence length out of range");
  const float input_scale = std::sqrt(static_cast<float>(d));
  Matrix x(t_len, d);
  for (Eigen::Index t = 0; t < t_len; ++t) {
    const size_t back = static_cast<size_t>(t_len - 1 - t);  // positions count back from the newest
    x.row(t) = input_scale * ConstRow(item_table + static_cast<size_t>(sequence[static_cast<size_t>(t)]) * d, d) +
               ConstRow(weights + positions_ + back * static_cast<size_t>(d), d);
  }
  dropout_mask(t_len, d, dropout, rng, &cache->input_mask);
  x.array() *= cache->input_mask.array();
  cache->blocks.resize(blocks_.size());
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const BlockLayout& l = blocks_[b];
    BlockCache& c = cache->blocks[b];
    c.input = x;
    nn::layer_norm_forward(c.input, weights + l.norm1_gain, weights + l.norm1_bias, &c.attention_in, &c.norm1);
    nn::causal_attention_forward(c.attention_in, shape_.heads, attention_weights(weights, l), &c.attention_out,
                                 &c.attention);
    dropout_mask(t_len, d, dropout, rng, &c.attention_mask);
    c.residual = c.input + (c.attention_out.array() * c.attention_mask.array()).matrix();
    nn::layer_norm_forward(c.residual, weights + l.norm2_gain, weights + l.norm2_bias, &c.feed_in, &c.norm2);
    nn::linear_forward(c.feed_in, weights + l.w1, weights + l.b1, d, &c.hidden);
    nn::relu(&c.hidden);
    Matrix feed;
    nn::linear_forward(c.hidden, weights + l.w2, weights + l.b2, d, &feed);
    dropout_mask(t_len, d, dropout, rng, &c.feed_mask);
    x = c.residual + (feed.array() * c.feed_mask.array()).matrix();
  }
  cache->last = std::move(x);
  nn::layer_norm_forward(cache->last, weights + final_gain_, weights + final_bias_, out, &cache->final_norm);
}

void SasrecNetwork::backward(const float* weights, std::span<const uint32_t> sequence, const Cache& cache,
                             const Matrix& dout, float* weight_grad, float* item_grad) const {
  const int d = shape_.factors;
  const auto t_len = static_cast<Eigen::Index>(sequence.size());
  Matrix dx, dfeed, dhidden, dnorm, dres, datt;
  nn::layer_norm_backward(dout, weights + final_gain_, cache.final_norm, weight_grad + final_gain_,
                          weight_grad + final_bias_, &dx);
  for (size_t b = blocks_.size(); b-- > 0;) {
    const BlockLayout& l = blocks_[b];
    const BlockCache& c = cache.blocks[b];
    // x_out = residual + mask * feed(norm2(residual))
    dfeed = (dx.array() * c.feed_mask.array()).matrix();
    nn::linear_backward(c.hidden, dfeed, weights + l.w2, weight_grad + l.w2, weight_grad + l.b2, &dhidden);
    nn::relu_backward(c.hidden, &dhidden);
    nn::linear_backward(c.feed_in, dhidden, weights + l.w1, weight_grad + l.w1, weight_grad + l.b1, &dnorm);
    nn::layer_norm_backward(dnorm, weights + l.norm2_gain, c.norm2, weight_grad + l.norm2_gain,
                            weight_grad + l.norm2_bias, &dres);
    dres += dx;
    // residual = input + mask * attention(norm1(input))
    datt = (dres.array() * c.attention_mask.array()).matrix();
    nn::causal_attention_backward(c.attention_in, datt, shape_.heads, attention_weights(weights, l), c.attention,
                                  attention_grads(weight_grad, l), &dnorm);
    nn::layer_norm_backward(dnorm, weights + l.norm1_gain, c.norm1, weight_grad + l.norm1_gain,
                            weight_grad + l.norm1_bias, &dx);
    dx += dres;
  }
  dx.array() *= cache.input_mask.array();
  const float input_scale = std::sqrt(static_cast<float>(d));
  for (Eigen::Index t = 0; t < t_len; ++t) {
    const size_t back = static_cast<size_t>(t_len - 1 - t);
    Row(item_grad + static_cast<size_t>(sequence[static_cast<size_t>(t)]) * d, d) += input_scale * dx.row(t);
    Row(weight_grad + positions_ + back * static_cast<size_t>(d), d) += dx.row(t);
  }
}

std::vector<float> SasrecNetwork::last_attention(const Cache& cache) {
  std::vector<float> out;
  if (cache.blocks.empty()) return out;
  const auto& heads = cache.blocks.back().attention.weights;
  const Eigen::Index last = heads.front().rows() - 1;
  out.assign(static_cast<size_t>(last + 1), 0.f);
  for (const Matrix& a : heads)
    for (Eigen::Index t = 0; t <= last; ++t) out[static_cast<size_t>(t)] += a(last, t);
  return out;
}

}  // namespace nudge
