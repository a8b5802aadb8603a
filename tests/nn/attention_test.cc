// Finite-difference checks of the transformer blocks' backward passes (docs/style.md, practice 7).
#include "nudge/nn/attention.h"

#include <gtest/gtest.h>

#include <functional>

#include "test_util.h"

namespace nudge::nn {
namespace {

using nudge::testing::numeric_gradient;

void fill_normal(float* p, size_t n, Rng& rng, double scale = 1.0) {
  for (size_t k = 0; k < n; ++k) p[k] = static_cast<float>(scale * rng.normal());
}

Matrix random_matrix(Eigen::Index r, Eigen::Index c, Rng& rng) {
  Matrix m(r, c);
  fill_normal(m.data(), static_cast<size_t>(m.size()), rng);
  return m;
}

// Compares analytic gradients with central differences of `loss` at every coordinate.
void expect_gradient(float* values, const float* analytic, size_t n, const std::function<double()>& loss,
                     const char* what) {
  for (size_t k = 0; k < n; ++k) {
    const double num = numeric_gradient(&values[k], loss);
    EXPECT_NEAR(analytic[k], num, 5e-3 + 1e-2 * std::abs(num)) << what << " [" << k << "]";
  }
}

TEST(AttentionTest, LinearMatchesFiniteDifferences) {
  Rng rng(1);
  Matrix x = random_matrix(3, 4, rng);
  std::vector<float> w(5 * 4), b(5), gw(w.size(), 0.f), gb(5, 0.f);
  fill_normal(w.data(), w.size(), rng), fill_normal(b.data(), b.size(), rng);
  const Matrix r = random_matrix(3, 5, rng);
  auto loss = [&] {
    Matrix y;
    linear_forward(x, w.data(), b.data(), 5, &y);
    return static_cast<double>((y.array() * r.array()).sum());
  };
  Matrix dx;
  linear_backward(x, r, w.data(), gw.data(), gb.data(), &dx);
  expect_gradient(w.data(), gw.data(), w.size(), loss, "weight");
  expect_gradient(b.data(), gb.data(), b.size(), loss, "bias");
  expect_gradient(x.data(), dx.data(), static_cast<size_t>(x.size()), loss, "x");
}

TEST(AttentionTest, LayerNormMatchesFiniteDifferencesAndNormalises) {
  Rng rng(2);
  Matrix x = random_matrix(4, 6, rng);
  std::vector<float> gain(6), bias(6), gg(6, 0.f), gb(6, 0.f);
  fill_normal(gain.data(), 6, rng), fill_normal(bias.data(), 6, rng);
  const Matrix r = random_matrix(4, 6, rng);
  LayerNormCache cache;
  auto loss = [&] {
    Matrix y;
    LayerNormCache c;
    layer_norm_forward(x, gain.data(), bias.data(), &y, &c);
    return static_cast<double>((y.array() * r.array()).sum());
  };
  Matrix y, dx;
  layer_norm_forward(x, gain.data(), bias.data(), &y, &cache);
  for (Eigen::Index row = 0; row < 4; ++row) {
    EXPECT_NEAR(cache.normalized.row(row).mean(), 0.f, 1e-5);
    EXPECT_NEAR(cache.normalized.row(row).squaredNorm() / 6.f, 1.f, 1e-3);
  }
  layer_norm_backward(r, gain.data(), cache, gg.data(), gb.data(), &dx);
  expect_gradient(gain.data(), gg.data(), 6, loss, "gain");
  expect_gradient(bias.data(), gb.data(), 6, loss, "bias");
  expect_gradient(x.data(), dx.data(), static_cast<size_t>(x.size()), loss, "x");
}

struct AttentionParams {
  std::vector<float> values, grads;
  explicit AttentionParams(int d, Rng& rng) : values(4 * (d * d + d)), grads(values.size(), 0.f) {
    fill_normal(values.data(), values.size(), rng, 0.5);
  }
  AttentionWeights weights(int d) const {
    const float* p = values.data();
    const auto s = static_cast<size_t>(d * d + d);
    return {p, p + d * d, p + s, p + s + d * d, p + 2 * s, p + 2 * s + d * d, p + 3 * s, p + 3 * s + d * d};
  }
  AttentionGrads grad_views(int d) {
    float* p = grads.data();
    const auto s = static_cast<size_t>(d * d + d);
    return {p, p + d * d, p + s, p + s + d * d, p + 2 * s, p + 2 * s + d * d, p + 3 * s, p + 3 * s + d * d};
  }
};

TEST(AttentionTest, CausalMultiHeadAttentionMatchesFiniteDifferences) {
  for (const int heads : {1, 2}) {
    SCOPED_TRACE(heads);
    Rng rng(3);
    const int d = 4;
    Matrix x = random_matrix(5, d, rng);
    AttentionParams p(d, rng);
    const Matrix r = random_matrix(5, d, rng);
    auto loss = [&] {
      Matrix y;
      AttentionCache c;
      causal_attention_forward(x, heads, p.weights(d), &y, &c);
      return static_cast<double>((y.array() * r.array()).sum());
    };
    Matrix y, dx;
    AttentionCache cache;
    causal_attention_forward(x, heads, p.weights(d), &y, &cache);
    causal_attention_backward(x, r, heads, p.weights(d), cache, p.grad_views(d), &dx);
    expect_gradient(p.values.data(), p.grads.data(), p.values.size(), loss, "parameters");
    expect_gradient(x.data(), dx.data(), static_cast<size_t>(x.size()), loss, "x");
  }
}

// Position t sees only positions 0..t: changing a later input leaves earlier outputs alone,
// and each head's weights are a distribution over the past.
TEST(AttentionTest, AttentionIsCausal) {
  Rng rng(4);
  const int d = 4;
  Matrix x = random_matrix(6, d, rng);
  AttentionParams p(d, rng);
  Matrix before, after;
  AttentionCache cache;
  causal_attention_forward(x, 2, p.weights(d), &before, &cache);
  for (const Matrix& a : cache.weights) {
    for (Eigen::Index t = 0; t < 6; ++t) {
      EXPECT_NEAR(a.row(t).head(t + 1).sum(), 1.f, 1e-5);
      if (t < 5) {
        EXPECT_EQ(a.row(t).tail(5 - t).cwiseAbs().sum(), 0.f);
      }
    }
  }
  x.row(4) *= 3.f;
  causal_attention_forward(x, 2, p.weights(d), &after, &cache);
  EXPECT_LT((before.topRows(4) - after.topRows(4)).cwiseAbs().maxCoeff(), 1e-5f);
  EXPECT_GT((before.row(5) - after.row(5)).cwiseAbs().maxCoeff(), 1e-3f);
}

}  // namespace
}  // namespace nudge::nn
