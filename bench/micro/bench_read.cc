// Loading interactions: 1M-row files in each text format, read into a DatasetBuilder.
// Target (issue #3): 1M interactions in < 1 s on 2 cores.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "nudge/readers.h"
#include "nudge/synth.h"
#include "nudge/writers.h"

namespace {

// One synthetic 1M-event file per format, written once per process.
const std::string& fixture(const std::string& format) {
  static std::map<std::string, std::string> paths;
  auto it = paths.find(format);
  if (it != paths.end()) return it->second;
  nudge::SynthOptions o;  // 6000 users x 3700 items, 1M events (MovieLens-1M size)
  const nudge::Dataset d = nudge::synthesize(o).value().dataset;
  const std::string base = std::filesystem::temp_directory_path() / ("nudge-bench-" + std::to_string(getpid()));
  const std::string csv = base + ".csv";
  (void)nudge::write_interactions_csv(d, csv);
  std::string path = csv;
  if (format != "csv") {
    path = base + "." + format;
    std::ofstream out(path);
    const auto& in = d.interactions();
    const auto& c = d.catalog();
    for (size_t r = 0; r < in.size(); ++r) {
      const std::string& u = c.users.id_of(in.users[r]);
      const std::string& i = c.items.id_of(in.items[r]);
      if (format == "dat") {
        out << u.substr(1) << "::" << i.substr(1) << "::" << 1 + r % 5 << "::" << in.timestamps[r] << '\n';
      } else {
        out << "{\"user_id\":\"" << u << "\",\"item_id\":\"" << i << "\",\"type\":\"" << c.event_types.name(in.types[r])
            << "\",\"timestamp\":" << in.timestamps[r] << "}\n";
      }
    }
  }
  std::atexit([] {
    for (auto& [f, p] : paths) std::filesystem::remove(p);
  });
  return paths[format] = path;
}

void read_format(benchmark::State& state, const std::string& format) {
  const std::string& path = fixture(format);
  size_t rows = 0;
  for (auto _ : state) {
    nudge::DatasetBuilder b;
    nudge::ReadReport report;
    const nudge::Status s = nudge::read_interactions_file(path, {}, b, report);
    if (!s.is_ok()) state.SkipWithError(s.to_string().c_str());
    rows = report.rows_kept;
    benchmark::DoNotOptimize(b.build());
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ReadCsv1M(benchmark::State& state) { read_format(state, "csv"); }
void BM_ReadMovieLensDat1M(benchmark::State& state) { read_format(state, "dat"); }
void BM_ReadJsonLines1M(benchmark::State& state) { read_format(state, "jsonl"); }

BENCHMARK(BM_ReadCsv1M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadMovieLensDat1M)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadJsonLines1M)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
