#include "nudge/models/neumf.h"

#include <gtest/gtest.h>

#include "nudge/registry.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

double numeric(float* x, const std::function<double()>& f) { return testing::numeric_gradient(x, f); }

// The full NeuMF backward pass (embeddings, tower, output layer) against finite differences,
// in each of the three modes.
TEST(NeuMfTest, GradientCheckEveryParameter) {
  for (const char* mode : {"gmf", "mlp", "neumf"}) {
    const Params p = Params::parse("factors=3,layers=4-3-2,seed=5").value();
    NeuMfModel model(NeuMfOptions::from_params(mode, p).value(), p);
    DatasetBuilder b;
    for (int u = 0; u < 3; ++u) b.catalog().users.intern("u" + std::to_string(u));
    for (int i = 0; i < 4; ++i) b.catalog().items.intern("i" + std::to_string(i));
    b.interactions().push_back(0, 0, 0, 1, 0);
    // Zero epochs: random initial parameters, made larger so ReLUs are not all off.
    const Params p0 = Params::parse("factors=3,layers=4-3-2,seed=5,epochs=0").value();
    NeuMfModel m(NeuMfOptions::from_params(mode, p0).value(), p0);
    ASSERT_TRUE(m.fit(b.build()).is_ok());
    auto& net = m.net();
    for (auto* t : {&net.user_gmf, &net.item_gmf, &net.user_mlp, &net.item_mlp}) *t *= 50.f;
    // Non-zero biases: with zero biases a row whose inputs ReLU switched off sits exactly on
    // the kink, where a central difference measures 1/2 instead of either one-sided slope.
    for (auto& layer : net.tower) layer.bias = 0.5f * nn::Vector::Random(layer.bias.size());
    const std::vector<uint32_t> users = {0, 0, 1, 2, 2};
    const std::vector<uint32_t> items = {0, 3, 1, 2, 0};
    const std::vector<float> labels = {1, 0, 1, 0, 1};
    NeuMfModel::Grads g;
    NeuMfModel::batch_loss(net, mode, users, items, labels, &g);
    auto loss = [&] { return NeuMfModel::batch_loss(net, mode, users, items, labels, nullptr); };
    auto check_rows = [&](FactorMatrix& table, const auto& grads, const char* what) {
      for (const auto& [row, grad] : grads) {
        for (Eigen::Index k = 0; k < grad.size(); ++k) {
          EXPECT_NEAR(grad[k], numeric(&table(row, k), loss), 1e-3) << mode << " " << what << " row " << row;
        }
      }
    };
    const std::string md = mode;
    if (md != "mlp") {
      ASSERT_FALSE(g.user_gmf.empty());
      check_rows(net.user_gmf, g.user_gmf, "user gmf");
      check_rows(net.item_gmf, g.item_gmf, "item gmf");
    }
    if (md != "gmf") {
      ASSERT_FALSE(g.item_mlp.empty());
      check_rows(net.user_mlp, g.user_mlp, "user mlp");
      check_rows(net.item_mlp, g.item_mlp, "item mlp");
      for (size_t l = 0; l < net.tower.size(); ++l) {
        for (Eigen::Index k = 0; k < net.tower[l].weight.size(); ++k) {
          EXPECT_NEAR(g.tower[l].weight.data()[k], numeric(net.tower[l].weight.data() + k, loss), 1e-3)
              << mode << " layer " << l;
        }
        for (Eigen::Index k = 0; k < net.tower[l].bias.size(); ++k) {
          EXPECT_NEAR(g.tower[l].bias[k], numeric(&net.tower[l].bias[k], loss), 1e-3) << mode << " bias " << l;
        }
      }
    }
    for (Eigen::Index k = 0; k < net.out_weight.size(); ++k) {
      EXPECT_NEAR(g.out_weight[k], numeric(&net.out_weight[k], loss), 1e-3) << mode << " out " << k;
    }
    EXPECT_NEAR(g.out_bias, numeric(&net.out_bias, loss), 1e-3);
  }
}

Dataset data() {
  SynthOptions o;
  o.num_users = 400;
  o.num_items = 300;
  o.num_interactions = 15000;
  o.num_topics = 6;
  return synthesize(o).value().dataset;
}

TEST(NeuMfTest, LossFallsAndEarlyStoppingKeepsTheBestEpoch) {
  const Dataset d = data();
  const Params p = Params::parse("epochs=6,threads=1").value();
  NeuMfModel m(NeuMfOptions::from_params("neumf", p).value(), p);
  ASSERT_TRUE(m.fit(d).is_ok());
  const auto losses = m.epoch_losses();
  ASSERT_EQ(losses.size(), 6u);
  EXPECT_LT(losses.back(), 0.8 * losses.front());
  const Params pv = Params::parse("epochs=30,threads=1,validation=0.1,patience=1").value();
  NeuMfModel v(NeuMfOptions::from_params("neumf", pv).value(), pv);
  ASSERT_TRUE(v.fit(d).is_ok());
  EXPECT_LT(v.epoch_losses().size(), 30u);  // stopped early
}

TEST(NeuMfTest, PretrainedNeuMfTrains) {
  const Dataset d = data();
  auto m = make_recommender("neumf", Params::parse("epochs=3,pretrain=true,threads=1").value()).value();
  ASSERT_TRUE(m->fit(d).is_ok());
  std::vector<float> s(d.num_items());
  m->score_user(0, s);
  for (float x : s) ASSERT_TRUE(std::isfinite(x));
}

TEST(NeuMfTest, BadLayers) {
  EXPECT_EQ(make_recommender("mlp", Params::parse("layers=63-8").value()).status().to_string(),
            "invalid argument: mlp: parameter 'layers' needs an even input width and at least one hidden layer");
  EXPECT_EQ(make_recommender("neumf", Params::parse("layers=64-x").value()).status().to_string(),
            "invalid argument: neumf: parameter 'layers' must be widths like 64-32-16, got '64-x'");
}

}  // namespace
}  // namespace nudge
