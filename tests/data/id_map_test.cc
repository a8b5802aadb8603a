#include "nudge/id_map.h"

#include <gtest/gtest.h>

#include "nudge/check.h"

namespace nudge {
namespace {

TEST(IdMapTest, DenseIndicesInOrderOfFirstAppearance) {
  IdMap m;
  EXPECT_EQ(m.intern("b"), 0u);
  EXPECT_EQ(m.intern("a"), 1u);
  EXPECT_EQ(m.intern("b"), 0u);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.id_of(1), "a");
  EXPECT_EQ(m.find("a"), 1u);
  EXPECT_FALSE(m.find("zzz").has_value());
  EXPECT_THROW(m.id_of(2), UsageError);
}

TEST(IdMapTest, RoundTripsManyIdsAndSurvivesCopyAndMove) {
  IdMap m;
  for (int i = 0; i < 50000; ++i) m.intern("id-" + std::to_string(i * 7));
  IdMap copy = m;
  IdMap moved = std::move(m);
  for (uint32_t i = 0; i < 50000; ++i) {
    const std::string id = "id-" + std::to_string(i * 7);
    ASSERT_EQ(copy.id_of(i), id);
    ASSERT_EQ(copy.find(id), i);
    ASSERT_EQ(moved.find(id), i);
  }
  // Short IDs live inside the string object (SSO); the keys must stay valid after growth.
  IdMap small;
  for (int i = 0; i < 10000; ++i) small.intern(std::to_string(i));
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(small.find(std::to_string(i)), static_cast<uint32_t>(i));
}

TEST(IdMapTest, SubsetRenumbersDensely) {
  IdMap m;
  for (auto id : {"a", "b", "c", "d"}) m.intern(id);
  std::vector<uint32_t> old_to_new;
  IdMap s = m.subset({true, false, true, false}, &old_to_new);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.id_of(0), "a");
  EXPECT_EQ(s.id_of(1), "c");
  EXPECT_EQ(old_to_new, (std::vector<uint32_t>{0, kNoIndex, 1, kNoIndex}));
}

}  // namespace
}  // namespace nudge
