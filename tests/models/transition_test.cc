#include "nudge/models/transition.h"

#include <gtest/gtest.h>

#include "nudge/evaluate.h"
#include "nudge/registry.h"
#include "nudge/split.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

// Items a=0, b=1, c=2. u0: a b c in time order (given out of order in the data); u1: a b;
// u2: a and c at the same second, a first in the data (ties keep the data's order).
Dataset sequences(bool tie_reversed = false) {
  DatasetBuilder b;
  for (int u = 0; u < 3; ++u) b.catalog().users.intern("u" + std::to_string(u));
  for (const char* i : {"a", "b", "c"}) b.catalog().items.intern(i);
  auto& x = b.interactions();
  x.push_back(0, 2, 0, 1.f, 30);
  x.push_back(0, 0, 0, 1.f, 10);
  x.push_back(0, 1, 0, 1.f, 20);
  x.push_back(1, 0, 0, 1.f, 5);
  x.push_back(1, 1, 0, 1.f, 6);
  x.push_back(2, tie_reversed ? 2 : 0, 0, 1.f, 50);
  x.push_back(2, tie_reversed ? 0 : 2, 0, 1.f, 50);
  return b.build();
}

std::unique_ptr<Recommender> fitted(const std::string& params, const Dataset& d) {
  auto m = make_recommender("transition", Params::parse(params).value()).value();
  EXPECT_TRUE(m->fit(d).is_ok());
  return m;
}

TEST(TransitionTest, CountsStepsInTimeOrderWithTiesInDataOrder) {
  const Dataset d = sequences();
  auto m = fitted("reach=1,popularity_weight=0", d);
  const CsrMatrix& p = dynamic_cast<const TransitionModel&>(*m).successors();
  EXPECT_FLOAT_EQ(p.at(0, 1), 2.f / 3.f);  // a -> b twice (u0, u1)
  EXPECT_FLOAT_EQ(p.at(0, 2), 1.f / 3.f);  // a -> c once (u2, the tie in data order)
  EXPECT_FLOAT_EQ(p.at(1, 2), 1.f);        // b -> c
  EXPECT_EQ(p.row_nnz(2), 0u);
  const auto reversed = fitted("reach=1", sequences(true));
  const CsrMatrix& q = dynamic_cast<const TransitionModel&>(*reversed).successors();
  EXPECT_FLOAT_EQ(q.at(2, 0), 1.f);  // the tie the other way round
  EXPECT_FLOAT_EQ(q.at(0, 1), 1.f);
}

TEST(TransitionTest, ScoresTheRecentItemsNewestFirstWithDecay) {
  const Dataset d = sequences();
  auto m = fitted("reach=1,decay=0.5,popularity_weight=0", d);
  std::vector<float> s(3);
  m->score_user(0, s);  // recent: c (no successors), b (x0.5), a (x0.25)
  EXPECT_FLOAT_EQ(s[2], 0.5f * 1.f + 0.25f / 3.f);
  EXPECT_FLOAT_EQ(s[1], 0.25f * 2.f / 3.f);
  EXPECT_FLOAT_EQ(s[0], 0.f);
  // A history is read oldest first: its newest item is the last one.
  const std::vector<uint32_t> hist = {1, 0};
  const std::vector<float> w = {1, 1};
  m->score_history(hist, w, s);
  EXPECT_FLOAT_EQ(s[1], 2.f / 3.f);
  EXPECT_FLOAT_EQ(s[2], 1.f / 3.f + 0.5f);
  // The server's recent items (newest first) win over the history's order.
  const std::vector<uint32_t> recent = {1, 0};
  UserHistory user{hist, w, recent, nullptr};
  std::vector<float> none;
  m->score_history_with(user, {}, s, none);
  EXPECT_FLOAT_EQ(s[2], 1.f + 0.5f / 3.f);
  EXPECT_FLOAT_EQ(s[1], 0.5f * 2.f / 3.f);
}

TEST(TransitionTest, ReachCountsLaterItemsAndPopularityBreaksTies) {
  const Dataset d = sequences();
  auto m = fitted("reach=2,popularity_weight=0", d);
  const CsrMatrix& p = dynamic_cast<const TransitionModel&>(*m).successors();
  // a -> b (u0, u1), a -> c (u2 at step 1, u0 at step 2, weight 1/2): 2 / 3.5 and 1.5 / 3.5.
  EXPECT_FLOAT_EQ(p.at(0, 1), 2.f / 3.5f);
  EXPECT_FLOAT_EQ(p.at(0, 2), 1.5f / 3.5f);
  std::vector<float> s(3);
  fitted("popularity_weight=1", d)->score_user(1, s);  // u1's recent: b, a
  EXPECT_GT(s[0], 0.f);                                // a leads to nothing from b, still scored
  std::vector<ScoredItem> similar;
  ASSERT_OK(m->similar_items(0, 5, &similar));
  ASSERT_EQ(similar.size(), 2u);
  EXPECT_EQ(similar[0].item, 1u);
  EXPECT_EQ(m->similar_items(7, 5, &similar).code(), Status::Code::kInvalidArgument);
}

// The order of events carries the signal (planted successors): the transition model, which
// reads it, beats item-KNN and iALS, which see a bag of items, at predicting each user's
// last item; without the sequential signal it has no such lead.
TEST(TransitionTest, BeatsOrderBlindModelsWhenTheOrderCarriesTheSignal) {
  for (const double sequential : {0.0, 0.8}) {
    SCOPED_TRACE(sequential);
    SynthOptions o;
    o.num_users = 1500;
    o.num_items = 1200;
    o.num_interactions = 45000;
    o.sequential = sequential;
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
    const double transition = ndcg("transition"), knn = ndcg("itemknn"), ials = ndcg("ials:factors=32,threads=1");
    if (sequential > 0) {
      EXPECT_GT(transition, 1.5 * std::max(knn, ials)) << transition << " vs itemknn " << knn << ", ials " << ials;
    } else {
      EXPECT_LT(transition, 1.2 * std::max(knn, ials)) << transition << " vs itemknn " << knn << ", ials " << ials;
    }
  }
}

}  // namespace
}  // namespace nudge
