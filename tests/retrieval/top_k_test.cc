#include "nudge/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "nudge/rng.h"

namespace nudge {
namespace {

TEST(TopKTest, BestFirstWithTiesToLowerIndexAndExclusions) {
  const std::vector<float> s = {0.5f, 0.9f, 0.9f, NAN, 0.1f, 0.7f};
  std::vector<ScoredItem> out;
  const std::vector<uint32_t> ex = {5, 5};
  top_k(s, 3, ex, &out);
  EXPECT_EQ(out, (std::vector<ScoredItem>{{1, 0.9f}, {2, 0.9f}, {0, 0.5f}}));
  top_k(s, 100, {}, &out);
  EXPECT_EQ(out.size(), 5u);  // NaN skipped; k beyond the catalogue returns what exists
  top_k(s, 0, {}, &out);
  EXPECT_TRUE(out.empty());
}

TEST(TopKTest, MatchesAFullSortOracle) {
  Rng rng(5);
  std::vector<float> s(5000);
  for (auto& x : s) x = static_cast<float>(rng.uniform_index(200));  // many ties
  std::vector<uint32_t> ex;
  for (uint32_t i = 0; i < 5000; i += 7) ex.push_back(i);
  std::vector<ScoredItem> all;
  for (uint32_t i = 0; i < s.size(); ++i) {
    if (!std::binary_search(ex.begin(), ex.end(), i)) all.push_back({i, s[i]});
  }
  std::sort(all.begin(), all.end(),
            [](auto a, auto b) { return a.score > b.score || (a.score == b.score && a.item < b.item); });
  std::vector<ScoredItem> out;
  top_k(s, 50, ex, &out);
  EXPECT_EQ(out, std::vector<ScoredItem>(all.begin(), all.begin() + 50));
}

// NaN, infinities, exclusions past the end and repeated, every k from 1 to past the
// catalogue: the same as sorting everything. Short catalogues, and long ones with few
// exclusions, so that runs span the scan's groups of 64 (skipped whole when none beats the
// worst kept), some with rising scores, where every group holds a better item.
TEST(TopKTest, MatchesTheOracleOnEdgeScores) {
  Rng rng(9);
  for (int trial = 0; trial < 600; ++trial) {
    const bool long_runs = trial % 2 == 1, rising = trial % 4 == 3;
    const uint32_t n = rng.uniform_index(long_runs ? 700 : 40);
    std::vector<float> s(n);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t r = rng.uniform_index(long_runs ? 40 : 10);
      s[i] = r == 0   ? NAN
             : r == 1 ? -INFINITY
             : r == 2 ? INFINITY
             : rising ? static_cast<float>(i / 3)
                      : static_cast<float>(rng.uniform_index(4));
    }
    std::vector<uint32_t> ex;
    for (uint32_t i = 0; i < n + 3; ++i)
      if (rng.uniform() < (long_runs ? 0.005 : 0.25)) ex.insert(ex.end(), rng.uniform() < 0.2 ? 2 : 1, i);
    std::vector<ScoredItem> all;
    for (uint32_t i = 0; i < n; ++i)
      if (!std::isnan(s[i]) && !std::binary_search(ex.begin(), ex.end(), i)) all.push_back({i, s[i]});
    std::sort(all.begin(), all.end(),
              [](auto a, auto b) { return a.score > b.score || (a.score == b.score && a.item < b.item); });
    const size_t k = 1 + rng.uniform_index(n + 3);
    std::vector<ScoredItem> out;
    top_k(s, k, ex, &out);
    ASSERT_EQ(out,
              std::vector<ScoredItem>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(k, all.size()))))
        << "trial " << trial;
  }
}

}  // namespace
}  // namespace nudge
