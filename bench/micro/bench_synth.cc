// Synthetic data generation speed (the demo and every benchmark start here).
#include <benchmark/benchmark.h>

#include "nudge/synth.h"

namespace {

void BM_Synthesize(benchmark::State& state) {
  nudge::SynthOptions o;
  o.num_interactions = static_cast<uint64_t>(state.range(0));
  o.num_users = static_cast<uint32_t>(state.range(0) / 160);
  for (auto _ : state) benchmark::DoNotOptimize(nudge::synthesize(o).value().dataset.num_interactions());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Synthesize)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
