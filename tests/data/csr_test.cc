#include "nudge/csr.h"

#include <gtest/gtest.h>

#include <map>

#include "nudge/check.h"
#include "nudge/rng.h"

namespace nudge {
namespace {

TEST(CsrTest, FromCooSortsAndSumsDuplicates) {
  const std::vector<uint32_t> rows = {2, 0, 2, 0, 1, 2};
  const std::vector<uint32_t> cols = {3, 1, 0, 1, 2, 3};
  const std::vector<float> vals = {1, 2, 3, 4, 5, 6};
  const CsrMatrix m = CsrMatrix::from_coo(3, 4, rows, cols, vals);
  EXPECT_EQ(m.indptr, (std::vector<uint64_t>{0, 1, 2, 4}));
  EXPECT_EQ(m.indices, (std::vector<uint32_t>{1, 2, 0, 3}));
  EXPECT_EQ(m.values, (std::vector<float>{6, 5, 3, 7}));
  EXPECT_EQ(m.at(2, 3), 7.f);
  EXPECT_EQ(m.at(2, 1), 0.f);
}

TEST(CsrTest, MatchesADictionaryOracleAndTransposes) {
  Rng rng(11);
  std::vector<uint32_t> rows, cols;
  std::vector<float> vals;
  std::map<std::pair<uint32_t, uint32_t>, float> oracle;
  for (int n = 0; n < 20000; ++n) {
    const uint32_t r = rng.uniform_index(300), c = rng.uniform_index(200);
    const float v = static_cast<float>(rng.uniform_index(5) + 1);
    rows.push_back(r);
    cols.push_back(c);
    vals.push_back(v);
    oracle[{r, c}] += v;
  }
  const CsrMatrix m = CsrMatrix::from_coo(300, 200, rows, cols, vals);
  ASSERT_EQ(m.nnz(), oracle.size());
  for (const auto& [rc, v] : oracle) ASSERT_EQ(m.at(rc.first, rc.second), v);
  for (uint32_t r = 0; r < m.num_rows; ++r) {
    auto idx = m.row_indices(r);
    for (size_t k = 1; k < idx.size(); ++k) ASSERT_LT(idx[k - 1], idx[k]);
  }
  const CsrMatrix t = m.transpose();
  EXPECT_EQ(t.num_rows, 200u);
  EXPECT_EQ(t.nnz(), m.nnz());
  for (const auto& [rc, v] : oracle) ASSERT_EQ(t.at(rc.second, rc.first), v);
  for (uint32_t r = 0; r < t.num_rows; ++r) {
    auto idx = t.row_indices(r);
    for (size_t k = 1; k < idx.size(); ++k) ASSERT_LT(idx[k - 1], idx[k]);
  }
}

TEST(CsrTest, OutOfRangeIsMisuse) {
  const std::vector<uint32_t> r = {5}, c = {0};
  const std::vector<float> v = {1};
  EXPECT_THROW(CsrMatrix::from_coo(3, 3, r, c, v), UsageError);
}

TEST(CsrTest, EmptyMatrix) {
  const CsrMatrix m = CsrMatrix::from_coo(4, 2, {}, {}, {});
  EXPECT_EQ(m.nnz(), 0u);
  EXPECT_EQ(m.row_nnz(3), 0u);
  EXPECT_EQ(m.transpose().num_rows, 2u);
}

}  // namespace
}  // namespace nudge
