#include "nudge/interactions.h"

#include <gtest/gtest.h>

#include <vector>

namespace nudge {
namespace {

// Each user's items by time, ties in row order; a user without events has an empty sequence.
TEST(InteractionsTest, UserSequencesAreInTimeOrderWithTiesInRowOrder) {
  Interactions in;
  in.push_back(2, 7, 0, 1.f, 30);
  in.push_back(0, 5, 0, 1.f, 20);
  in.push_back(2, 8, 0, 1.f, 10);
  in.push_back(0, 4, 0, 1.f, 20);  // ties with item 5: after it, as in the rows
  in.push_back(0, 3, 0, 1.f, 5);
  in.push_back(2, 7, 0, 1.f, 40);  // a repeat stays
  const UserSequences s = user_sequences(in, 3);
  ASSERT_EQ(s.offsets, (std::vector<uint64_t>{0, 3, 3, 6}));
  EXPECT_EQ(std::vector<uint32_t>(s.of(0).begin(), s.of(0).end()), (std::vector<uint32_t>{3, 5, 4}));
  EXPECT_TRUE(s.of(1).empty());
  EXPECT_EQ(std::vector<uint32_t>(s.of(2).begin(), s.of(2).end()), (std::vector<uint32_t>{8, 7, 7}));
}

}  // namespace
}  // namespace nudge
