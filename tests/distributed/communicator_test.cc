// The row sharding every rank agrees on (pure functions: no MPI job needed). The collectives
// themselves run in every distributed test (ials_test, two_tower_test) under mpirun.
#include "nudge/distributed/communicator.h"

#include <gtest/gtest.h>

namespace nudge::distributed {
namespace {

TEST(OwnedRows, BlocksCoverEveryRowOnceInRankOrder) {
  for (uint32_t rows : {0u, 1u, 2u, 7u, 100u, 1001u}) {
    for (int size = 1; size <= 7; ++size) {
      uint32_t next = 0;
      for (int r = 0; r < size; ++r) {
        const RowRange range = owned_rows(rows, r, size);
        EXPECT_EQ(range.begin, next) << rows << " rows, rank " << r << " of " << size;
        EXPECT_LE(range.size(), rows / size + 1);  // balanced within one row
        for (uint32_t row = range.begin; row < range.end; ++row) ASSERT_EQ(owner_of(row, rows, size), r);
        next = range.end;
      }
      EXPECT_EQ(next, rows);
    }
  }
}

TEST(OwnedRows, LargeCountsDoNotOverflow) {
  const uint32_t rows = 4'000'000'000u;
  const RowRange last = owned_rows(rows, 63, 64);
  EXPECT_EQ(last.end, rows);
  EXPECT_EQ(owner_of(rows - 1, rows, 64), 63);
  EXPECT_EQ(owner_of(last.begin, rows, 64), 63);
  EXPECT_EQ(owner_of(last.begin - 1, rows, 64), 62);
}

}  // namespace
}  // namespace nudge::distributed
