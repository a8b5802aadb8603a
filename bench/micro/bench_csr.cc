// Building the sparse views: COO -> CSR (user->items) and its transpose (item->users).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>

#include "nudge/csr.h"
#include "nudge/synth.h"

namespace {

const nudge::Dataset& dataset(int64_t interactions) {
  static std::map<int64_t, nudge::Dataset> cache;
  auto it = cache.find(interactions);
  if (it != cache.end()) return it->second;
  nudge::SynthOptions o;
  o.num_interactions = static_cast<uint64_t>(interactions);
  o.num_users = static_cast<uint32_t>(interactions / 160);
  o.num_items = static_cast<uint32_t>(std::max<int64_t>(3700, interactions / 270));
  return cache[interactions] = nudge::synthesize(o).value().dataset;
}

void BM_CsrFromCoo(benchmark::State& state) {
  const nudge::Dataset& d = dataset(state.range(0));
  const auto& in = d.interactions();
  for (auto _ : state) {
    auto m = nudge::CsrMatrix::from_coo(d.num_users(), d.num_items(), in.users, in.items, in.values);
    benchmark::DoNotOptimize(m.indices.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(in.size()));
}

void BM_CsrTranspose(benchmark::State& state) {
  const nudge::Dataset& d = dataset(state.range(0));
  const nudge::CsrMatrix& ui = d.user_items();
  for (auto _ : state) {
    auto t = ui.transpose();
    benchmark::DoNotOptimize(t.indices.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ui.nnz()));
}

BENCHMARK(BM_CsrFromCoo)->Arg(1'000'000)->Arg(5'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsrTranspose)->Arg(1'000'000)->Arg(5'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
