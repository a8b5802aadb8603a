#include "nudge/models/ials.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nudge/split.h"
#include "nudge/synth.h"

namespace nudge {
namespace {

Dataset data() {
  SynthOptions o;
  o.num_users = 400;
  o.num_items = 300;
  o.num_interactions = 20000;
  o.num_topics = 6;
  return synthesize(o).value().dataset;
}

IalsModel model(const std::string& extra = "") {
  const Params p = Params::parse("factors=16,iterations=0" + extra).value();
  return IalsModel(IalsOptions::from_params(p).value(), p);
}

TEST(IalsTest, LossNeverIncreasesAcrossSweeps) {
  const Dataset d = data();
  for (const char* extra : {"", ",cg_steps=0", ",reg_exponent=1,regularization=0.001"}) {
    IalsModel m = model(extra);
    ASSERT_TRUE(m.fit(d).is_ok());
    double prev = m.loss(d);
    for (int it = 0; it < 8; ++it) {
      ASSERT_TRUE(m.fit_more(d, 1).is_ok());
      const double now = m.loss(d);
      EXPECT_LE(now, prev * (1 + 1e-5)) << extra << " sweep " << it;
      prev = now;
    }
  }
}

// training_loss: each sweep's loss per unit of confidence, what the epoch listener hears; off
// by default (nothing logged, the listener hears NaN).
TEST(IalsTest, TrainingLossIsLoggedPerSweepWhenAskedFor) {
  const Dataset d = data();
  IalsModel m = model(",training_loss=true,alpha=3");  // fit: 0 sweeps, then 5
  std::vector<double> heard;
  m.set_epoch_listener([&](int64_t, double loss) {
    heard.push_back(loss);
    return true;
  });
  ASSERT_TRUE(m.fit(d).is_ok());
  ASSERT_TRUE(m.fit_more(d, 5).is_ok());
  ASSERT_EQ(m.epoch_losses().size(), 5u);
  EXPECT_EQ(heard, std::vector<double>(m.epoch_losses().begin(), m.epoch_losses().end()));
  double confidence = static_cast<double>(d.num_users()) * d.num_items() - static_cast<double>(d.user_items().nnz());
  for (float w : d.user_items().values) confidence += 1.0 + 3.0 * w;
  EXPECT_NEAR(m.epoch_losses().back(), m.loss(d) / confidence, 1e-9 * m.loss(d));
  for (size_t k = 1; k < heard.size(); ++k) EXPECT_LE(heard[k], heard[k - 1] * (1 + 1e-5));
  IalsModel quiet = model();
  bool nan = false;
  quiet.set_epoch_listener([&](int64_t, double loss) {
    nan = std::isnan(loss);
    return true;
  });
  ASSERT_TRUE(quiet.fit(d).is_ok());
  ASSERT_TRUE(quiet.fit_more(d, 2).is_ok());
  EXPECT_TRUE(quiet.epoch_losses().empty());
  EXPECT_TRUE(nan);
}

// fit_warm() from a fit on 90 % of the events reaches the loss of a full fit on all of them
// in a fifth of the sweeps; the same sweeps from random factors do not.
TEST(IalsTest, AWarmStartReachesTheLossOfAFullFit) {
  const Dataset d = data();
  const TrainTest parts = split(d, {.method = SplitMethod::kTemporal, .test_fraction = 0.1}).value();
  auto with = [](const char* iterations) {
    const Params p = Params::parse(std::string("factors=16,iterations=") + iterations).value();
    return IalsModel(IalsOptions::from_params(p).value(), p);
  };
  IalsModel full = with("15"), warm = with("15"), fresh = with("3");
  ASSERT_TRUE(full.fit(d).is_ok());
  ASSERT_TRUE(warm.fit(parts.train).is_ok());
  ASSERT_TRUE(warm.fit_warm(d).is_ok());
  ASSERT_TRUE(fresh.fit(d).is_ok());
  std::printf("loss: full %.1f, warm %.1f, three sweeps from scratch %.1f\n", full.loss(d), warm.loss(d),
              fresh.loss(d));
  EXPECT_LT(warm.loss(d), 1.01 * full.loss(d));
  EXPECT_LT(warm.loss(d), fresh.loss(d));
}

TEST(IalsTest, FoldInOfATrainingUserMatchesItsTrainedVector) {
  const Dataset d = data();
  IalsModel m = model(",cg_steps=0");  // exact solves: the fold-in solves the same problem
  ASSERT_TRUE(m.fit(d).is_ok());
  ASSERT_TRUE(m.fit_more(d, 10).is_ok());
  // After a user half-step the stored vector is the exact solution given the items; one more
  // user half-step is what fold_in computes, so they agree up to solver round-off.
  const CsrMatrix& ui = d.user_items();
  double worst = 0;
  for (uint32_t u = 0; u < 50; ++u) {
    const Eigen::VectorXf folded = m.fold_in(ui.row_indices(u), ui.row_values(u));
    const Eigen::VectorXf trained = m.user_factors().row(u).transpose();
    // The item side moved after the user side was solved, so allow a small relative gap.
    worst = std::max(worst, static_cast<double>((folded - trained).norm() / trained.norm()));
  }
  EXPECT_LT(worst, 0.05);
}

TEST(IalsTest, ThreadCountDoesNotChangeTheModel) {
  const Dataset d = data();
  IalsModel one = model(",threads=1"), two = model(",threads=2");
  ASSERT_TRUE(one.fit(d).is_ok() && one.fit_more(d, 3).is_ok());
  ASSERT_TRUE(two.fit(d).is_ok() && two.fit_more(d, 3).is_ok());
  EXPECT_EQ(one.item_factors(), two.item_factors());
}

}  // namespace
}  // namespace nudge
