// ServingModel on hand-set factors: feature vectors for described untrained items, fold-in
// through the precomputed Gram matrix, cosine, and when the HNSW index is built; then the
// history path of other kinds, the map between model rows and catalogue items, and the
// default spec.
#include "nudge/serve/serving_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nudge/registry.h"
#include "nudge/synth.h"
#include "serve/ann_index.h"

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
    features = {{"a", "red", {"x"}, 1.f, false}, {"b", "red", {}, 1.f, false},    {"c", "blue", {"x"}, 1.f, false},
                {"d", "blue", {}, 1.f, false},   {"e", "red", {"x"}, 1.f, false}, {"f", "green", {"y"}, 1.f, false}};
    ServingModelOptions so;
    so.ials = o;
    so.ann_min_items = ann_min_items;
    model = ServingModel::build(std::move(ials), {0, 1, 2, 3, 4, 5}, 6, {true, true, true, true, false, false},
                                features, so, 3);
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
  const Eigen::VectorXf direct = h.model->factor_model()->fold_in(trained, trained_weights);
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
  auto m = ServingModel::train(data, "ials:factors=4,threads=1", {}, o, 1).value();
  EXPECT_EQ(m->kind(), "ials");
  EXPECT_EQ(m->num_items(), data.num_items());
  EXPECT_EQ(m->factors(), 4u);
  std::vector<bool> seen(data.num_items(), false);
  for (uint32_t i : data.interactions().items) seen[i] = true;
  for (uint32_t i = 0; i < data.num_items(); ++i) EXPECT_EQ(m->trained(i), seen[i]) << i;
  EXPECT_GT(m->train_seconds(), 0.0);
}

Dataset small_synth() {
  SynthOptions so;
  so.num_users = 80;
  so.num_items = 30;
  so.num_interactions = 1200;
  so.seed = 5;
  return synthesize(so).value().dataset;
}

TEST(ServingModel, HistoryPathScoresAsTheModelDoes) {
  const Dataset data = small_synth();
  auto m = ServingModel::train(data, "ease:regularization=50", {}, ServingModelOptions{}, 2).value();
  EXPECT_EQ(m->kind(), "ease");
  EXPECT_EQ(m->factor_model(), nullptr);
  const std::vector<uint32_t> history{1, 4, 9};
  const std::vector<float> weights{1.f, 2.f, 1.f};
  std::vector<float> served(m->num_items()), direct(m->num_items()), scratch;
  m->score_history(UserHistory{history, weights}, served, &scratch);
  m->recommender().score_history(history, weights, direct);
  EXPECT_EQ(served, direct);
  EXPECT_TRUE(m->knows(UserHistory{history, weights}));
  const std::vector<uint32_t> unknown{99};
  const std::vector<float> one{1.f};
  EXPECT_FALSE(m->knows(UserHistory{unknown, one}));
}

TEST(ServingModel, ModelRowsInAnotherOrderAreMappedOntoTheCatalogue) {
  const Dataset data = small_synth();
  auto fitted = make_recommender_from_spec("ials:factors=4,threads=1").value();
  ASSERT_TRUE(fitted->fit(data).is_ok());
  const uint32_t n = data.num_items();
  // Model row r is catalogue item n - r (reversed, shifted): catalogue item 0 has no row.
  std::vector<uint32_t> catalogue_index(n);
  for (uint32_t r = 0; r < n; ++r) catalogue_index[r] = n - r;
  std::vector<float> direct(n);
  const std::vector<uint32_t> rows{2, 5};
  const std::vector<float> weights{1.f, 1.f};
  fitted->score_history(rows, weights, direct);
  std::vector<ScoredItem> direct_similar;
  ASSERT_TRUE(fitted->similar_items(2, 3, &direct_similar).is_ok());
  auto m = ServingModel::build(std::move(fitted), catalogue_index, n + 1, std::vector<bool>(n, true), {},
                               ServingModelOptions{}, 1);
  EXPECT_EQ(m->row_of(0), kNoIndex);
  EXPECT_EQ(m->row_of(n), 0u);
  EXPECT_EQ(m->item_of_row(2), n - 2);
  std::vector<float> served(n + 1), scratch;
  const std::vector<uint32_t> history{0, n - 2, n - 5};  // item 0 has no row: skipped
  const std::vector<float> history_weights{7.f, 1.f, 1.f};
  m->score_history(UserHistory{history, history_weights}, served, &scratch);
  EXPECT_TRUE(std::isnan(served[0]));
  for (uint32_t r = 0; r < n; ++r) EXPECT_FLOAT_EQ(served[n - r], direct[r]) << r;
  // The factor path agrees: fold-in through the map, vectors in catalogue order.
  const Eigen::VectorXf x = m->fold_in(history, history_weights);
  for (uint32_t r = 0; r < n; ++r) EXPECT_NEAR(m->score(n - r, x), direct[r], 1e-4f) << r;
  std::vector<ScoredItem> similar;
  ASSERT_TRUE(m->similar(n - 2, 3, &similar).is_ok());
  ASSERT_EQ(similar.size(), direct_similar.size());
  for (size_t k = 0; k < similar.size(); ++k) EXPECT_EQ(similar[k].item, n - direct_similar[k].item);
  EXPECT_FALSE(m->similar(0, 3, &similar).is_ok());
}

TEST(ServingModel, DefaultSpecIsFusionOfIalsAndTwoTowerOnlyWithFeatures) {
  ServingModelOptions o;
  o.ials.factors = 24;
  const std::string plain = default_model_spec(o, false);
  const std::string fused = default_model_spec(o, true);
  EXPECT_EQ(plain.rfind("ials:", 0), 0u) << plain;
  EXPECT_NE(plain.find("factors=24"), std::string::npos);
  EXPECT_EQ(fused.rfind("fusion:models=ials+twotower", 0), 0u) << fused;
  EXPECT_NE(fused.find("ials.factors=24"), std::string::npos);
  EXPECT_TRUE(make_recommender_from_spec(plain).is_ok());
  EXPECT_TRUE(make_recommender_from_spec(fused).is_ok());
}

TEST(ServingModel, ItemFeatureTableCarriesCategoryTagsAndPrice) {
  const std::vector<ItemRecord> items = {{"a", "shoes", {"red", "sale"}, 9.5f, false}, {"b", "", {}, NAN, false}};
  const FeatureTable t = item_feature_table(items);
  ASSERT_EQ(t.num_entities(), 2u);
  std::vector<std::string> a;
  for (uint32_t token : t.tokens(0)) a.emplace_back(t.vocabulary().id_of(token));
  EXPECT_EQ(a, (std::vector<std::string>{"category=shoes", "tag=red", "tag=sale"}));
  EXPECT_TRUE(t.tokens(1).empty());
  EXPECT_FLOAT_EQ(t.numeric(0, *t.find_field("price")), 9.5f);
  EXPECT_TRUE(std::isnan(t.numeric(1, *t.find_field("price"))));
}

}  // namespace
}  // namespace nudge::serve
