#include "nudge/stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

TEST(StatsTest, GiniOfKnownDistributions) {
  EXPECT_DOUBLE_EQ(gini({5, 5, 5, 5}), 0.0);
  EXPECT_DOUBLE_EQ(gini({0, 0, 0, 10}), 0.75);  // (n-1)/n when one holds everything
  EXPECT_NEAR(gini({1, 2, 3, 4}), 0.25, 1e-12);
  EXPECT_EQ(gini({}), 0.0);
}

TEST(StatsTest, PercentilesNearestRank) {
  const Percentiles p = percentiles({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  EXPECT_EQ(p.min, 1);
  EXPECT_EQ(p.p25, 3);
  EXPECT_EQ(p.p50, 5);
  EXPECT_EQ(p.p90, 9);
  EXPECT_EQ(p.p99, 10);
  EXPECT_EQ(p.max, 10);
  EXPECT_DOUBLE_EQ(p.mean, 5.5);
}

TEST(StatsTest, DatasetNumbers) {
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_interactions_text("user,item,type,ts\nu1,a,view,0\nu1,b,view,86400\nu1,a,cart,10\nu2,a,view,5\n",
                                   "s.csv", {}, b, report));
  b.catalog().items.intern("cold");
  const DatasetStats s = compute_stats(b.build());
  EXPECT_EQ(s.users, 2u);
  EXPECT_EQ(s.items, 3u);
  EXPECT_EQ(s.active_items, 2u);
  EXPECT_EQ(s.interactions, 4u);
  EXPECT_EQ(s.unique_pairs, 3u);
  EXPECT_DOUBLE_EQ(s.density, 0.75);
  EXPECT_EQ(s.user_history.max, 3);
  EXPECT_EQ(s.last_timestamp, 86400);
  ASSERT_EQ(s.event_counts.size(), 2u);
  EXPECT_EQ(s.event_counts[0], (std::pair<std::string, uint64_t>{"view", 3}));
  const std::string table = format_stats(s);
  EXPECT_NE(table.find("  density                75.0000%"), std::string::npos) << table;
  EXPECT_NE(table.find("1970-01-01 00:00:00 .. 1970-01-02 00:00:00"), std::string::npos) << table;
  nlohmann::json j = s;
  EXPECT_EQ(j["unique_pairs"], 3);
  EXPECT_EQ(j["event_counts"]["cart"], 1);
}

}  // namespace
}  // namespace nudge
