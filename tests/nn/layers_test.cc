// Finite-difference checks of every hand-written backward pass (docs/style.md, practice 7).
#include "nudge/nn/layers.h"

#include <gtest/gtest.h>

#include "nudge/nn/adam.h"
#include "nudge/nn/logistic.h"
#include "test_util.h"

namespace nudge::nn {
namespace {

using nudge::testing::numeric_gradient;

Matrix random_matrix(Eigen::Index r, Eigen::Index c, Rng& rng) {
  Matrix m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal());
  return m;
}

TEST(LayersTest, BceWithLogitsGradientAndStability) {
  Vector logits(4), labels(4), d;
  logits << -2.f, 0.5f, 30.f, -40.f;
  labels << 0.f, 1.f, 1.f, 0.f;
  const double loss = bce_with_logits(logits, labels, &d);
  EXPECT_TRUE(std::isfinite(loss));
  for (Eigen::Index k = 0; k < 4; ++k) {
    Vector scratch;
    const double num = numeric_gradient(&logits[k], [&] { return bce_with_logits(logits, labels, &scratch); });
    EXPECT_NEAR(d[k], num, 1e-4) << k;
  }
  // log(1 + e^-2) for a negative at -2 ... averaged with the others; check one closed form.
  Vector one(1), y(1), g;
  one << 0.f;
  y << 1.f;
  EXPECT_NEAR(bce_with_logits(one, y, &g), std::log(2.0), 1e-9);
  EXPECT_NEAR(g[0], -0.5, 1e-7);
}

TEST(LayersTest, DenseReluStackMatchesFiniteDifferences) {
  Rng rng(3);
  Dense l1(5, 4, rng), l2(4, 3, rng);
  l1.bias = Vector::Random(4);
  l2.bias = Vector::Random(3);
  Matrix x = random_matrix(6, 5, rng);
  const Vector w = Vector::Random(3);  // loss = sum over the batch of (relu(x W1 + b1) W2 + b2) . w
  auto loss = [&] {
    Matrix h, y;
    l1.forward(x, &h);
    relu(&h);
    l2.forward(h, &y);
    return static_cast<double>((y * w).sum());
  };
  Matrix h, y, dh, dx;
  l1.forward(x, &h);
  relu(&h);
  l2.forward(h, &y);
  const Matrix dy = Matrix::Ones(6, 1) * w.transpose();
  DenseGrad g1, g2;
  g1.zero(4, 5);
  g2.zero(3, 4);
  l2.backward(h, dy, &g2, &dh);
  relu_backward(h, &dh);
  l1.backward(x, dh, &g1, &dx);
  for (Eigen::Index k = 0; k < l1.weight.size(); ++k) {
    EXPECT_NEAR(g1.weight.data()[k], numeric_gradient(l1.weight.data() + k, loss), 2e-3) << "W1 " << k;
  }
  for (Eigen::Index k = 0; k < l1.bias.size(); ++k) EXPECT_NEAR(g1.bias[k], numeric_gradient(&l1.bias[k], loss), 2e-3);
  for (Eigen::Index k = 0; k < l2.weight.size(); ++k) {
    EXPECT_NEAR(g2.weight.data()[k], numeric_gradient(l2.weight.data() + k, loss), 2e-3) << "W2 " << k;
  }
  for (Eigen::Index k = 0; k < x.size(); ++k)
    EXPECT_NEAR(dx.data()[k], numeric_gradient(x.data() + k, loss), 2e-3) << "x " << k;
}

TEST(LayersTest, AdamMinimisesAQuadratic) {
  std::vector<float> p = {5.f, -3.f};
  AdamOptions o;
  o.learning_rate = 0.1f;
  Adam adam(2, o);
  for (int s = 0; s < 500; ++s) {
    const std::vector<float> g = {2 * (p[0] - 1), 2 * (p[1] + 2)};
    adam.step(p.data(), g.data(), 2);
  }
  EXPECT_NEAR(p[0], 1.f, 1e-2);
  EXPECT_NEAR(p[1], -2.f, 1e-2);
  RowAdam rows(3, 2, o);
  std::vector<float> r = {4.f, 4.f};
  for (int s = 0; s < 500; ++s) {
    const std::vector<float> g = {2 * r[0], 2 * r[1]};
    rows.step_row(1, r.data(), g.data());
  }
  EXPECT_NEAR(r[0], 0.f, 2e-2);
}

}  // namespace
}  // namespace nudge::nn

namespace nudge::nn {
namespace {

TEST(LogisticTest, GradientMatchesFiniteDifferencesAndFitSeparates) {
  Rng rng(4);
  std::vector<std::vector<float>> x;
  std::vector<float> y;
  for (int e = 0; e < 200; ++e) {
    const float a = static_cast<float>(rng.normal()), b = static_cast<float>(rng.normal());
    x.push_back({a, b, 1.f});
    y.push_back(2 * a - b + 0.3 * rng.normal() > 0 ? 1.f : 0.f);
  }
  std::vector<float> w = {0.3f, -0.2f, 0.1f};
  std::vector<double> grad;
  logistic_loss(w, x, y, 0.01, &grad);
  for (size_t d = 0; d < w.size(); ++d) {
    EXPECT_NEAR(grad[d], nudge::testing::numeric_gradient(&w[d], [&] { return logistic_loss(w, x, y, 0.01, nullptr); }),
                1e-4)
        << d;
  }
  const std::vector<float> fitted = fit_logistic(x, y, 3);
  EXPECT_GT(fitted[0], 1.0f);  // the planted direction (2, -1)
  EXPECT_LT(fitted[1], -0.5f);
  EXPECT_LT(logistic_loss(fitted, x, y, 0, nullptr), 0.3);
}

}  // namespace
}  // namespace nudge::nn
