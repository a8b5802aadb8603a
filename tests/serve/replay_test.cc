#include "nudge/serve/replay.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nudge/rng.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

Event ev(const std::string& user, const std::string& item, int64_t t) { return Event{user, item, "view", 1.f, t}; }

// By hand: the warm-up (6 events) trains popularity A 3, B 2, C 1. u1 (had A) is shown B at
// rank 1: a hit. u1's A again is a repeat, not scored. u4 is cold: trending (A and B 3 each
// by then) does not show C at k = 1: a miss.
TEST(ReplayTest, TestThenTrainByHand) {
  testing::TempDir dir;
  std::vector<Event> events = {ev("u4", "C", 900), ev("u1", "A", 100), ev("u2", "A", 200), ev("u1", "A", 800),
                               ev("u3", "A", 300), ev("u2", "B", 400), ev("u3", "B", 500), ev("u3", "C", 600),
                               ev("u1", "B", 700)};  // shuffled: replay sorts by time
  ReplayOptions o;
  o.data_dir = dir.file("engine");
  o.spec = "popularity";
  o.k = 1;
  o.warmup = 0.67;
  const ReplayResult r = replay(events, o).value();
  EXPECT_EQ(r.events, 9u);
  EXPECT_EQ(r.warmup_events, 6u);
  EXPECT_EQ(r.scored, 2u);
  EXPECT_EQ(r.repeats, 1u);
  EXPECT_EQ(r.hits, 1u);
  EXPECT_EQ(r.cold_scored, 1u);
  EXPECT_DOUBLE_EQ(r.ndcg(), 0.5);
  uint64_t windowed = 0;
  for (const auto& w : r.windows) windowed += w.events;
  EXPECT_EQ(windowed, 3u);
  const nlohmann::json j = r;
  EXPECT_EQ(j["hit_rate"], 0.5);
  EXPECT_EQ(j["windows"].size(), r.windows.size());
}

// Drift the fold-in cannot follow: at day 100 the catalogue regroups (items that went
// together no longer do), so the item factors learnt before are wrong for every new user.
// Without retrains the metric stays down (NDCG@5 0.6 -> 0.02); with retrains every 10 days
// it dips in the window of the change (0.04) and climbs back as each retrain sees more of
// the new groups (0.65 by the end).
std::vector<Event> regrouping_log() {
  std::vector<Event> events;
  Rng rng(11);
  for (int phase = 0; phase < 2; ++phase) {
    std::vector<Event> part;
    for (int u = 0; u < 240; ++u) {
      const int cluster = u % 6;
      std::vector<int> items;
      for (int k = 0; k < 10; ++k) items.push_back(phase == 0 ? cluster + 6 * k : cluster * 10 + k);
      rng.shuffle(items);
      for (int k = 0; k < 8; ++k) part.push_back(ev(fmt::format("p{}u{}", phase, u), fmt::format("i{}", items[k]), 0));
    }
    rng.shuffle(part);
    for (size_t e = 0; e < part.size(); ++e)
      part[e].timestamp = 86400 * (100 * phase) + static_cast<int64_t>(e * (100.0 * 86400 / part.size()));
    events.insert(events.end(), part.begin(), part.end());
  }
  return events;
}

double mean_ndcg(const ReplayResult& r, int64_t from, int64_t to) {
  double hits = 0, n = 0;
  for (const auto& w : r.windows) {
    if (w.start >= from && w.end <= to) hits += w.ndcg_sum, n += static_cast<double>(w.scored);
  }
  return n > 0 ? hits / n : 0;
}

TEST(ReplayTest, DriftDipsAndRetrainsRecover) {
  const std::vector<Event> events = regrouping_log();
  ReplayOptions o;
  o.spec = "ials:factors=24,iterations=10,threads=1";
  o.k = 5;
  o.warmup = 0.25;
  o.window_seconds = 10 * 86400;
  testing::TempDir dir;
  o.data_dir = dir.file("stale");
  const ReplayResult stale = replay(events, o).value();
  o.data_dir = dir.file("fresh");
  o.retrain_every_seconds = 10 * 86400;
  const ReplayResult fresh = replay(events, o).value();
  const int64_t day = 86400, change = 100 * day, first = stale.windows.front().start;
  EXPECT_EQ(fresh.retrains, 14u);  // from day 60 (the warm-up ends at day 50) to 190
  const double before = mean_ndcg(fresh, first, change);
  const double stale_after = mean_ndcg(stale, change + 20 * day, 200 * day);
  const double fresh_after = mean_ndcg(fresh, change + 20 * day, 200 * day);
  // Dip: the window of the change falls well below the weeks before it, and is flagged.
  const ReplayWindow* at_change = nullptr;
  for (const auto& w : fresh.windows)
    if (w.start <= change && change < w.end) at_change = &w;
  ASSERT_NE(at_change, nullptr);
  EXPECT_LT(at_change->ndcg(), 0.7 * before) << before;
  EXPECT_TRUE(at_change->drift);
  // Recovery after retrains; none without them.
  EXPECT_GT(fresh_after, 0.8 * before) << before;
  EXPECT_LT(stale_after, 0.6 * fresh_after) << fresh_after;
}

TEST(ReplayTest, DriftFlagComparesWithTheWindowsBefore) {
  std::vector<ReplayWindow> w(6);
  const double ndcg[] = {0.5, 0.5, 0.5, 0.3, 0.5, 0.5};
  for (size_t k = 0; k < w.size(); ++k) w[k].scored = 100, w[k].ndcg_sum = 100 * ndcg[k];
  w[1].scored = 5;  // too few events: neither flagged nor a baseline
  flag_drift(w, 0.2, 2, 30);
  EXPECT_EQ(std::vector<bool>({w[0].drift, w[1].drift, w[2].drift, w[3].drift, w[4].drift, w[5].drift}),
            std::vector<bool>({false, false, false, true, false, false}));
}

TEST(ReplayTest, BadInputIsRefusedWithItsPlace) {
  testing::TempDir dir;
  ReplayOptions o;
  o.data_dir = dir.file("e");
  EXPECT_EQ(replay({ev("u", "i", 1), ev("u", "", 1)}, o).status().to_string(),
            "invalid argument: events[1].item: must be a non-empty string");
  o.k = 0;
  EXPECT_EQ(replay({ev("u", "i", 1)}, o).status().message(), "replay: k must be in [1, 1000]");
  o.k = 10;
  o.warmup = 1;
  EXPECT_EQ(replay({ev("u", "i", 1)}, o).status().message(), "replay: warmup must be in [0, 1)");
  o.warmup = 0.5;
  o.spec = "ials:factrs=3";
  EXPECT_FALSE(replay({ev("u", "i", 1), ev("u", "j", 2)}, o).is_ok());
}

}  // namespace
}  // namespace nudge::serve
