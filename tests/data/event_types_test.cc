#include "nudge/event_types.h"

#include <gtest/gtest.h>

namespace nudge {
namespace {

TEST(EventTypesTest, DefaultsAndWeights) {
  EventTypes t;
  EXPECT_EQ(t.weight(*t.find("view")), 1.f);
  EXPECT_EQ(t.weight(*t.find("purchase")), 8.f);
  EXPECT_EQ(t.name(*t.find("cart")), "cart");
}

TEST(EventTypesTest, ParseWeightsSetsAndAdds) {
  EventTypes t;
  ASSERT_TRUE(t.parse_weights("view=0.5, share=3").is_ok());
  EXPECT_EQ(t.weight(*t.find("view")), 0.5f);
  EXPECT_EQ(t.weight(*t.find("share")), 3.f);
  const EventType added = t.intern("brand_new").value();
  EXPECT_EQ(added, t.size() - 1);
  EXPECT_EQ(t.weight(*t.find("brand_new")), 1.f);
}

TEST(EventTypesTest, BadWeightsNameTheEntry) {
  EventTypes t;
  EXPECT_EQ(t.parse_weights("view").to_string(), "invalid argument: event weights: expected name=weight, got 'view'");
  EXPECT_EQ(t.parse_weights("view=abc").to_string(),
            "invalid argument: event weights: weight of 'view' is not a number: 'abc'");
  EXPECT_EQ(t.parse_weights("view=-1").to_string(),
            "invalid argument: event weight for 'view' must be a finite number >= 0");
  EXPECT_EQ(t.parse_weights("view=nan").to_string(),
            "invalid argument: event weight for 'view' must be a finite number >= 0");
}

TEST(EventTypesTest, AtMost255Types) {
  EventTypes t;
  while (t.size() < EventTypes::kMaxTypes) ASSERT_TRUE(t.intern("t" + std::to_string(t.size())).is_ok());
  EXPECT_EQ(t.intern("one_more").status().to_string(),
            "invalid argument: too many event types (at most 255): cannot add 'one_more'");
}

}  // namespace
}  // namespace nudge
