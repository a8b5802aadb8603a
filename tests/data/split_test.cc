#include "nudge/split.h"

#include <gtest/gtest.h>

#include <set>

#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

Dataset synthetic(bool repeats) {
  SynthOptions o;
  o.num_users = 300;
  o.num_items = 200;
  o.num_interactions = 12000;
  o.unique_pairs = !repeats;
  return synthesize(o).value().dataset;
}

std::set<std::pair<uint32_t, uint32_t>> pairs(const Dataset& d) {
  std::set<std::pair<uint32_t, uint32_t>> out;
  for (size_t r = 0; r < d.num_interactions(); ++r) out.insert({d.interactions().users[r], d.interactions().items[r]});
  return out;
}

void expect_no_leakage(const TrainTest& tt) {
  const auto train = pairs(tt.train);
  for (const auto& p : pairs(tt.test)) ASSERT_FALSE(train.contains(p)) << "pair in train and test";
}

TEST(SplitTest, RandomSplitIsReproducibleWithoutLeakage) {
  const Dataset d = synthetic(true);
  const TrainTest a = split(d, {.method = SplitMethod::kRandom, .test_fraction = 0.25, .seed = 9}).value();
  const TrainTest b = split(d, {.method = SplitMethod::kRandom, .test_fraction = 0.25, .seed = 9}).value();
  const TrainTest c = split(d, {.method = SplitMethod::kRandom, .test_fraction = 0.25, .seed = 10}).value();
  EXPECT_EQ(a.test.interactions().items, b.test.interactions().items);
  EXPECT_NE(a.test.interactions().items, c.test.interactions().items);
  EXPECT_EQ(a.train.num_interactions() + a.test.num_interactions(), d.num_interactions());
  const double share = static_cast<double>(pairs(a.test).size()) / static_cast<double>(pairs(d).size());
  EXPECT_NEAR(share, 0.25, 0.02);
  expect_no_leakage(a);
  EXPECT_EQ(&a.train.catalog(), &d.catalog());
}

TEST(SplitTest, LeaveLastOutTakesEachUsersLatestPair) {
  const Dataset d = synthetic(false);
  const TrainTest tt = split(d, {.method = SplitMethod::kLeaveLastOut}).value();
  expect_no_leakage(tt);
  EXPECT_EQ(tt.test.num_interactions(), d.num_users());  // one pair each, no repeats here
  std::vector<int64_t> last_train(d.num_users(), INT64_MIN);
  for (size_t r = 0; r < tt.train.num_interactions(); ++r) {
    auto& l = last_train[tt.train.interactions().users[r]];
    l = std::max(l, tt.train.interactions().timestamps[r]);
  }
  for (size_t r = 0; r < tt.test.num_interactions(); ++r) {
    EXPECT_GE(tt.test.interactions().timestamps[r], last_train[tt.test.interactions().users[r]]);
  }
}

TEST(SplitTest, LeaveLastOutMovesEveryEventOfThePairAndSparesSingleItemUsers) {
  DatasetBuilder b;
  auto& c = b.catalog();
  const uint32_t u = c.users.intern("u"), solo = c.users.intern("solo");
  const uint32_t x = c.items.intern("x"), y = c.items.intern("y");
  b.interactions().push_back(u, y, 0, 1, 1);
  b.interactions().push_back(u, x, 0, 1, 2);
  b.interactions().push_back(u, y, 0, 1, 3);  // latest: y, so both y events go to test
  b.interactions().push_back(solo, x, 0, 1, 4);
  b.interactions().push_back(solo, x, 0, 1, 5);
  const TrainTest tt = split(b.build(), {.method = SplitMethod::kLeaveLastOut}).value();
  EXPECT_EQ(tt.test.interactions().timestamps, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(tt.train.interactions().timestamps, (std::vector<int64_t>{2, 4, 5}));
}

TEST(SplitTest, TemporalCutRespectsTimeAndDropsSeenPairs) {
  const Dataset d = synthetic(true);
  const TrainTest tt = split(d, {.method = SplitMethod::kTemporal, .test_fraction = 0.2}).value();
  int64_t max_train = INT64_MIN, min_test = INT64_MAX;
  for (int64_t t : tt.train.interactions().timestamps) max_train = std::max(max_train, t);
  for (int64_t t : tt.test.interactions().timestamps) min_test = std::min(min_test, t);
  EXPECT_LT(max_train, min_test);
  EXPECT_NEAR(static_cast<double>(tt.train.num_interactions()) / d.num_interactions(), 0.8, 0.01);
  expect_no_leakage(tt);
}

TEST(SplitTest, KFoldPartitionsPairs) {
  const Dataset d = synthetic(true);
  const auto folds = k_fold(d, 5, 3).value();
  ASSERT_EQ(folds.size(), 5u);
  std::set<std::pair<uint32_t, uint32_t>> seen;
  size_t test_rows = 0;
  for (const auto& f : folds) {
    expect_no_leakage(f);
    EXPECT_EQ(f.train.num_interactions() + f.test.num_interactions(), d.num_interactions());
    test_rows += f.test.num_interactions();
    for (const auto& p : pairs(f.test)) ASSERT_TRUE(seen.insert(p).second) << "pair in two test folds";
  }
  EXPECT_EQ(test_rows, d.num_interactions());
  EXPECT_EQ(seen, pairs(d));
}

TEST(SplitTest, ValidationComesOutOfTrain) {
  const Dataset d = synthetic(false);
  const auto parts =
      split_with_validation(d, {.method = SplitMethod::kLeaveLastOut}, {.method = SplitMethod::kLeaveLastOut}).value();
  EXPECT_EQ(parts.train.num_interactions() + parts.validation.num_interactions() + parts.test.num_interactions(),
            d.num_interactions());
  expect_no_leakage({parts.train, parts.validation});
  expect_no_leakage({parts.train, parts.test});
}

TEST(SplitTest, BadArguments) {
  const Dataset d = synthetic(false);
  EXPECT_EQ(split(d, {.method = SplitMethod::kRandom, .test_fraction = 1.5}).status().to_string(),
            "invalid argument: test fraction must be in (0, 1), got 1.500000");
  EXPECT_EQ(k_fold(d, 1, 0).status().to_string(), "invalid argument: k-fold needs k >= 2, got 1");
  EXPECT_EQ(parse_split_method("stratified").status().to_string(),
            "invalid argument: unknown split method 'stratified' (known: random, leave-last, temporal)");
}

}  // namespace
}  // namespace nudge
