// The engine's tables on their own: a user's state (sorted history with summed weights,
// recent items newest first and distinct, capped), the catalogue's indexes kept current as
// records change, the trending ranking's refresh, the user table and the training log.
#include "serve/engine_tables.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace nudge::serve {
namespace {

TEST(UserData, KeepsASortedHistoryAndRecentItemsNewestFirst) {
  UserData u;
  u.folded.resize(1);
  u.folded[0].version = 7;
  u.add(5, 1.f);
  u.add(2, 2.f);
  u.add(5, 3.f);
  u.add(9, 0.f);  // a zero weight: in the history, not among the recent items
  EXPECT_EQ(u.items, (std::vector<uint32_t>{2, 5, 9}));
  EXPECT_EQ(u.weights, (std::vector<float>{2.f, 4.f, 0.f}));
  EXPECT_EQ(u.recent, (std::vector<uint32_t>{5, 2}));
  EXPECT_EQ(u.folded[0].version, 0u);  // any event makes the folded vector stale
  for (uint32_t i = 100; i < 100 + UserData::kRecentItems + 5; ++i) u.add(i, 1.f);
  EXPECT_EQ(u.recent.size(), UserData::kRecentItems);
  EXPECT_EQ(u.recent.front(), 100 + UserData::kRecentItems + 4);
  EXPECT_EQ(u.recent.back(), 105u);  // the oldest dropped first
}

TEST(UserData, RemembersItsLastEventsOnly) {
  UserData u;
  for (uint32_t k = 0; k < UserData::kPastEvents + 3; ++k) u.remember({1700000000 + k, k, 1.f, 0});
  ASSERT_EQ(u.events.size(), UserData::kPastEvents);
  EXPECT_EQ(u.events.front().item, 3u);  // the three oldest went
  EXPECT_EQ(u.events.back().item, UserData::kPastEvents + 2);
}

TEST(Catalogue, RecordChangesKeepTheCategoryTagAndHiddenIndexesCurrent) {
  Catalogue c;
  const uint32_t a = c.intern_item("a"), b = c.intern_item("b");
  EXPECT_EQ(c.intern_item("a"), a);
  EXPECT_EQ(c.item_states[b].record.id, "b");
  c.set_record(a, {"a", "shoes", {"red", "sale"}, 10.f, false});
  c.set_record(b, {"b", "shoes", {"red"}, 20.f, true});
  EXPECT_EQ(c.items_by_category["shoes"], (std::vector<uint32_t>{a, b}));
  EXPECT_EQ(c.items_by_tag["red"], (std::vector<uint32_t>{a, b}));
  EXPECT_EQ(c.hidden_items, (std::vector<uint32_t>{b}));
  c.set_record(a, {"a", "hats", {}, std::nanf(""), false});
  c.set_record(b, {"b", "shoes", {"red"}, 20.f, false});
  EXPECT_EQ(c.items_by_category["shoes"], (std::vector<uint32_t>{b}));
  EXPECT_EQ(c.items_by_category["hats"], (std::vector<uint32_t>{a}));
  EXPECT_FALSE(c.items_by_tag.contains("sale"));  // an emptied list goes
  EXPECT_TRUE(c.hidden_items.empty());
}

TEST(Catalogue, TheTrendingRankingIsRebuiltOnlyAfterNewEvents) {
  Catalogue c;
  c.trending_refresh_s = 0;
  const uint32_t a = c.intern_item("a"), b = c.intern_item("b");
  c.intern_item("never");  // no events: not in the ranking
  c.item_states[a].log_trend = 1.0;
  c.item_states[b].log_trend = 2.0;
  c.trend_updates.fetch_add(1);
  auto first = c.trending_ranking();
  ASSERT_EQ(first->order.size(), 2u);
  EXPECT_EQ(first->order[0].item, b);
  EXPECT_FLOAT_EQ(first->order[0].score, 0.f);  // relative to the top item
  EXPECT_FLOAT_EQ(first->order[1].score, -1.f);
  EXPECT_EQ(c.trending_ranking(), first);  // no events since: the same ranking
  c.item_states[a].log_trend = 3.0;
  c.trend_updates.fetch_add(1);
  EXPECT_EQ(c.trending_ranking()->order[0].item, a);
}

TEST(UserTableAndTrainingLog, InternInOrderAndCopyTheLog) {
  UserTable users;
  const std::vector<Event> events = {{"x", "i1"}, {"y", "i2"}, {"x", "i3"}};
  std::vector<uint32_t> index;
  std::vector<UserState*> states;
  users.intern(events, &index, &states);
  EXPECT_EQ(index, (std::vector<uint32_t>{0, 1, 0}));
  EXPECT_EQ(states[0], states[2]);
  EXPECT_EQ(users.find("y"), states[1]);
  EXPECT_EQ(users.find("z"), nullptr);
  EXPECT_EQ(users.size(), 2u);
  states[1]->write()->set_attributes(R"({"segment": "a"})");
  std::vector<FeatureDescription> attributes;
  const IdMap ids = users.ids(&attributes);
  EXPECT_EQ(ids.size(), 2u);
  ASSERT_EQ(attributes.size(), 2u);
  EXPECT_TRUE(attributes[0].empty());
  EXPECT_FALSE(attributes[1].empty());

  TrainingLog log;
  log.append(events, index, {0, 1, 2}, {0, 0, 0});
  const Interactions copy = log.copy();
  EXPECT_EQ(log.size(), 3u);
  ASSERT_EQ(copy.size(), 3u);
  EXPECT_EQ(copy.users, (std::vector<uint32_t>{0, 1, 0}));
  EXPECT_EQ(copy.items, (std::vector<uint32_t>{0, 1, 2}));
}

}  // namespace
}  // namespace nudge::serve
