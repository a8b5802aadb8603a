#include "nudge/models/factors.h"

#include <algorithm>

namespace nudge {

FactorMatrix random_factors(Eigen::Index rows, Eigen::Index cols, double stddev, Rng& rng) {
  FactorMatrix m(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = static_cast<float>(stddev * rng.normal());
  }
  return m;
}

void score_by_product(const float* user_vectors, size_t rows, const float* items, size_t num_items, size_t dim,
                      const float* bias, float* scores) {
  using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using OutRows = Eigen::Map<Rows, Eigen::Unaligned, Eigen::OuterStride<>>;
  const auto r = static_cast<Eigen::Index>(rows), n = static_cast<Eigen::Index>(num_items);
  const auto d = static_cast<Eigen::Index>(dim);
  const Eigen::Map<const Rows> u(user_vectors, r, d);
  // 1,024 items x 64 factors is 256 KB, and their scores for 32 users 128 KB.
  constexpr Eigen::Index kTile = 1024;
  for (Eigen::Index begin = 0; begin < n; begin += kTile) {
    const Eigen::Index width = std::min(kTile, n - begin);
    const Eigen::Map<const Rows> v(items + begin * d, width, d);
    OutRows out(scores + begin, r, width, Eigen::OuterStride<>(n));
    out.noalias() = u * v.transpose();
    if (bias) out.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + begin, width);
  }
}

FactorMatrix gather_rows(const FactorMatrix& m, std::span<const uint32_t> rows) {
  FactorMatrix out(static_cast<Eigen::Index>(rows.size()), m.cols());
  for (size_t r = 0; r < rows.size(); ++r) out.row(static_cast<Eigen::Index>(r)) = m.row(rows[r]);
  return out;
}

void write_factors(ModelWriter& out, const FactorMatrix& m) {
  out.u64(static_cast<uint64_t>(m.rows()));
  out.u64(static_cast<uint64_t>(m.cols()));
  out.floats(std::span<const float>(m.data(), static_cast<size_t>(m.size())));
}

Status read_factors(ModelReader& in, FactorMatrix* m, std::string_view what) {
  uint64_t rows = 0, cols = 0;
  NUDGE_RETURN_IF_ERROR(in.u64(&rows, what));
  NUDGE_RETURN_IF_ERROR(in.u64(&cols, what));
  if (cols == 0 || cols > (1u << 20) || rows > (1ull << 32)) return in.corrupt(what, "implausible shape");
  std::vector<float> data;
  NUDGE_RETURN_IF_ERROR(in.floats(&data, what, rows * cols));
  *m = Eigen::Map<FactorMatrix>(data.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  return Status::ok();
}

}  // namespace nudge
