#include "serve/ann_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "nudge/rng.h"

namespace nudge::serve {
namespace {

TEST(AnnIndex, RecallAgainstExactInnerProduct) {
  constexpr uint32_t kItems = 2000, kDim = 16;  // small: this test also runs under TSan
  Rng rng(3);
  std::vector<float> v(static_cast<size_t>(kItems) * kDim);
  for (float& x : v) x = static_cast<float>(rng.normal());
  std::vector<uint32_t> rows;
  for (uint32_t i = 0; i < kItems; i += 2) rows.push_back(i);  // only even rows are indexed
  AnnIndex index(v.data(), kDim, rows, AnnOptions{.threads = 2});
  EXPECT_EQ(index.size(), rows.size());
  size_t hits = 0, total = 0;
  std::vector<ScoredItem> got;
  for (int q = 0; q < 50; ++q) {
    std::vector<float> query(kDim);
    for (float& x : query) x = static_cast<float>(rng.normal());
    std::vector<ScoredItem> exact;
    for (uint32_t r : rows) {
      float s = 0;
      for (uint32_t d = 0; d < kDim; ++d) s += v[static_cast<size_t>(r) * kDim + d] * query[d];
      exact.push_back({r, s});
    }
    std::sort(exact.begin(), exact.end(), [](auto& a, auto& b) { return a.score > b.score; });
    index.search(query.data(), 10, &got);
    ASSERT_EQ(got.size(), 10u);
    for (size_t k = 0; k + 1 < got.size(); ++k) EXPECT_GE(got[k].score, got[k + 1].score);
    for (const auto& g : got) {
      EXPECT_EQ(g.item % 2, 0u);
      for (int k = 0; k < 10; ++k) hits += exact[k].item == g.item;
    }
    total += 10;
  }
  const double recall = static_cast<double>(hits) / static_cast<double>(total);
  EXPECT_GE(recall, 0.9);
  std::printf("recall@10 %.3f\n", recall);
}

}  // namespace
}  // namespace nudge::serve
