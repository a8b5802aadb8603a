#include "nudge/models/svd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "nudge/evaluate.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/synth.h"

namespace nudge {
namespace {

const TrainTest& ratings() {
  static const TrainTest tt = [] {
    SynthOptions o;
    o.num_users = 800;
    o.num_items = 500;
    o.num_interactions = 40000;
    o.num_topics = 8;
    o.ratings = true;
    const Dataset d = synthesize(o).value().dataset;
    return split(d, {.method = SplitMethod::kRandom, .test_fraction = 0.2, .seed = 3}).value();
  }();
  return tt;
}

double rmse_of(const std::string& name, const std::string& params) {
  auto m = make_recommender(name, Params::parse(params).value()).value();
  EXPECT_TRUE(m->fit(ratings().train).is_ok());
  EXPECT_TRUE(m->predicts_ratings());
  return evaluate_ratings(*m, ratings().train, ratings().test, {}).metrics.at("rmse");
}

double global_mean_rmse() {
  const auto& tr = ratings().train.interactions();
  const auto& te = ratings().test.interactions();
  const double mu = std::accumulate(tr.values.begin(), tr.values.end(), 0.0) / tr.size();
  double se = 0;
  for (float v : te.values) se += (v - mu) * (v - mu);
  return std::sqrt(se / te.size());
}

TEST(SvdTest, BeatsTheGlobalMeanAndTheBiasOnlyModel) {
  const double base = global_mean_rmse();
  const double svd = rmse_of("svd", "factors=32,epochs=30,learning_rate=0.01");
  const double bias_only = rmse_of("svd", "factors=1,epochs=30,learning_rate=0.01,init_std=0");
  EXPECT_LT(svd, 0.85 * base) << "global mean " << base;
  EXPECT_LT(svd, bias_only - 0.01);
}

TEST(SvdTest, SvdPlusPlusLearnsToo) {
  const double base = global_mean_rmse();
  const double svdpp = rmse_of("svdpp", "factors=16,epochs=30,learning_rate=0.01");
  EXPECT_LT(svdpp, 0.85 * base);
}

TEST(SvdTest, FoldInPredictsANewUsersTaste) {
  // A new user's ratings (one topic loved, one hated) must carry over to unrated items.
  auto m = make_recommender("svd", Params::parse("factors=16,epochs=30,learning_rate=0.01").value()).value();
  ASSERT_TRUE(m->fit(ratings().train).is_ok());
  std::vector<float> scores(m->num_items());
  const std::vector<uint32_t> items = {0, 1, 2};
  const std::vector<float> high = {5, 5, 5}, low = {1, 1, 1};
  m->score_history(items, high, scores);
  const double mean_high = std::accumulate(scores.begin(), scores.end(), 0.0) / scores.size();
  m->score_history(items, low, scores);
  const double mean_low = std::accumulate(scores.begin(), scores.end(), 0.0) / scores.size();
  EXPECT_GT(mean_high, mean_low + 0.5);  // the user bias is learned from the history
}

}  // namespace
}  // namespace nudge
