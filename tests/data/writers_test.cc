#include "nudge/writers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nudge/readers.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

TEST(WritersTest, InteractionsRoundTripExactly) {
  DatasetBuilder b;
  auto& c = b.catalog();
  const uint32_t u = c.users.intern("Smith, \"J\""), u2 = c.users.intern(" padded ");
  const uint32_t i = c.items.intern("item-1");
  const EventType share = *c.event_types.intern("share");
  b.interactions().push_back(u, i, share, 0.1f, 5);
  b.interactions().push_back(u2, i, 0, 3.14159f, 1700000000);
  const Dataset d = b.build();
  testing::TempDir dir;
  ASSERT_OK(write_interactions_csv(d, dir.file("x.csv")));
  DatasetBuilder b2;
  ReadReport report;
  ASSERT_OK(read_interactions_file(dir.file("x.csv"), {}, b2, report));
  const Dataset back = b2.build();
  ASSERT_EQ(back.num_interactions(), 2u);
  EXPECT_EQ(report.rows_rejected, 0u);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(back.catalog().users.id_of(back.interactions().users[r]),
              d.catalog().users.id_of(d.interactions().users[r]));
    EXPECT_EQ(back.interactions().values[r], d.interactions().values[r]);  // bit-exact floats
    EXPECT_EQ(back.interactions().timestamps[r], d.interactions().timestamps[r]);
    EXPECT_EQ(back.catalog().event_types.name(back.interactions().types[r]),
              d.catalog().event_types.name(d.interactions().types[r]));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.csv.tmp")));
}

TEST(WritersTest, SyntheticDatasetAndFeaturesRoundTrip) {
  SynthOptions o;
  o.num_users = 200;
  o.num_items = 150;
  o.num_interactions = 5000;
  const Dataset d = synthesize(o).value().dataset;
  testing::TempDir dir;
  const auto& cat = d.catalog();
  ASSERT_OK(write_interactions_csv(d, dir.file("i.csv")));
  ASSERT_OK(write_features_csv(cat.item_features, cat.items, "item_id", dir.file("items.csv")));
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_interactions_file(dir.file("i.csv"), {}, b, report));
  ASSERT_OK(read_features_file(dir.file("items.csv"), FeatureTarget::kItems, {}, b, report));
  const Dataset back = b.build();
  ASSERT_EQ(back.num_interactions(), d.num_interactions());
  ASSERT_EQ(back.num_items(), d.num_items());
  for (size_t r = 0; r < d.num_interactions(); ++r) {
    ASSERT_EQ(back.catalog().items.id_of(back.interactions().items[r]), cat.items.id_of(d.interactions().items[r]));
    ASSERT_EQ(back.interactions().timestamps[r], d.interactions().timestamps[r]);
  }
  const auto& t0 = cat.item_features;
  const auto& t1 = back.catalog().item_features;
  for (uint32_t i = 0; i < d.num_items(); ++i) {
    const uint32_t j = *back.catalog().items.find(cat.items.id_of(i));
    ASSERT_EQ(t0.tokens(i).size(), t1.tokens(j).size());
    for (size_t k = 0; k < t0.tokens(i).size(); ++k) {
      ASSERT_EQ(t0.vocabulary().id_of(t0.tokens(i)[k]), t1.vocabulary().id_of(t1.tokens(j)[k]));
    }
    ASSERT_EQ(t0.numeric(i, *t0.find_field("price")), t1.numeric(j, *t1.find_field("price")));
  }
}

TEST(WritersTest, UnwritablePathIsAnIoError) {
  const Dataset d;
  EXPECT_EQ(write_interactions_csv(d, "/nonexistent-dir/x.csv").to_string(),
            "I/O error: cannot write '/nonexistent-dir/x.csv.tmp': No such file or directory");
}

}  // namespace
}  // namespace nudge
