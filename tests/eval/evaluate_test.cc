#include "nudge/evaluate.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nudge/models/popularity.h"
#include "nudge/readers.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

// Train: a,b,c seen by several users; test: u1 -> c, u2 -> d. Popularity ranks a > b > c > d.
struct Fixture {
  Dataset train, test;
};

Fixture tiny() {
  DatasetBuilder b;
  ReadReport r;
  EXPECT_TRUE(
      read_interactions_text("user,item\nu1,a\nu2,a\nu3,a\nu1,b\nu3,b\nu3,c\nu2,c\nu2,d\nu1,c\n", "t.csv", {}, b, r)
          .is_ok());
  const Dataset all = b.build();
  Interactions train, test;
  for (size_t row = 0; row < all.num_interactions(); ++row) {
    (row >= 7 ? test : train).push_back(all.interactions().users[row], all.interactions().items[row], 0, 1, 0);
  }
  return {all.with_interactions(train), all.with_interactions(test)};
}

TEST(EvaluateTest, FullRankingByHand) {
  const Fixture f = tiny();
  PopularityModel pop({}, {});
  ASSERT_TRUE(pop.fit(f.train).is_ok());
  EvalOptions o;
  o.ks = {1, 2};
  o.threads = 2;
  const EvalResult r = evaluate_full_ranking(pop, f.train, f.test, o);
  // u1 saw a,b: candidates c(score 2) > d(0): hit at 1. u2 saw a,c: candidates b(2) > d(0): d at rank 2.
  EXPECT_EQ(r.users_evaluated, 2u);
  EXPECT_DOUBLE_EQ(r.metrics.at("hit_rate@1"), 0.5);
  EXPECT_DOUBLE_EQ(r.metrics.at("hit_rate@2"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("mrr@2"), 0.75);
  EXPECT_DOUBLE_EQ(r.metrics.at("auc"), 0.5);         // u1: 1.0, u2: 0.0
  EXPECT_DOUBLE_EQ(r.metrics.at("coverage@1"), 0.5);  // c and b out of 4 items
}

TEST(EvaluateTest, SampledProtocolWithGivenNegatives) {
  const Fixture f = tiny();
  PopularityModel pop({}, {});
  ASSERT_TRUE(pop.fit(f.train).is_ok());
  testing::TempDir dir;
  testing::write_file(dir.file("test.negative"), "(u1,c)\td\n(u2,d)\tb\n");
  auto negatives = read_ncf_negatives(dir.file("test.negative"), f.train.catalog());
  ASSERT_OK(negatives.status());
  EvalOptions o;
  o.ks = {1};
  const EvalResult r = evaluate_sampled(pop, f.train, f.test, o, &*negatives);
  EXPECT_DOUBLE_EQ(r.metrics.at("hit_rate@1"), 0.5);
  EXPECT_DOUBLE_EQ(r.metrics.at("mrr"), 0.75);
}

TEST(EvaluateTest, SampledNegativesAreReproducibleAndIndependentOfThreads) {
  SynthOptions so;
  so.num_users = 300;
  so.num_items = 200;
  so.num_interactions = 9000;
  const Dataset d = synthesize(so).value().dataset;
  const TrainTest tt = split(d, {.method = SplitMethod::kLeaveLastOut}).value();
  auto m = make_recommender("itemknn", {}).value();
  ASSERT_TRUE(m->fit(tt.train).is_ok());
  EvalOptions one, two;
  one.threads = 1;
  two.threads = 2;
  EXPECT_EQ(evaluate_sampled(*m, tt.train, tt.test, one).metrics, evaluate_sampled(*m, tt.train, tt.test, two).metrics);
  EXPECT_EQ(evaluate_full_ranking(*m, tt.train, tt.test, one).metrics,
            evaluate_full_ranking(*m, tt.train, tt.test, two).metrics);
  // Sampled ranking is easier than full ranking: the known inflation (Krichene & Rendle 2020).
  EXPECT_GT(evaluate_sampled(*m, tt.train, tt.test, one).metrics.at("hit_rate@10"),
            evaluate_full_ranking(*m, tt.train, tt.test, one).metrics.at("hit_rate@10"));
}

TEST(EvaluateTest, FoldsCombineIntoMeanAndStd) {
  EvalResult a, b;
  a.model = b.model = "m";
  a.protocol = b.protocol = "full";
  a.metrics["ndcg@10"] = 0.2;
  b.metrics["ndcg@10"] = 0.4;
  const EvalResult c = combine_folds({a, b});
  EXPECT_DOUBLE_EQ(c.metrics.at("ndcg@10"), 0.3);
  EXPECT_NEAR(c.stddev.at("ndcg@10"), 0.1414213562, 1e-9);
  EXPECT_EQ(c.protocol, "full x2");
  EXPECT_NE(format_results({c}).find("0.3000±0.1414"), std::string::npos) << format_results({c});
  nlohmann::json j = c;
  EXPECT_EQ(j["stddev"]["ndcg@10"], c.stddev.at("ndcg@10"));
}

}  // namespace
}  // namespace nudge
