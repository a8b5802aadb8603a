// The scoring hot path against this machine's limits (issue 31): what a GEMM and a memory
// stream reach here (the roofline), and the paths that rank every item for a user on the
// Amazon-Beauty catalogue (54,542 items, 64 factors):
//   BM_RooflineGemm          square sgemm (Eigen, 1,024^3): the machine's FLOP/s per core
//   BM_RooflineGemmShape     the same product in the scoring shape (64 users x 64 x 54,542)
//   BM_RooflineRead          summing a 512 MB array: memory read bandwidth per core
//   BM_RooflineReadL2        summing one user's 218 KB of scores: L2 read bandwidth
//   BM_ScoreUserGemv         one user at a time (score_user): the item matrix read per user
//   BM_ScoreUsersBlock       64 users through score_users (score_by_product, tiled)
//   BM_RankUsersBlock        the same plus top-10 per user with 6 items excluded (rank_users)
//   BM_TopK10Of54k           top-10 of one user's scores (top_k), against the L2 read
// bench/roofline.sh runs these and prints each path as a share of its roofline.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <vector>

#include "nudge/models/factors.h"
#include "nudge/top_k.h"

namespace {

using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr uint32_t kItems = 54542, kFactors = 64, kBlock = 64;  // kBlock: kScoreBlockUsers

void flops(benchmark::State& state, double per_iteration) {
  state.counters["flop_per_s"] =
      benchmark::Counter(per_iteration * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_RooflineGemm(benchmark::State& state) {
  const Eigen::Index n = 1024;
  const Rows a = Rows::Random(n, n), b = Rows::Random(n, n);
  Rows c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  flops(state, 2.0 * n * n * n);
}
BENCHMARK(BM_RooflineGemm)->Unit(benchmark::kMillisecond);

void BM_RooflineGemmShape(benchmark::State& state) {
  const Rows u = Rows::Random(kBlock, kFactors), v = Rows::Random(kItems, kFactors);
  Rows c(kBlock, kItems);
  for (auto _ : state) {
    c.noalias() = u * v.transpose();
    benchmark::DoNotOptimize(c.data());
  }
  flops(state, 2.0 * kBlock * kFactors * kItems);
}
BENCHMARK(BM_RooflineGemmShape)->Unit(benchmark::kMicrosecond);

void BM_RooflineRead(benchmark::State& state) {
  const std::vector<float> big(size_t{128} << 20, 1.f);  // 512 MB: far past every cache
  for (auto _ : state) {
    const Eigen::Map<const Eigen::VectorXf> v(big.data(), static_cast<Eigen::Index>(big.size()));
    benchmark::DoNotOptimize(v.sum());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(big.size() * sizeof(float)));
}
BENCHMARK(BM_RooflineRead)->Unit(benchmark::kMillisecond);

void BM_RooflineReadL2(benchmark::State& state) {
  const std::vector<float> small(size_t{54542}, 1.f);  // one user's scores: 218 KB, in L2
  for (auto _ : state) {
    const Eigen::Map<const Eigen::VectorXf> v(small.data(), static_cast<Eigen::Index>(small.size()));
    benchmark::DoNotOptimize(v.sum());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(small.size() * sizeof(float)));
}
BENCHMARK(BM_RooflineReadL2)->Unit(benchmark::kMicrosecond);

// Factor matrices of the Beauty catalogue's shape, random: scoring costs the same whatever
// was learnt.
struct Shape {
  Rows users = Rows::Random(4096, kFactors);
  Rows items = Rows::Random(kItems, kFactors);
};
const Shape& shape() {
  static const Shape s;
  return s;
}

void BM_ScoreUserGemv(benchmark::State& state) {
  const Shape& s = shape();
  std::vector<float> scores(kItems);
  Eigen::Index u = 0;
  for (auto _ : state) {
    Eigen::Map<Eigen::VectorXf>(scores.data(), kItems).noalias() = s.items * s.users.row(u).transpose();
    benchmark::DoNotOptimize(scores.data());
    u = (u + 1) % s.users.rows();
  }
  flops(state, 2.0 * kFactors * kItems);
  state.counters["users_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScoreUserGemv)->Unit(benchmark::kMicrosecond);

void BM_ScoreUsersBlock(benchmark::State& state) {
  const Shape& s = shape();
  std::vector<float> scores(size_t{kBlock} * kItems);
  Eigen::Index first = 0;
  for (auto _ : state) {
    nudge::score_by_product(s.users.row(first).data(), kBlock, s.items.data(), kItems, kFactors, nullptr,
                            scores.data());
    benchmark::DoNotOptimize(scores.data());
    first = (first + kBlock) % (s.users.rows() - kBlock);
  }
  flops(state, 2.0 * kBlock * kFactors * kItems);
  state.counters["users_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kBlock, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScoreUsersBlock)->Unit(benchmark::kMicrosecond);

void BM_RankUsersBlock(benchmark::State& state) {
  const Shape& s = shape();
  std::vector<float> scores(size_t{kBlock} * kItems);
  std::vector<nudge::ScoredItem> top;
  const std::vector<uint32_t> excluded{5, 900, 17000, 30001, 41234, 54000};  // a Beauty-sized history
  Eigen::Index first = 0;
  for (auto _ : state) {
    nudge::score_by_product(s.users.row(first).data(), kBlock, s.items.data(), kItems, kFactors, nullptr,
                            scores.data());
    for (uint32_t r = 0; r < kBlock; ++r) {
      nudge::top_k(std::span<const float>(scores).subspan(size_t{r} * kItems, kItems), 10, excluded, &top);
      benchmark::DoNotOptimize(top.data());
    }
    first = (first + kBlock) % (s.users.rows() - kBlock);
  }
  flops(state, 2.0 * kBlock * kFactors * kItems);
  state.counters["users_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kBlock, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RankUsersBlock)->Unit(benchmark::kMicrosecond);

void BM_TopK10Of54k(benchmark::State& state) {
  const Shape& s = shape();
  std::vector<float> scores(kItems);
  Eigen::Map<Eigen::VectorXf>(scores.data(), kItems).noalias() = s.items * s.users.row(0).transpose();
  const std::vector<uint32_t> excluded{5, 900, 17000, 30001, 41234, 54000};
  std::vector<nudge::ScoredItem> top;
  for (auto _ : state) {
    nudge::top_k(scores, 10, excluded, &top);
    benchmark::DoNotOptimize(top.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kItems * sizeof(float)));
}
BENCHMARK(BM_TopK10Of54k)->Unit(benchmark::kMicrosecond);

}  // namespace
