// Finite-difference checks of the next-item output layers (docs/style.md, practice 7).
#include "nudge/nn/softmax_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "test_util.h"

namespace nudge::nn {
namespace {

using nudge::testing::numeric_gradient;

struct OutputLayer {
  Matrix h;
  std::vector<float> items, item_grad;
  std::vector<uint32_t> targets{0, 3, 5, 3};
  OutputLayer(uint32_t n, int d, Rng& rng) : h(4, d), items(size_t{n} * d), item_grad(items.size(), 0.f) {
    for (Eigen::Index k = 0; k < h.size(); ++k) h.data()[k] = static_cast<float>(rng.normal());
    for (float& v : items) v = static_cast<float>(0.5 * rng.normal());
  }
};

void expect_gradient(float* values, const float* analytic, size_t n, const std::function<double()>& loss,
                     const char* what) {
  for (size_t k = 0; k < n; ++k) {
    const double num = numeric_gradient(&values[k], loss);
    EXPECT_NEAR(analytic[k], num, 2e-3 + 1e-2 * std::abs(num)) << what << " [" << k << "]";
  }
}

TEST(SoftmaxLossTest, FullSoftmaxMatchesClosedFormAndFiniteDifferences) {
  Rng rng(1);
  const uint32_t n = 7;
  OutputLayer s(n, 3, rng);
  const float scale = 0.25f;
  auto loss = [&] {
    Matrix dh;
    std::vector<float> scratch(s.items.size());
    return scale * full_softmax_loss(s.h, s.items.data(), n, s.targets, scale, &dh, scratch.data());
  };
  // Closed form of one row.
  double expected = 0;
  const Eigen::Map<const Matrix> e(s.items.data(), n, 3);
  for (Eigen::Index r = 0; r < 4; ++r) {
    const Eigen::VectorXf logits = e * s.h.row(r).transpose();
    expected += std::log(logits.array().exp().sum()) - logits[s.targets[static_cast<size_t>(r)]];
  }
  Matrix dh;
  EXPECT_NEAR(full_softmax_loss(s.h, s.items.data(), n, s.targets, scale, &dh, s.item_grad.data()), expected, 1e-4);
  expect_gradient(s.h.data(), dh.data(), static_cast<size_t>(s.h.size()), loss, "h");
  expect_gradient(s.items.data(), s.item_grad.data(), s.items.size(), loss, "items");
}

TEST(SoftmaxLossTest, SampledSoftmaxMatchesFiniteDifferencesAndMasksHits) {
  Rng rng(2);
  const uint32_t n = 9;
  OutputLayer s(n, 3, rng);
  // Negatives repeat and include targets 3 and 5 (masked for rows with that target).
  const std::vector<uint32_t> negatives{1, 3, 8, 8, 5, 2};
  std::vector<float> log_q(n);
  for (uint32_t i = 0; i < n; ++i) log_q[i] = std::log((i + 1.f) / 45.f);
  const float scale = 0.5f;
  auto loss = [&] {
    Matrix dh;
    std::vector<float> scratch(s.items.size());
    return scale * sampled_softmax_loss(s.h, s.items.data(), s.targets, negatives, log_q, scale, &dh, scratch.data());
  };
  Matrix dh;
  const double value =
      sampled_softmax_loss(s.h, s.items.data(), s.targets, negatives, log_q, scale, &dh, s.item_grad.data());
  // Row 1 (target 3) by hand: the negative 3 is masked, every logit corrected by log Q.
  const Eigen::Map<const Matrix> e(s.items.data(), n, 3);
  auto logit = [&](Eigen::Index r, uint32_t i) { return e.row(i).dot(s.h.row(r)) - log_q[i]; };
  double total = std::exp(logit(1, 3));
  for (uint32_t j : negatives)
    if (j != 3) total += std::exp(logit(1, j));
  const double row1 = std::log(total) - logit(1, 3);
  Matrix one_dh;
  std::vector<float> scratch(s.items.size());
  const Matrix h1 = s.h.row(1);
  EXPECT_NEAR(sampled_softmax_loss(h1, s.items.data(), std::vector<uint32_t>{3}, negatives, log_q, 1.f, &one_dh,
                                   scratch.data()),
              row1, 1e-4);
  EXPECT_TRUE(std::isfinite(value));
  expect_gradient(s.h.data(), dh.data(), static_cast<size_t>(s.h.size()), loss, "h");
  expect_gradient(s.items.data(), s.item_grad.data(), s.items.size(), loss, "items");
  // Item 4 is neither a target nor a negative: no gradient.
  for (int c = 0; c < 3; ++c) EXPECT_EQ(s.item_grad[4 * 3 + c], 0.f);
}

// With every item a negative and log Q uniform, the sampled loss is the full one.
TEST(SoftmaxLossTest, SampledEqualsFullWhenEveryItemIsANegative) {
  Rng rng(3);
  const uint32_t n = 6;
  OutputLayer s(n, 4, rng);
  std::vector<uint32_t> every(n);
  for (uint32_t i = 0; i < n; ++i) every[i] = i;
  const std::vector<float> log_q(n, std::log(1.f / n));
  Matrix dh_full, dh_sampled;
  std::vector<float> g_full(s.items.size(), 0.f), g_sampled(s.items.size(), 0.f);
  const double full = full_softmax_loss(s.h, s.items.data(), n, s.targets, 1.f, &dh_full, g_full.data());
  const double sampled =
      sampled_softmax_loss(s.h, s.items.data(), s.targets, every, log_q, 1.f, &dh_sampled, g_sampled.data());
  EXPECT_NEAR(full, sampled, 1e-4);
  EXPECT_LT((dh_full - dh_sampled).cwiseAbs().maxCoeff(), 1e-5f);
  for (size_t k = 0; k < g_full.size(); ++k) EXPECT_NEAR(g_full[k], g_sampled[k], 1e-5) << k;
}

}  // namespace
}  // namespace nudge::nn
