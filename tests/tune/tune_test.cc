#include "nudge/tune.h"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "nudge/split.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

// Planted structure: 12 topics, focused users. Validation is carved from train; test is
// never seen by the search.
struct Parts {
  Dataset train, validation, test, all_train;
};

const Parts& planted() {
  static const Parts parts = [] {
    SynthOptions o;
    o.num_users = 800;
    o.num_items = 500;
    o.num_interactions = 30000;
    o.num_topics = 12;
    o.seed = 5;
    const Dataset d = synthesize(o).value().dataset;
    SplitOptions test;
    test.seed = 1;
    const TrainTest outer = split(d, test).value();
    SplitOptions valid;
    valid.test_fraction = 0.15;
    valid.seed = 2;
    const TrainTest inner = split(outer.train, valid).value();
    return Parts{inner.train, inner.test, outer.test, outer.train};
  }();
  return parts;
}

TuneOptions ials_options(size_t trials) {
  TuneOptions o;
  o.spec = "ials:threads=2";
  o.space = default_search_space(o.spec).value();
  o.max_trials = trials;
  o.budget_seconds = 0;
  o.seed = 3;
  o.threads = 2;
  return o;
}

TEST(TuneTest, HyperbandBracketsFollowThePaper) {
  // R = 15, eta = 3: s_max = 2; bracket s has ceil(3 / (s + 1) * 3^s) configurations.
  const auto b = hyperband_brackets(15, 3, 3);
  ASSERT_EQ(b.size(), 3u);
  const auto rungs = [](const std::vector<Rung>& r) {
    std::vector<std::pair<size_t, int64_t>> out;
    for (const Rung& x : r) out.emplace_back(x.configurations, x.resource);
    return out;
  };
  using V = std::vector<std::pair<size_t, int64_t>>;
  EXPECT_EQ(rungs(b[0]), (V{{9, 2}, {3, 5}, {1, 15}}));
  EXPECT_EQ(rungs(b[1]), (V{{5, 5}, {1, 15}}));
  EXPECT_EQ(rungs(b[2]), (V{{3, 15}}));
  EXPECT_EQ(hyperband_brackets(100, 3, 2).size(), 3u);  // depth capped
  EXPECT_EQ(rungs(hyperband_brackets(100, 3, 2)[0]).back(), (std::pair<size_t, int64_t>{1, 100}));
  EXPECT_EQ(rungs(hyperband_brackets(0, 3, 3)[0]), (V{{9, 0}}));  // no resource: random search
  EXPECT_EQ(rungs(hyperband_brackets(2, 3, 3)[0]), (V{{1, 2}}));
}

// The bar: a small budget finds a spec better than the defaults on validation, and
// the better spec is better on the test split too.
TEST(TuneTest, BeatsTheDefaultsOnValidationAndTest) {
  const Parts& p = planted();
  const TuneResult r = tune(p.train, p.validation, ials_options(30)).value();
  ASSERT_EQ(r.trials.size(), 30u);
  EXPECT_EQ(r.default_trial().spec, "ials:threads=2");
  EXPECT_TRUE(r.best_trial().full);
  EXPECT_NE(r.best, 0u);
  EXPECT_GT(r.best_trial().metric, r.default_trial().metric * 1.05);
  const double def_test = fit_and_score(r.default_trial().spec, p.all_train, p.test, "ndcg@10").value().metric;
  const double best_test = fit_and_score(r.best_trial().spec, p.all_train, p.test, "ndcg@10").value().metric;
  EXPECT_GT(best_test, def_test * 1.05) << r.best_trial().spec;
}

TEST(TuneTest, SuccessiveHalvingPromotesTheBestOfEachRung) {
  const Parts& p = planted();
  const TuneResult r = tune(p.train, p.validation, ials_options(13)).value();
  // Trial 0 is the defaults; bracket 1 trains 9 configurations for 2 iterations, then the
  // best 3 of them for 5.
  ASSERT_EQ(r.trials.size(), 13u);
  std::vector<std::pair<double, std::string>> rung0;
  for (size_t t = 1; t <= 9; ++t) {
    EXPECT_EQ(r.trials[t].resource, 2);
    EXPECT_FALSE(r.trials[t].full);
    rung0.emplace_back(r.trials[t].metric, r.trials[t].spec);
  }
  std::sort(rung0.begin(), rung0.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t t = 10; t <= 12; ++t) {
    EXPECT_EQ(r.trials[t].resource, 5);
    std::string promoted = rung0[t - 10].second;
    promoted.replace(promoted.find("iterations=2"), 12, "iterations=5");
    EXPECT_EQ(r.trials[t].spec, promoted);
  }
  // Only full-resource trials compete: the best is still the defaults.
  EXPECT_EQ(r.best, 0u);
}

TEST(TuneTest, SameSeedSameTrials) {
  const Parts& p = planted();
  const TuneResult a = tune(p.train, p.validation, ials_options(8)).value();
  const TuneResult b = tune(p.train, p.validation, ials_options(8)).value();
  ASSERT_EQ(a.trials.size(), b.trials.size());
  for (size_t t = 0; t < a.trials.size(); ++t) {
    EXPECT_EQ(a.trials[t].spec, b.trials[t].spec);
    EXPECT_DOUBLE_EQ(a.trials[t].metric, b.trials[t].metric);
  }
}

TEST(TuneTest, BudgetStopsBeforeTheNextTrial) {
  const Parts& p = planted();
  TuneOptions o = ials_options(0);
  o.budget_seconds = 1e-9;
  const TuneResult r = tune(p.train, p.validation, o).value();
  EXPECT_EQ(r.trials.size(), 1u);  // the defaults always run
  EXPECT_TRUE(r.out_of_budget);
}

TEST(TuneTest, RatingMetricsAreMinimised) {
  SynthOptions so;
  so.num_users = 300;
  so.num_items = 200;
  so.num_interactions = 8000;
  so.ratings = true;
  const Dataset d = synthesize(so).value().dataset;
  const TrainTest parts = split(d, {}).value();
  TuneOptions o;
  o.spec = "svd:epochs=5";
  o.space = default_search_space(o.spec).value();
  o.metric = "rmse";
  o.max_trials = 10;
  o.budget_seconds = 0;
  const TuneResult r = tune(parts.train, parts.test, o).value();
  EXPECT_TRUE(r.minimise);
  for (const Trial& t : r.trials) {
    if (t.full) {
      EXPECT_LE(r.best_trial().metric, t.metric);
    }
  }
  nlohmann::json j = r;
  EXPECT_EQ(j["trials"].size(), 10u);
  EXPECT_EQ(j["best"], r.best_trial().spec);
  EXPECT_EQ(j["metric"], "rmse");
}

// A configuration the model accepts but cannot fit costs only its trial: EASE refuses a
// catalogue (500 items) above max_items.
TEST(TuneTest, AFailingTrialIsRecordedAndTheSearchGoesOn) {
  const Parts& p = planted();
  TuneOptions o;
  o.spec = "ease";
  o.space = default_search_space(o.spec).value();
  ASSERT_OK(override_dimension(&o.space, "ease", "max_items=100,1000"));
  o.max_trials = 8;
  o.budget_seconds = 0;
  const auto r = tune(p.train, p.validation, o);
  ASSERT_OK(r.status());
  size_t failed = 0;
  for (const Trial& t : r.value().trials) {
    if (t.error.empty()) continue;
    ++failed;
    EXPECT_TRUE(std::isnan(t.metric));
    EXPECT_NE(t.spec.find("max_items=100,"), std::string::npos) << t.spec;
  }
  EXPECT_GT(failed, 0u);
  EXPECT_LT(failed, 8u);
  EXPECT_TRUE(r.value().best_trial().error.empty());
  o.spec = "ease:max_items=100";  // the spec as given must work
  o.space = default_search_space(o.spec).value();
  EXPECT_FALSE(tune(p.train, p.validation, o).is_ok());
}

TEST(TuneTest, ErrorsNameTheCause) {
  const Parts& p = planted();
  TuneOptions o = ials_options(5);
  o.metric = "ndcg";
  EXPECT_EQ(tune(p.train, p.validation, o).status().message(),
            "unknown metric 'ndcg' (known: precision, recall, ndcg, hit_rate, mrr, map, novelty, arp, coverage with "
            "@k; auc; rmse, mae)");
  o = ials_options(5);
  ASSERT_OK(override_dimension(&o.space, "ials", "factors=0..10"));
  EXPECT_EQ(tune(p.train, p.validation, o).status().message(),
            "search range 'factors=0..10': ials: parameter 'factors' must be an integer in [1, 4096], got '0'");
  o = ials_options(5);
  ASSERT_OK(override_dimension(&o.space, "ials", "iterations=1..5"));
  EXPECT_EQ(tune(p.train, p.validation, o).status().message(),
            "search range 'iterations': successive halving sets iterations; fix it in the spec for the full resource");
  o = ials_options(0);
  EXPECT_EQ(tune(p.train, p.validation, o).status().message(), "tune: give a time budget or a number of trials");
  o = ials_options(5);
  EXPECT_EQ(tune(p.train, p.train.with_interactions({}), o).status().message(), "tune: the validation split is empty");
}

}  // namespace
}  // namespace nudge
