// The fused index (src/serve/fused_index.cc) on a small fusion, every item checked against
// the fusion's own scores.
#include <gtest/gtest.h>

#include <cmath>

#include "nudge/serve/serving_model.h"
#include "nudge/synth.h"

namespace nudge::serve {
namespace {

// The fused index's closed form (per-user means and deviations from each component's item
// mean and covariance) gives the fusion's own scores for every item.
TEST(FusedIndex, FusedQueryReproducesTheFusionScores) {
  SynthOptions so;
  so.num_users = 80;
  so.num_items = 30;
  so.num_interactions = 1200;
  so.seed = 5;
  const Dataset data = synthesize(so).value().dataset;
  ServingModelOptions o;
  o.ann_min_items = 1;
  auto m = ServingModel::train(data,
                               "fusion:models=ials+twotower,ials.factors=6,ials.threads=1,twotower.factors=5,"
                               "twotower.epochs=3,twotower.threads=1",
                               {}, o, 1)
               .value();
  ASSERT_NE(m->fused_ann(), nullptr);
  for (const std::vector<uint32_t>& history : {std::vector<uint32_t>{1, 4, 9}, std::vector<uint32_t>{7}}) {
    const std::vector<float> weights(history.size(), 2.f);
    std::vector<float> direct(m->num_items()), scratch, query;
    m->score_history(UserHistory{history, weights}, direct, &scratch);
    float offset = 0;
    ASSERT_TRUE(m->fused_query(UserHistory{history, weights}, &query, &offset));
    for (uint32_t i = 0; i < m->num_items(); ++i) {
      const float fused =
          Eigen::Map<const Eigen::VectorXf>(query.data(), static_cast<Eigen::Index>(query.size()))
              .dot(Eigen::Map<const Eigen::VectorXf>(m->fused_row(i), static_cast<Eigen::Index>(query.size()))) +
          offset;
      EXPECT_NEAR(fused, direct[i], 1e-3f * (1.f + std::abs(direct[i]))) << "item " << i;
    }
  }
  // Only weighted z-score fusions of u . v + b models have one.
  auto ease = ServingModel::train(data, "fusion:models=ials+ease,ials.factors=4", {}, o, 2).value();
  EXPECT_EQ(ease->fused_ann(), nullptr);
  auto learned =
      ServingModel::train(
          data, "fusion:models=ials+twotower,method=learned,ials.threads=1,twotower.epochs=1,twotower.threads=1", {}, o,
          3)
          .value();
  EXPECT_EQ(learned->fused_ann(), nullptr);
}

}  // namespace
}  // namespace nudge::serve
