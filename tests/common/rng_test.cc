#include "nudge/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nudge {
namespace {

TEST(RngTest, SameSeedSameStream) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(RngTest, UniformIndexCoversRangeEvenly) {
  Rng rng(1);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t k = rng.uniform_index(10);
    ASSERT_LT(k, 10u);
    ++counts[k];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // ~4 sigma
}

TEST(RngTest, DistributionMoments) {
  Rng rng(3);
  const int n = 200000;
  double sum = 0, sq = 0, gsum = 0, esum = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    sum += x;
    sq += x * x;
    gsum += rng.gamma(0.5);
    esum += rng.exponential(2.0);
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  EXPECT_NEAR(gsum / n, 0.5, 0.01);  // mean of Gamma(k, 1) is k
  EXPECT_NEAR(esum / n, 0.5, 0.01);  // mean of Exp(rate) is 1/rate
}

TEST(RngTest, ForkedStreamsDiffer) {
  Rng base(5);
  Rng a = base.fork(0), b = base.fork(1);
  EXPECT_NE(a.next_u64(), b.next_u64());
}

}  // namespace
}  // namespace nudge
