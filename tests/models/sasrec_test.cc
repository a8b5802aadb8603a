#include "nudge/models/sasrec.h"

#include <gtest/gtest.h>

#include "models/sasrec_network.h"
#include "nudge/evaluate.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

using nudge::testing::numeric_gradient;

// The whole encoder (embeddings, positions, two blocks of two-head attention, layer norms,
// feed-forward, dropout with fixed masks) against central differences, for every weight and
// every item-table entry, on a sequence that repeats an item.
TEST(SasrecTest, NetworkGradientMatchesFiniteDifferences) {
  const SasrecNetwork net({.factors = 4, .blocks = 2, .heads = 2, .max_length = 6});
  Rng rng(11);
  std::vector<float> weights(net.num_weights());
  net.initialise(rng, weights.data());
  for (float& w : weights) w += static_cast<float>(0.1 * rng.normal());  // gains and biases off 1 and 0
  std::vector<float> items(7 * 4);
  for (float& v : items) v = static_cast<float>(0.5 * rng.normal());
  const std::vector<uint32_t> sequence{1, 3, 3, 0, 6};
  nn::Matrix r(5, 4);
  for (Eigen::Index k = 0; k < r.size(); ++k) r.data()[k] = static_cast<float>(rng.normal());
  auto loss = [&] {
    SasrecNetwork::Cache cache;
    nn::Matrix out;
    Rng drop(5);
    net.forward(weights.data(), items.data(), sequence, 0.3f, &drop, &cache, &out);
    return static_cast<double>((out.array() * r.array()).sum());
  };
  SasrecNetwork::Cache cache;
  nn::Matrix out;
  Rng drop(5);
  net.forward(weights.data(), items.data(), sequence, 0.3f, &drop, &cache, &out);
  std::vector<float> gw(weights.size(), 0.f), gi(items.size(), 0.f);
  net.backward(weights.data(), sequence, cache, r, gw.data(), gi.data());
  size_t checked = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const double num = numeric_gradient(&weights[k], loss);
    EXPECT_NEAR(gw[k], num, 1e-2 + 2e-2 * std::abs(num)) << "weight " << k;
    checked += num != 0;
  }
  for (size_t k = 0; k < items.size(); ++k) {
    const double num = numeric_gradient(&items[k], loss);
    EXPECT_NEAR(gi[k], num, 1e-2 + 2e-2 * std::abs(num)) << "item entry " << k;
  }
  EXPECT_GT(checked, weights.size() / 2);                     // most weights matter (not a check of zeros)
  for (int c = 0; c < 4; ++c) EXPECT_EQ(gi[2 * 4 + c], 0.f);  // item 2 is not in the sequence
}

// Sequences whose next item follows the previous one (planted successors): sasrec, which
// reads the order, beats item-KNN and iALS by a wide margin at predicting the last item.
TEST(SasrecTest, BeatsOrderBlindModelsWhenTheOrderCarriesTheSignal) {
  SynthOptions o;
  o.num_users = 1500;
  o.num_items = 1200;
  o.num_interactions = 45000;
  o.sequential = 0.8;
  o.seed = 5;
  const Dataset d = synthesize(o).value().dataset;
  const TrainTest tt = split(d, {.method = SplitMethod::kLeaveLastOut, .seed = 1}).value();
  EvalOptions eo;
  eo.ks = {10};
  eo.compute_auc = false;
  auto ndcg = [&](const std::string& spec) {
    auto m = make_recommender_from_spec(spec).value();
    EXPECT_TRUE(m->fit(tt.train).is_ok());
    return evaluate_full_ranking(*m, tt.train, tt.test, eo).metrics.at("ndcg@10");
  };
  const double sasrec =
      ndcg("sasrec:factors=32,blocks=1,max_length=20,epochs=15,learning_rate=0.005,validation_users=300,threads=1");
  const double knn = ndcg("itemknn"), ials = ndcg("ials:factors=32,threads=1");
  EXPECT_GT(sasrec, 1.5 * std::max(knn, ials)) << sasrec << " vs itemknn " << knn << ", ials " << ials;
}

Dataset small_sequences() {
  SynthOptions o;
  o.num_users = 200;
  o.num_items = 150;
  o.num_interactions = 4000;
  o.sequential = 0.8;
  o.seed = 3;
  return synthesize(o).value().dataset;
}

// A served user (recent items newest first, as serving tracks them) is scored exactly as the
// same user offline, and the encoding is the history vector the nearest-neighbour index ranks by.
TEST(SasrecTest, ServedUserEqualsOfflineUser) {
  const Dataset d = small_sequences();
  auto m = make_recommender_from_spec("sasrec:factors=8,blocks=1,max_length=10,epochs=2,threads=1").value();
  ASSERT_OK(m->fit(d));
  const auto& s = dynamic_cast<const SasrecModel&>(*m);
  // User 7's events in time order, the last 10 of them, newest first.
  const Interactions& in = d.interactions();
  std::vector<std::pair<int64_t, uint32_t>> events;
  for (size_t k = 0; k < in.size(); ++k)
    if (in.users[k] == 7) events.emplace_back(in.timestamps[k], in.items[k]);
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<uint32_t> recent;
  for (size_t k = events.size(); k-- > 0 && recent.size() < 10;) recent.push_back(events[k].second);
  std::vector<uint32_t> items(recent.begin(), recent.end());
  std::sort(items.begin(), items.end());
  const std::vector<float> weights(items.size(), 1.f);
  UserHistory user{items, weights, recent, nullptr};
  std::vector<float> offline(d.num_items()), served(d.num_items());
  m->score_user(7, offline);
  EXPECT_TRUE(m->has_feature_view());  // the synthetic items have categories and tags
  EXPECT_TRUE(m->score_history_with(user, {}, served, {}));
  EXPECT_EQ(offline, served);
  std::vector<float> h(8);
  ASSERT_TRUE(m->history_vector(user, h));
  const auto e = m->item_embeddings();
  ASSERT_EQ(e.dim, 8u);
  for (uint32_t i = 0; i < d.num_items(); ++i) {
    float dot = 0;
    for (uint32_t c = 0; c < 8; ++c) dot += h[c] * e.data[size_t{i} * 8 + c];
    EXPECT_NEAR(dot, served[i], 1e-4 * (1 + std::abs(served[i])));
  }
  // The attention of the newest position is a distribution over the encoded items.
  std::vector<float> attention;
  std::vector<uint32_t> oldest_first(recent.rbegin(), recent.rend());
  s.encode(oldest_first, h, &attention);
  ASSERT_EQ(attention.size(), oldest_first.size());
  float total = 0;
  for (float a : attention) total += a;
  EXPECT_NEAR(total, 1.f, 1e-4);
  // The event just posted changes the answer.
  std::vector<uint32_t> longer = oldest_first;
  longer.push_back(longer.front());
  std::vector<float> after(d.num_items());
  m->score_history(longer, std::vector<float>(longer.size(), 1.f), after);
  EXPECT_NE(after, served);
}

// With features, an item is its ID embedding plus its feature tokens' mean, so an item
// described after training (cold start) is scored from its category alone: after a user's
// newest event, a new item of that item's category (where its planted successors are)
// outscores a new item of another category for most users; without features it cannot.
TEST(SasrecTest, ColdItemsDescribedByFeaturesFollowTheSequence) {
  const Dataset d = small_sequences();
  const FeatureTable& f = d.catalog().item_features;
  const uint32_t field = f.find_field("category").value();
  auto category = [&](uint32_t item) {
    for (uint32_t t : f.tokens(item))
      if (f.token_field(t) == field) return std::string(f.token_value(t));
    return std::string();
  };
  for (const bool features : {true, false}) {
    SCOPED_TRACE(features);
    auto m = make_recommender_from_spec(std::string("sasrec:factors=16,blocks=1,max_length=10,epochs=20,"
                                                    "learning_rate=0.01,validation_users=0,threads=1,features=") +
                                        (features ? "true" : "false"))
                 .value();
    ASSERT_OK(m->fit(d));
    EXPECT_EQ(m->has_feature_view(), features);
    const auto& s = dynamic_cast<const SasrecModel&>(*m);
    int wins = 0, users = 0;
    std::vector<float> scores(d.num_items()), described_scores(2);
    for (uint32_t u = 0; u < d.num_users(); ++u) {
      const auto seq = s.user_sequence(u);
      const std::string own = category(seq.back());
      const std::string other = own == "c00" ? "c01" : "c00";
      std::vector<FeatureDescription> described(2);
      described[0].values = {{"category", own}};
      described[1].values = {{"category", other}};
      const std::vector<float> ones(seq.size(), 1.f);
      std::vector<uint32_t> items(seq.begin(), seq.end());
      std::sort(items.begin(), items.end());
      items.erase(std::unique(items.begin(), items.end()), items.end());
      const std::vector<float> weights(items.size(), 1.f);
      std::vector<uint32_t> recent(seq.rbegin(), seq.rend());
      recent.erase(std::unique(recent.begin(), recent.end()), recent.end());
      m->score_history_with(UserHistory{items, weights, recent, nullptr}, described, scores, described_scores);
      wins += described_scores[0] > described_scores[1];
      ++users;
    }
    if (features) {
      EXPECT_GT(wins, 0.8 * users) << wins << " of " << users;
    } else {
      EXPECT_EQ(wins, 0) << "no features: every described item scores 0";
    }
  }
}

// A warm start (a fusion's refit, a background retrain) continues from the last fit: its
// first epoch's loss is already near where the last fit ended, and it runs epochs / 5 at most.
TEST(SasrecTest, WarmStartContinuesFromTheLastFit) {
  const Dataset d = small_sequences();
  const TrainTest tt = split(d, {.method = SplitMethod::kLeaveLastOut, .seed = 1}).value();
  for (const char* features : {"true", "false"}) {
    SCOPED_TRACE(features);
    auto m = make_recommender_from_spec(std::string("sasrec:factors=8,blocks=1,max_length=10,epochs=10,"
                                                    "learning_rate=0.01,validation_users=0,threads=1,features=") +
                                        features)
                 .value();
    ASSERT_OK(m->fit(tt.train));
    const std::vector<double> cold(m->epoch_losses().begin(), m->epoch_losses().end());
    ASSERT_OK(m->fit_warm(d));
    ASSERT_EQ(m->epoch_losses().size(), 2u);
    EXPECT_LT(m->epoch_losses().front(), 0.5 * (cold.front() + cold.back())) << cold.front() << " " << cold.back();
    m->release_training_state();
    ASSERT_OK(m->fit_warm(d));  // with features and no kept state: from scratch
    EXPECT_EQ(m->epoch_losses().size(), std::string(features) == "true" ? 10u : 2u);
  }
}

TEST(SasrecTest, EarlyStoppingKeepsTheBestEpochAndSampledLossTrains) {
  const Dataset d = small_sequences();
  // With and without item features (the kept epoch must be reported the same either way).
  for (const auto& [loss, features] :
       std::vector<std::pair<std::string, std::string>>{{"full", "true"}, {"sampled", "true"}, {"full", "false"}}) {
    SCOPED_TRACE(loss + ", features=" + features);
    auto m = make_recommender_from_spec(
                 "sasrec:factors=8,blocks=1,max_length=10,epochs=30,patience=2,"
                 "negatives=50,validation_users=100,threads=1,loss=" +
                 loss + ",features=" + features)
                 .value();
    ASSERT_OK(m->fit(d));
    const auto& s = dynamic_cast<const SasrecModel&>(*m);
    EXPECT_EQ(s.loss_used(), loss);
    ASSERT_FALSE(s.validation_ndcg().empty());
    EXPECT_EQ(s.validation_ndcg().size(), m->epoch_losses().size());
    const double best = *std::max_element(s.validation_ndcg().begin(), s.validation_ndcg().end());
    EXPECT_EQ(s.validation_ndcg()[static_cast<size_t>(s.best_epoch() - 1)], best);
    // Training lowers the loss.
    EXPECT_LT(m->epoch_losses().back(), m->epoch_losses().front());
  }
}

// Threads split each batch into fixed chunks with a gradient each, summed in chunk order:
// two runs on two threads agree exactly, and one thread differs only by rounding.
TEST(SasrecTest, SeededFitIsReproducibleOnAnyThreadCount) {
  const Dataset d = small_sequences();
  auto scores = [&](const char* threads) {
    auto m =
        make_recommender_from_spec(std::string("sasrec:factors=8,blocks=1,max_length=10,epochs=2,threads=") + threads)
            .value();
    EXPECT_TRUE(m->fit(d).is_ok());
    std::vector<float> s(d.num_items());
    m->score_user(3, s);
    return s;
  };
  const std::vector<float> one = scores("1"), two = scores("2"), again = scores("2");
  EXPECT_EQ(two, again);
  for (uint32_t i = 0; i < d.num_items(); ++i) EXPECT_NEAR(one[i], two[i], 2e-2 * (1 + std::abs(one[i])));
}

TEST(SasrecTest, RefusesHeadsThatDoNotDivideTheWidth) {
  const auto r = make_recommender_from_spec("sasrec:factors=10,heads=3");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("multiple of heads"), std::string::npos);
}

}  // namespace
}  // namespace nudge
