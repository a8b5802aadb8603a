#include "nudge/csr.h"

#include <algorithm>

#include "nudge/check.h"

namespace nudge {

float CsrMatrix::at(uint32_t row, uint32_t col) const {
  auto idx = row_indices(row);
  auto it = std::lower_bound(idx.begin(), idx.end(), col);
  if (it == idx.end() || *it != col) return 0.f;
  return values[indptr[row] + static_cast<uint64_t>(it - idx.begin())];
}

namespace {

// Counting sort of (key, other, value) by key, stable: entries keep their input order within
// a key. Returns indptr over keys; fills out_other / out_values.
std::vector<uint64_t> bucket(uint32_t num_keys, std::span<const uint32_t> keys, std::span<const uint32_t> other,
                             std::span<const float> values, std::vector<uint32_t>& out_other,
                             std::vector<float>& out_values) {
  std::vector<uint64_t> ptr(static_cast<size_t>(num_keys) + 1, 0);
  for (uint32_t k : keys) ++ptr[k + 1];
  for (size_t k = 0; k < num_keys; ++k) ptr[k + 1] += ptr[k];
  out_other.resize(keys.size());
  out_values.resize(keys.size());
  std::vector<uint64_t> fill(ptr.begin(), ptr.end() - 1);
  for (size_t n = 0; n < keys.size(); ++n) {
    const uint64_t dst = fill[keys[n]]++;
    out_other[dst] = other[n];
    out_values[dst] = values[n];
  }
  return ptr;
}

}  // namespace

CsrMatrix CsrMatrix::from_coo(uint32_t num_rows, uint32_t num_cols, std::span<const uint32_t> rows,
                              std::span<const uint32_t> cols, std::span<const float> values) {
  NUDGE_CHECK(rows.size() == cols.size() && rows.size() == values.size(), "CsrMatrix::from_coo: size mismatch");
  for (size_t n = 0; n < rows.size(); ++n) {
    NUDGE_CHECK(rows[n] < num_rows && cols[n] < num_cols, "CsrMatrix::from_coo: index out of range");
  }
  // Pass 1 groups by column; pass 2 walks columns in order while grouping by row, so each
  // row's columns come out sorted.
  std::vector<uint32_t> col_rows;
  std::vector<float> col_values;
  std::vector<uint64_t> col_ptr = bucket(num_cols, cols, rows, values, col_rows, col_values);
  std::vector<uint32_t> col_of(rows.size());
  for (uint32_t c = 0; c < num_cols; ++c) std::fill(col_of.begin() + col_ptr[c], col_of.begin() + col_ptr[c + 1], c);

  CsrMatrix m;
  m.num_rows = num_rows;
  m.num_cols = num_cols;
  m.indptr = bucket(num_rows, col_rows, col_of, col_values, m.indices.vec(), m.values.vec());
  col_rows = {};
  col_of = {};
  // Sum duplicates in place (adjacent after sorting).
  std::vector<uint32_t>& out_cols = m.indices.vec();
  std::vector<float>& out_values = m.values.vec();
  uint64_t w = 0;
  for (uint32_t r = 0; r < num_rows; ++r) {
    const uint64_t begin = m.indptr[r], end = m.indptr[r + 1];
    m.indptr[r] = w;
    for (uint64_t k = begin; k < end; ++k) {
      if (w > m.indptr[r] && out_cols[w - 1] == out_cols[k]) {
        out_values[w - 1] += out_values[k];
      } else {
        out_cols[w] = out_cols[k];
        out_values[w] = out_values[k];
        ++w;
      }
    }
  }
  m.indptr[num_rows] = w;
  out_cols.resize(w);
  out_values.resize(w);
  out_cols.shrink_to_fit();
  out_values.shrink_to_fit();
  return m;
}

CsrMatrix CsrMatrix::transpose() const {
  std::vector<uint32_t> row_of(nnz());
  for (uint32_t r = 0; r < num_rows; ++r) std::fill(row_of.begin() + indptr[r], row_of.begin() + indptr[r + 1], r);
  CsrMatrix t;
  t.num_rows = num_cols;
  t.num_cols = num_rows;
  t.indptr = bucket(num_cols, indices, row_of, values, t.indices.vec(), t.values.vec());
  return t;
}

}  // namespace nudge
