#include "serve/lock_rank.h"

#include <gtest/gtest.h>

#include <thread>

#include "serve/guarded.h"

namespace nudge::serve {
namespace {

TEST(LockRank, LocksInRankOrderAreTakenAndReleased) {
  RankedMutex<LockRank::kRetrain> retrain;
  Guarded<int, LockRank::kTable> table(1);
  Guarded<int, LockRank::kUser> user(2);
  {
    std::lock_guard r(retrain);
    auto t = table.read();
    auto u = user.write();
    *u += *t;
    EXPECT_TRUE(lock_rank::held(LockRank::kRetrain));
    EXPECT_TRUE(lock_rank::held(LockRank::kTable));
    EXPECT_TRUE(lock_rank::held(LockRank::kUser));
  }
  EXPECT_FALSE(lock_rank::held(LockRank::kRetrain));
  EXPECT_FALSE(lock_rank::held(LockRank::kTable));
  EXPECT_FALSE(lock_rank::held(LockRank::kUser));
  EXPECT_EQ(*user.read(), 3);
  // Released out of order is fine: each rank is one bit.
  std::unique_lock r(retrain);
  auto t = std::make_unique<Guarded<int, LockRank::kTable>::Writer>(table.write());
  r.unlock();
  EXPECT_TRUE(lock_rank::held(LockRank::kTable));
  t.reset();
  EXPECT_FALSE(lock_rank::held(LockRank::kTable));
}

TEST(LockRank, RanksAreKeptPerThread) {
  Guarded<int, LockRank::kTable> a(0), b(0);
  {
    auto held = a.write();
    // Another thread holds nothing, so it may take a table lock while this one holds one.
    std::thread other([&] { *b.write() = 1; });
    other.join();
  }
  EXPECT_EQ(*b.read(), 1);
}

TEST(LockRankDeathTest, ALowerRankTakenUnderAHigherOneAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Guarded<int, LockRank::kTable> table(0);
  Guarded<int, LockRank::kUser> user(0);
  EXPECT_DEATH(
      {
        auto u = user.write();
        auto t = table.read();
      },
      "lock order broken: taking a table lock while holding a user lock");
}

TEST(LockRankDeathTest, TwoTablesAtOnceAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Guarded<int, LockRank::kTable> a(0), b(0);
  EXPECT_DEATH(
      {
        auto x = a.read();
        auto y = b.read();
      },
      "taking a table lock while holding a table lock");
}

}  // namespace
}  // namespace nudge::serve
