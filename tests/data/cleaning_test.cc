#include "nudge/cleaning.h"

#include <gtest/gtest.h>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

Dataset from_csv(const std::string& text) {
  DatasetBuilder b;
  ReadReport report;
  EXPECT_TRUE(read_interactions_text(text, "t.csv", {}, b, report).is_ok());
  return b.build();
}

TEST(CleaningTest, ExactDuplicatesDroppedFirstOccurrenceKept) {
  const Dataset d = from_csv("user,item,type,value,ts\nu,a,view,1,5\nu,a,view,1,5\nu,a,view,1,6\nu,a,view,2,5\n");
  CleanReport rep;
  const Dataset c = clean(d, {}, &rep);
  EXPECT_EQ(rep.exact_duplicates, 1u);
  EXPECT_EQ(c.num_interactions(), 3u);
  EXPECT_EQ(c.interactions().timestamps, (std::vector<int64_t>{5, 6, 5}));
}

TEST(CleaningTest, KeepLatestAndSum) {
  const std::string text = "user,item,type,value,ts\nu,a,view,1,5\nu,a,cart,1,9\nu,a,view,1,7\nv,a,view,1,1\n";
  CleanOptions o;
  o.repeats = RepeatPolicy::kKeepLatest;
  CleanReport rep;
  const Dataset latest = clean(from_csv(text), o, &rep);
  EXPECT_EQ(rep.merged_repeats, 2u);
  ASSERT_EQ(latest.num_interactions(), 2u);
  EXPECT_EQ(latest.catalog().event_types.name(latest.interactions().types[0]), "cart");
  o.repeats = RepeatPolicy::kSum;
  const Dataset summed = clean(from_csv(text), o, &rep);
  ASSERT_EQ(summed.num_interactions(), 3u);  // (u,a,view) merged; cart and v kept
  EXPECT_EQ(summed.interactions().values[1], 2.f);
  EXPECT_EQ(summed.interactions().timestamps[1], 7);
  EXPECT_EQ(parse_repeat_policy("newest").status().to_string(),
            "invalid argument: unknown repeat policy 'newest' (known: keep-all, keep-latest, sum)");
}

TEST(CleaningTest, KCoreIteratesAndRenumbersWithFeatures) {
  // u3 has one event; removing it leaves item c with one user, which then goes too.
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_interactions_text("user,item\nu1,a\nu1,b\nu1,c\nu2,a\nu2,b\nu3,c\n", "k.csv", {}, b, report));
  ASSERT_OK(read_features_text("id,color\na,red\nb,blue\nc,green\n", "f.csv", FeatureTarget::kItems, {}, b, report));
  CleanOptions o;
  o.min_user_interactions = 2;
  o.min_item_interactions = 2;
  CleanReport rep;
  const Dataset c = clean(b.build(), o, &rep);
  EXPECT_EQ(c.num_users(), 2u);
  EXPECT_EQ(c.num_items(), 2u);
  EXPECT_EQ(c.num_interactions(), 4u);
  EXPECT_EQ(rep.users_removed, 1u);
  EXPECT_EQ(rep.items_removed, 1u);
  EXPECT_EQ(rep.kcore_rows, 2u);
  EXPECT_EQ(rep.kcore_rounds, 3u);
  const uint32_t bi = *c.catalog().items.find("b");
  EXPECT_EQ(c.catalog().item_features.vocabulary().id_of(c.catalog().item_features.tokens(bi)[0]), "color=blue");
  for (uint32_t u = 0; u < c.num_users(); ++u) EXPECT_GE(c.user_items().row_nnz(u), 2u);
}

}  // namespace
}  // namespace nudge
