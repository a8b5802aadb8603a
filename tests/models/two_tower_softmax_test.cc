// The two-tower model's softmax loss (two_tower_softmax.cc).
#include <gtest/gtest.h>

#include "nudge/models/two_tower.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

// The softmax loss's gradient against central differences: output rows (items with and
// without their ID token, targets and the rest of the catalogue), input rows (the users'
// items read through their own rows), user attribute tokens and biases.
TEST(TwoTowerTest, GradientCheckOfTheSoftmaxLoss) {
  SynthOptions o;
  o.num_users = 500;
  o.num_items = 400;
  o.num_interactions = 16000;
  o.num_topics = 8;
  o.seed = 9;
  const SynthData s = synthesize(o).value();
  const Params p = Params::parse("factors=8,threads=1,epochs=1,loss=softmax").value();
  TwoTowerModel m(TwoTowerOptions::from_params(p).value(), p);
  ASSERT_TRUE(m.fit(s.dataset).is_ok());
  ASSERT_GT(m.input_base(), 0u);
  TwoTowerModel::SoftmaxChunk c;
  const uint32_t user_token = m.user_tokens(0).front();
  c.user_tokens = {{user_token}, {}};
  c.inputs = {{5, 17, 40}, {3}};
  c.targets = {{8, 99}, {250}};
  std::vector<uint8_t> drop(s.dataset.num_items(), 0);
  for (uint32_t i = 0; i < drop.size(); i += 3) drop[i] = 1;  // 99 and 3 among them
  TwoTowerModel::Gradient g;
  g.resize(static_cast<size_t>(m.embeddings().rows()), static_cast<size_t>(m.embeddings().cols()));
  m.softmax_loss(c, drop, 0.5f, &g);
  auto f = [&] { return m.softmax_loss(c, drop, 0.5f, nullptr); };
  const auto d = static_cast<size_t>(m.embeddings().cols());
  // Every token an item reads is touched by the full softmax; check a spread of them.
  std::vector<uint32_t> rows = {user_token};
  size_t inputs = 0;
  for (uint32_t t : g.touched)
    if (t >= m.input_base()) rows.push_back(t), ++inputs;
  EXPECT_GE(inputs, 4u) << "the inputs' ID rows and some of their feature rows";
  for (size_t k = 0; k < g.touched.size(); k += 7) rows.push_back(g.touched[k]);
  for (uint32_t tok : rows) {
    ASSERT_TRUE(g.is_touched[tok]) << "token " << tok;
    for (size_t c2 = 0; c2 < d; ++c2) {
      EXPECT_NEAR(g.embeddings[tok * d + c2],
                  testing::numeric_gradient(&m.embeddings()(tok, static_cast<Eigen::Index>(c2)), f), 2e-3)
          << "token " << tok << " dim " << c2;
    }
    if (tok < m.input_base()) {
      EXPECT_NEAR(g.biases[tok], testing::numeric_gradient(&m.biases()[tok], f), 2e-3) << "bias of token " << tok;
    }
  }
  // A user attribute token no user of the chunk has gets nothing.
  const uint32_t other = m.user_tokens(1).back();
  if (other != user_token) {
    EXPECT_FALSE(g.is_touched[other]);
    EXPECT_NEAR(testing::numeric_gradient(&m.embeddings()(other, 0), f), 0.0, 1e-6);
  }
}

}  // namespace
}  // namespace nudge
