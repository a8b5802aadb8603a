#include "nudge/models/popularity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nudge/dataset.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "test_util.h"

namespace nudge {
namespace {

// Item 0: three old events; item 1: two events a day old at most; item 2: one event now.
Dataset events() {
  DatasetBuilder b;
  for (int u = 0; u < 3; ++u) b.catalog().users.intern("u" + std::to_string(u));
  for (int i = 0; i < 3; ++i) b.catalog().items.intern("i" + std::to_string(i));
  constexpr int64_t kDay = 86400, kNow = 100 * kDay;
  for (uint32_t u = 0; u < 3; ++u) b.interactions().push_back(u, 0, 0, 1.f, kNow - 30 * kDay);
  b.interactions().push_back(0, 1, 0, 1.f, kNow - kDay);
  b.interactions().push_back(1, 1, 0, 1.f, kNow);
  b.interactions().push_back(2, 2, 0, 1.f, kNow);
  return b.build();
}

std::unique_ptr<Recommender> fitted(const std::string& params) {
  auto m = make_recommender("popularity", Params::parse(params).value()).value();
  EXPECT_TRUE(m->fit(events()).is_ok());
  return m;
}

TEST(PopularityTest, CountsWithoutDecayAndHalvesPerHalfLife) {
  std::vector<float> s(3);
  fitted("")->score_user(0, s);
  EXPECT_EQ(s, (std::vector<float>{3.f, 2.f, 1.f}));
  fitted("half_life_days=1")->score_user(0, s);
  EXPECT_NEAR(s[0], 3 * std::pow(2.0, -30), 1e-9);
  EXPECT_FLOAT_EQ(s[1], 1.5f) << "one event a day old counts half";
  EXPECT_FLOAT_EQ(s[2], 1.f);
}

TEST(PopularityTest, EveryUserAndEveryHistoryGetsTheSameScoresAndAFileKeepsThem) {
  const auto m = fitted("half_life_days=7");
  std::vector<float> a(3), b(3);
  m->score_user(0, a);
  m->score_user(2, b);
  EXPECT_EQ(a, b);
  const std::vector<uint32_t> history = {2};
  const std::vector<float> weights = {1.f};
  m->score_history(history, weights, b);
  EXPECT_EQ(a, b);
  testing::TempDir dir;
  const Dataset d = events();
  ASSERT_TRUE(save_model(*m, d.catalog().users, d.catalog().items, d.user_items(), dir.file("p.nudge")).is_ok());
  load_model(dir.file("p.nudge")).value().model->score_user(1, b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace nudge
