// CsrMatrix: a compressed sparse row matrix of float weights.
//
// Used as the user->items view (rows = users) and, transposed, the item->users view. Column
// indices within a row are sorted and unique (duplicates are summed when built), which the
// models and the splitters rely on. `indices` and `values` may borrow a caller's arrays
// (borrowed_array.h: how Python's CSR matrices are trained on without a copy); copies of the
// matrix own theirs. Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nudge/borrowed_array.h"

namespace nudge {

struct CsrMatrix {
  uint32_t num_rows = 0;
  uint32_t num_cols = 0;
  std::vector<uint64_t> indptr{0};  // size num_rows + 1
  BorrowedArray<uint32_t> indices;  // column of each entry
  BorrowedArray<float> values;

  uint64_t nnz() const { return indices.size(); }
  uint32_t row_nnz(uint32_t row) const { return static_cast<uint32_t>(indptr[row + 1] - indptr[row]); }
  std::span<const uint32_t> row_indices(uint32_t row) const {
    return {indices.data() + indptr[row], indices.data() + indptr[row + 1]};
  }
  std::span<const float> row_values(uint32_t row) const {
    return {values.data() + indptr[row], values.data() + indptr[row + 1]};
  }
  // Weight at (row, col), 0 when absent (binary search in the row).
  float at(uint32_t row, uint32_t col) const;

  // Builds from coordinate triplets (any order, duplicates summed). Linear time: two
  // counting sorts, so the sort needs no comparisons.
  static CsrMatrix from_coo(uint32_t num_rows, uint32_t num_cols, std::span<const uint32_t> rows,
                            std::span<const uint32_t> cols, std::span<const float> values);
  CsrMatrix transpose() const;
};

}  // namespace nudge
