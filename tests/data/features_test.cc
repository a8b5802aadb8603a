#include "nudge/features.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nudge {
namespace {

TEST(FeaturesTest, CategoricalMultiAndNumericFields) {
  FeatureTable t;
  const uint32_t cat = *t.add_field("category", FeatureKind::kCategorical);
  const uint32_t tags = *t.add_field("tags", FeatureKind::kMultiCategorical);
  const uint32_t price = *t.add_field("price", FeatureKind::kNumeric);
  t.set_categorical(2, cat, "shoes");
  t.set_categorical(2, cat, "boots");  // replaces
  t.add_value(2, tags, "red");
  t.add_value(2, tags, "sale");
  t.add_value(2, tags, "red");  // ignored duplicate
  t.set_numeric(2, price, 19.5f);
  EXPECT_EQ(t.num_entities(), 3u);
  ASSERT_EQ(t.tokens(2).size(), 3u);
  EXPECT_EQ(t.vocabulary().id_of(t.tokens(2)[0]), "category=boots");
  EXPECT_EQ(t.token_value(t.tokens(2)[1]), "red");
  EXPECT_EQ(t.token_field(t.tokens(2)[2]), tags);
  EXPECT_EQ(t.numeric(2, price), 19.5f);
  EXPECT_TRUE(std::isnan(t.numeric(0, price)));
  EXPECT_TRUE(std::isnan(t.numeric(99, price)));
  EXPECT_TRUE(t.tokens(99).empty());
  t.clear_field(2, tags);
  EXPECT_EQ(t.tokens(2).size(), 1u);
}

TEST(FeaturesTest, FieldKindConflictIsAnError) {
  FeatureTable t;
  ASSERT_TRUE(t.add_field("price", FeatureKind::kNumeric).is_ok());
  EXPECT_EQ(t.add_field("price", FeatureKind::kNumeric).value(), 0u);
  EXPECT_EQ(t.add_field("price", FeatureKind::kCategorical).status().to_string(),
            "invalid argument: feature field 'price' is already num, not cat");
}

TEST(FeaturesTest, SubsetKeepsValuesOfSurvivors) {
  FeatureTable t;
  const uint32_t cat = *t.add_field("c", FeatureKind::kCategorical);
  const uint32_t num = *t.add_field("n", FeatureKind::kNumeric);
  for (uint32_t e = 0; e < 4; ++e) {
    t.set_categorical(e, cat, "v" + std::to_string(e));
    t.set_numeric(e, num, static_cast<float>(e));
  }
  const FeatureTable s = t.subset({false, true, false, true});
  EXPECT_EQ(s.num_entities(), 2u);
  EXPECT_EQ(s.token_value(s.tokens(1)[0]), "v3");
  EXPECT_EQ(s.numeric(0, num), 1.f);
}

}  // namespace
}  // namespace nudge
