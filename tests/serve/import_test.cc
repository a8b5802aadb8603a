// Bootstrapping an engine from a Dataset: item records from item features, then every
// interaction as a durable event.
#include "nudge/serve/import.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "nudge/synth.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

SynthData small_synth() {
  SynthOptions so;
  so.num_users = 50;
  so.num_items = 30;
  so.num_interactions = 700;
  so.num_topics = 3;
  so.num_tags = 12;
  so.seed = 11;
  return synthesize(so).value();
}

TEST(Import, ItemRecordsMapCategoryTagsAndPrice) {
  const SynthData synth = small_synth();
  const Dataset& d = synth.dataset;
  const auto records = item_records(d);
  ASSERT_EQ(records.size(), d.num_items());
  const FeatureTable& f = d.catalog().item_features;
  const uint32_t price = *f.find_field("price");
  std::map<uint32_t, std::string> category_of_topic;
  for (uint32_t i = 0; i < d.num_items(); ++i) {
    const ItemRecord& r = records[i];
    EXPECT_EQ(r.id, d.catalog().items.id_of(i));
    EXPECT_FALSE(r.category.empty());
    EXPECT_EQ(r.tags.size() + 1, f.tokens(i).size()) << "every other token is a tag";
    EXPECT_EQ(r.price, f.numeric(i, price));
    EXPECT_FALSE(r.hidden);
    // Synthetic categories are the planted topics.
    auto [it, inserted] = category_of_topic.emplace(synth.truth.item_topic[i], r.category);
    EXPECT_EQ(it->second, r.category) << "item " << i;
  }
  EXPECT_EQ(category_of_topic.size(), 3u);
}

TEST(Import, ItemRecordsWithoutFeaturesCarryOnlyIds) {
  const Dataset synth = small_synth().dataset;
  auto catalog = std::make_shared<Catalog>(synth.catalog());
  catalog->item_features = FeatureTable();
  const Dataset d(catalog, synth.interactions());
  const auto records = item_records(d);
  ASSERT_EQ(records.size(), d.num_items());
  EXPECT_EQ(records[3].id, d.catalog().items.id_of(3));
  EXPECT_TRUE(records[3].category.empty());
  EXPECT_TRUE(records[3].tags.empty());
  EXPECT_TRUE(std::isnan(records[3].price));
}

TEST(Import, EveryInteractionBecomesAStoredEventInOrder) {
  const SynthData synth = small_synth();
  const Dataset& d = synth.dataset;
  nudge::testing::TempDir dir;
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  o.train_on_start = false;
  auto engine = std::move(Engine::open(o)).value();
  ASSERT_TRUE(import_dataset(*engine, d, /*batch_size=*/128).is_ok());
  const EngineStats st = engine->stats();
  EXPECT_EQ(st.events, d.num_interactions());
  EXPECT_EQ(st.items, d.num_items());
  EXPECT_EQ(st.users, d.num_users());
  EXPECT_GE(st.commits, (d.num_interactions() + 127) / 128);
  // A user's history holds exactly the items of their interactions.
  const Interactions& x = d.interactions();
  std::set<std::string> expected, got;
  for (size_t r = 0; r < x.size(); ++r)
    if (x.users[r] == 7) expected.insert(d.catalog().items.id_of(x.items[r]));
  const auto info = engine->user_info(d.catalog().users.id_of(7));
  ASSERT_TRUE(info.has_value());
  for (const auto& [item, weight] : info->history) {
    got.insert(item);
    EXPECT_GT(weight, 0.f);
  }
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace nudge::serve
