// ServingModel on hand-set factors: feature vectors for described untrained items, fold-in
// through the precomputed Gram matrix, cosine, and when the HNSW index is built.
#include "nudge/serve/serving_model.h"

#include <gtest/gtest.h>

#include "nudge/synth.h"

namespace nudge::serve {
namespace {

// Items 0..3 trained; 4 and 5 untrained, 4 described by known features, 5 by unknown ones.
struct Hand {
  std::vector<ItemRecord> features;
  std::shared_ptr<const ServingModel> model;

  explicit Hand(uint32_t ann_min_items = 1000) {
    FactorMatrix users = FactorMatrix::Zero(2, 3);
    FactorMatrix items(6, 3);
    items << 1, 0, 0,  //
        0, 1, 0,       //
        0, 0, 1,       //
        1, 1, 0,       //
        9, 9, 9,       // untrained: its row must be replaced by the feature vector
        7, 7, 7;       // untrained, no known feature: no vector
    IalsOptions o;
    o.factors = 3;
    o.regularization = 0.1;
    auto ials = std::make_unique<IalsModel>(o, Params{});
    ials->set_factors(users, items);
    features = {{"a", "red", {"x"}, 1.f, false}, {"b", "red", {}, 1.f, false},     {"c", "blue", {"x"}, 1.f, false},
                {"d", "blue", {}, 1.f, false},   {"e", "red", {"x"}, 1.f, false}, {"f", "green", {"y"}, 1.f, false}};
    ServingModelOptions so;
    so.ials = o;
    so.ann_min_items = ann_min_items;
    model = ServingModel::build(std::move(ials), {true, true, true, true, false, false}, features, so, 3);
  }
};

TEST(ServingModel, DescribedUntrainedItemGetsTheMeanOfItsFeatureVectors) {
  Hand h;
  const ServingModel& m = *h.model;
  EXPECT_EQ(m.version(), 3u);
  EXPECT_EQ(m.num_items(), 6u);
  EXPECT_EQ(m.factors(), 3u);
  EXPECT_TRUE(m.has_vector(4));
  EXPECT_FALSE(m.trained(4));
  EXPECT_FALSE(m.has_vector(5));
  EXPECT_FALSE(m.has_vector(99));
  // category=red: mean(a, b) = (.5, .5, 0); tag=x: mean(a, c) = (.5, 0, .5); item e = their mean.
  const Eigen::RowVector3f expected(0.5f, 0.25f, 0.25f);
  EXPECT_TRUE(m.items().row(4).isApprox(expected)) << m.items().row(4);
  EXPECT_TRUE(m.items().row(5).isZero()) << "an item without a vector must not score";
  std::vector<std::string> used;
  const Eigen::VectorXf v = m.feature_vector(h.features[4], &used);
  EXPECT_TRUE(v.transpose().isApprox(expected));
  EXPECT_EQ(used, (std::vector<std::string>{"category=red", "tag=x"}));
  EXPECT_EQ(m.feature_vector(h.features[5]).size(), 0);
}

TEST(ServingModel, FoldInSkipsUntrainedItemsAndMatchesTheDirectSolve) {
  Hand h;
  const std::vector<uint32_t> history{0, 3, 4};
  const std::vector<float> weights{2.f, 1.f, 5.f};
  const Eigen::VectorXf x = h.model->fold_in(history, weights);
  const std::vector<uint32_t> trained{0, 3};
  const std::vector<float> trained_weights{2.f, 1.f};
  const Eigen::VectorXf direct = h.model->ials().fold_in(trained, trained_weights);
  EXPECT_TRUE(x.isApprox(direct, 1e-5f)) << x.transpose() << " vs " << direct.transpose();
  EXPECT_GT(h.model->score(0, x), h.model->score(2, x));  // item 2 shares nothing with the history
}

TEST(ServingModel, CosineUsesScoringVectors) {
  Hand h;
  const ServingModel& m = *h.model;
  EXPECT_NEAR(m.cosine(0, 1), 0.f, 1e-6f);
  EXPECT_NEAR(m.cosine(0, 3), 1.f / std::sqrt(2.f), 1e-6f);
  EXPECT_EQ(m.cosine(0, 5), 0.f);  // no vector: zero, not NaN
  EXPECT_NEAR(m.cosine_to(2, Eigen::Vector3f(0, 0, 4)), 1.f, 1e-6f);
}

TEST(ServingModel, HnswIndexIsBuiltFromTheThresholdOverItemsWithVectors) {
  EXPECT_EQ(Hand(6).model->ann(), nullptr);  // 5 items have vectors
  const Hand h(5);
  ASSERT_NE(h.model->ann(), nullptr);
  EXPECT_EQ(h.model->ann()->size(), 5u);
  std::vector<ScoredItem> found;
  h.model->ann()->search(Eigen::Vector3f(0, 0, 1).data(), 5, &found);
  ASSERT_EQ(found.size(), 5u);
  for (const ScoredItem& s : found) EXPECT_NE(s.item, 5u);
}

TEST(ServingModel, TrainLearnsTheCatalogueInOrder) {
  SynthOptions so;
  so.num_users = 60;
  so.num_items = 40;
  so.num_interactions = 1000;
  so.seed = 3;
  const Dataset data = synthesize(so).value().dataset;
  ServingModelOptions o;
  o.ials.factors = 4;
  o.ials.threads = 1;
  auto m = ServingModel::train(data, {}, o, 1).value();
  EXPECT_EQ(m->num_items(), data.num_items());
  EXPECT_EQ(m->factors(), 4u);
  std::vector<bool> seen(data.num_items(), false);
  for (uint32_t i : data.interactions().items) seen[i] = true;
  for (uint32_t i = 0; i < data.num_items(); ++i) EXPECT_EQ(m->trained(i), seen[i]) << i;
  EXPECT_GT(m->train_seconds(), 0.0);
}

}  // namespace
}  // namespace nudge::serve
