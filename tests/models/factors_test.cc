// The factor matrices' helpers: the batch product every dot-product model scores through,
// and the file round trip.
#include "nudge/models/factors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.h"

namespace nudge {
namespace {

// Against a plain double loop, on shapes that end inside a tile (2,500 items: two full tiles
// of 1,024 and a part), with and without a bias, one row and several.
TEST(ScoreByProductTest, EqualsTheDotProductOfEveryUserAndItem) {
  Rng rng(11);
  for (const size_t rows : {1u, 5u}) {
    for (const bool with_bias : {false, true}) {
      const size_t items = 2500, dim = 24;
      const FactorMatrix u = random_factors(static_cast<Eigen::Index>(rows), dim, 1.0, rng);
      const FactorMatrix v = random_factors(items, dim, 1.0, rng);
      std::vector<float> bias(items);
      for (float& b : bias) b = static_cast<float>(rng.normal());
      std::vector<float> out(rows * items, NAN);
      score_by_product(u.data(), rows, v.data(), items, dim, with_bias ? bias.data() : nullptr, out.data());
      double worst = 0;
      for (size_t r = 0; r < rows; ++r) {
        for (size_t i = 0; i < items; ++i) {
          double dot = with_bias ? bias[i] : 0.0;
          for (size_t f = 0; f < dim; ++f)
            dot += static_cast<double>(u(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(f))) *
                   v(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(f));
          worst = std::max(worst, std::fabs(out[r * items + i] - dot));
        }
      }
      EXPECT_LT(worst, 1e-4) << rows << " rows, bias " << with_bias;
    }
  }
}

TEST(GatherRowsTest, TakesTheListedRowsInOrderWithRepeats) {
  Rng rng(5);
  const FactorMatrix m = random_factors(6, 3, 1.0, rng);
  const std::vector<uint32_t> rows = {4, 0, 4};
  const FactorMatrix g = gather_rows(m, rows);
  ASSERT_EQ(g.rows(), 3);
  for (Eigen::Index r = 0; r < 3; ++r) EXPECT_EQ(g.row(r), m.row(rows[static_cast<size_t>(r)]));
  EXPECT_EQ(gather_rows(m, {}).rows(), 0);
}

TEST(ScoreByProductTest, NoRowsWritesNothing) {
  const FactorMatrix v = FactorMatrix::Ones(10, 4);
  score_by_product(nullptr, 0, v.data(), 10, 4, nullptr, nullptr);
}

TEST(FactorsFileTest, RoundTripsAndRefusesAnImplausibleShape) {
  Rng rng(3);
  const FactorMatrix m = random_factors(7, 5, 1.0, rng);
  ModelWriter out;
  write_factors(out, m);
  ModelReader in(out.bytes(), "test");
  FactorMatrix back;
  ASSERT_OK(read_factors(in, &back, "factors"));
  EXPECT_EQ(back, m);

  ModelWriter bad;
  bad.u64(3);
  bad.u64(0);  // no columns
  ModelReader bad_in(bad.bytes(), "test");
  EXPECT_FALSE(read_factors(bad_in, &back, "factors").is_ok());
}

}  // namespace
}  // namespace nudge
