// Dense factor matrices shared by the matrix-factorisation models: row-major, one row per
// user or item, so a row is a contiguous vector.
#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "nudge/rng.h"
#include "nudge/serialize.h"

namespace nudge {

using FactorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows x cols, entries N(0, stddev^2) from `rng`.
FactorMatrix random_factors(Eigen::Index rows, Eigen::Index cols, double stddev, Rng& rng);

void write_factors(ModelWriter& out, const FactorMatrix& m);
// Reads a matrix written by write_factors; `what` names it in errors.
Status read_factors(ModelReader& in, FactorMatrix* m, std::string_view what);

}  // namespace nudge
