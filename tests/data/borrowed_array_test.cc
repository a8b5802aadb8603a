#include "nudge/borrowed_array.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace nudge {
namespace {

TEST(BorrowedArrayTest, ABorrowedArrayReadsTheLendersElements) {
  const std::vector<float> lent = {1, 2, 3};
  const auto a = BorrowedArray<float>::borrow(lent);
  EXPECT_TRUE(a.is_borrowed());
  EXPECT_EQ(a.data(), lent.data());
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2], 3.f);
  EXPECT_EQ(a.back(), 3.f);
  EXPECT_EQ(a, lent);
  const std::span<const float> view = a;
  EXPECT_EQ(view.data(), lent.data());
}

TEST(BorrowedArrayTest, CopiesOwnAndWritesNeverReachTheLender) {
  const std::vector<uint32_t> lent = {4, 5, 6};
  auto a = BorrowedArray<uint32_t>::borrow(lent);
  const BorrowedArray<uint32_t> copy = a;
  EXPECT_FALSE(copy.is_borrowed());
  EXPECT_NE(copy.data(), lent.data());
  EXPECT_EQ(copy, a);
  a[0] = 40;  // copies the elements in first
  a.push_back(7);
  EXPECT_FALSE(a.is_borrowed());
  EXPECT_EQ(lent, (std::vector<uint32_t>{4, 5, 6}));
  EXPECT_EQ(a, (std::vector<uint32_t>{40, 5, 6, 7}));
  BorrowedArray<uint32_t> moved = std::move(a);
  EXPECT_EQ(moved.size(), 4u);
  auto again = BorrowedArray<uint32_t>::borrow(lent);
  BorrowedArray<uint32_t> taken = std::move(again);
  EXPECT_TRUE(taken.is_borrowed());  // a move keeps the loan
  EXPECT_EQ(std::as_const(taken).data(), lent.data());
  EXPECT_NE(taken.data(), lent.data());  // mutable access: owned first
  EXPECT_FALSE(taken.is_borrowed());
}

TEST(BorrowedArrayTest, OwnedArraysActAsVectors) {
  BorrowedArray<float> a{1, 2};
  a.assign(3, 0.5f);
  a.reserve(10);
  const std::vector<float> more = {0.5f, 0.5f};
  a.insert_at_end(more.begin(), more.end());
  EXPECT_EQ(a, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f, 0.5f}));
  a.resize(1);
  a.shrink_to_fit();
  EXPECT_EQ(a.size(), 1u);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(BorrowedArray<float>().empty());
}

}  // namespace
}  // namespace nudge
