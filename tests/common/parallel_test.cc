#include "nudge/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace nudge {
namespace {

TEST(ParallelTest, EveryIndexVisitedExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    std::vector<std::atomic<int>> hits(10007);
    parallel_for(
        hits.size(), threads,
        [&](size_t b, size_t e, int) {
          for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
        },
        16);
    for (auto& h : hits) ASSERT_EQ(h.load(), 1) << "threads=" << threads;
  }
}

TEST(ParallelTest, SingleThreadRunsInOrderInline) {
  std::vector<size_t> seen;
  parallel_for(1000, 1, [&](size_t b, size_t e, int tid) {
    EXPECT_EQ(tid, 0);
    for (size_t i = b; i < e; ++i) seen.push_back(i);
  });
  ASSERT_EQ(seen.size(), 1000u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST(ParallelTest, ExceptionsReachTheCaller) {
  EXPECT_THROW(parallel_for(
                   100000, 2,
                   [](size_t b, size_t, int) {
                     if (b > 5000) throw std::runtime_error("boom");
                   },
                   100),
               std::runtime_error);
}

}  // namespace
}  // namespace nudge
