#include "nudge/models/factors.h"

namespace nudge {

FactorMatrix random_factors(Eigen::Index rows, Eigen::Index cols, double stddev, Rng& rng) {
  FactorMatrix m(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = static_cast<float>(stddev * rng.normal());
  }
  return m;
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
