// The embedded core on the issue #7 budget: 100k items x 64 factors, one core.
// Target: top-10 in under 2 ms (int8). Footprint: scripts/embed-footprint.sh.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "nudge/models/ials.h"
#include "nudge/nudge_c.h"
#include "nudge/snapshot.h"
#include "nudge/synth.h"

namespace {

nudge_snapshot* snapshot(bool int8) {
  static nudge_snapshot* snaps[2] = {nullptr, nullptr};
  if (snaps[int8]) return snaps[int8];
  static const auto model = [] {
    nudge::SynthOptions o;
    o.num_users = 20000;
    o.num_items = 100000;
    o.num_interactions = 400000;
    o.min_user_interactions = 5;
    static nudge::Dataset d = nudge::synthesize(o).value().dataset;
    const nudge::Params p = nudge::Params::parse("factors=64,iterations=2").value();
    auto m = std::make_unique<nudge::IalsModel>(nudge::IalsOptions::from_params(p).value(), p);
    (void)m->fit(d);
    return std::make_pair(std::move(m), &d);
  }();
  std::vector<float> pop(model.second->num_items());
  for (uint32_t i = 0; i < pop.size(); ++i) pop[i] = static_cast<float>(model.second->item_users().row_nnz(i));
  const std::string path =
      std::filesystem::temp_directory_path() / ("nudge-bench-" + std::to_string(getpid()) + (int8 ? ".i8" : ".f32"));
  (void)nudge::write_snapshot(*model.first, model.second->catalog().items, pop, {.int8 = int8}, path);
  nudge_snapshot_open(path.c_str(), 0, &snaps[int8]);
  std::filesystem::remove(path);  // the mapping stays valid
  return snaps[int8];
}

void user_top10(benchmark::State& state, bool int8) {
  nudge_snapshot* s = snapshot(int8);
  nudge_user* u = nullptr;
  nudge_user_create(s, &u);
  for (uint32_t i = 0; i < 20; ++i) nudge_user_record_event(u, i * 4999, 1.f);
  nudge_scored_item out[10];
  size_t n = 0;
  for (auto _ : state) {
    nudge_user_recommend(u, 10, out, &n);
    benchmark::DoNotOptimize(out);
  }
  nudge_user_free(u);
}

void BM_EmbedTop10Int8(benchmark::State& state) { user_top10(state, true); }
void BM_EmbedTop10Float(benchmark::State& state) { user_top10(state, false); }

void BM_EmbedRecordEvent(benchmark::State& state) {
  nudge_snapshot* s = snapshot(true);
  nudge_user* u = nullptr;
  nudge_user_create(s, &u);
  for (uint32_t i = 0; i < 50; ++i) nudge_user_record_event(u, i * 1999, 1.f);
  uint32_t item = 0;
  for (auto _ : state) {
    nudge_user_record_event(u, item, 1.f);  // repeats add weight: the history stays at 50 items
    item = (item + 1999) % (50 * 1999);
  }
  nudge_user_free(u);
}

void BM_EmbedSimilarInt8(benchmark::State& state) {
  nudge_snapshot* s = snapshot(true);
  nudge_scored_item out[10];
  size_t n = 0;
  uint32_t item = 0;
  for (auto _ : state) {
    nudge_snapshot_similar(s, item, 10, out, &n);
    item = (item + 7) % 100000;
  }
}

BENCHMARK(BM_EmbedTop10Int8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EmbedTop10Float)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EmbedRecordEvent)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EmbedSimilarInt8)->Unit(benchmark::kMicrosecond);

}  // namespace
