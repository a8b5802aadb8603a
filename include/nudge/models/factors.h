// Dense factor matrices shared by the matrix-factorisation models: row-major, one row per
// user or item, so a row is a contiguous vector.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nudge/rng.h"
#include "nudge/serialize.h"

namespace nudge {

using FactorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows x cols, entries N(0, stddev^2) from `rng`.
FactorMatrix random_factors(Eigen::Index rows, Eigen::Index cols, double stddev, Rng& rng);

// scores (rows x num_items, row-major) = user_vectors (rows x dim) times items (num_items x
// dim) transposed, plus bias[i] in every row's column i when `bias` is not null: the batch
// scoring of every model whose score is a dot product. The items go through in tiles that
// stay in L2 with their block of scores, so the bias is added while the tile is there.
void score_by_product(const float* user_vectors, size_t rows, const float* items, size_t num_items, size_t dim,
                      const float* bias, float* scores);

// The rows of `m` listed in `rows` (in that order, repeats allowed): a block of users for
// score_by_product.
FactorMatrix gather_rows(const FactorMatrix& m, std::span<const uint32_t> rows);

void write_factors(ModelWriter& out, const FactorMatrix& m);
// Reads a matrix written by write_factors; `what` names it in errors.
Status read_factors(ModelReader& in, FactorMatrix* m, std::string_view what);

}  // namespace nudge
