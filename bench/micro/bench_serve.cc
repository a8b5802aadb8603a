// Serving hot paths in-process, without HTTP (bench/serve_load.sh measures them end to end
// with wrk). One engine per served kind: 20k users, 100k items with features, 1M synthetic
// events; iALS 64 factors with HNSW over every item with a vector (about half a minute on 2
// cores), and for the */kind benchmarks item-KNN, the two-tower model and the fusion of
// iALS and the two-tower model (the server's default with features; about a minute), each
// built the first time a benchmark needs it. Their retrain times are logged.
//   recommend top-10            fold-in (if stale) + HNSW + exclusions, target well under 1 ms
//   event -> recommend          ingest one event (fsync) and answer the same user at once
//   filtered / diverse          category filter (exact scan), MMR re-ranking
//   ingest batch of 1000        durable (fsync) group commit
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "nudge/serve/engine.h"
#include "nudge/serve/import.h"
#include "nudge/synth.h"

namespace {

using namespace nudge::serve;

struct Served {
  std::filesystem::path dir;
  nudge::SynthData synth;
  std::unique_ptr<Engine> engine;

  explicit Served(const std::string& spec) {
    dir = std::filesystem::temp_directory_path() /
          ("nudge-bench-serve-" + std::to_string(::getpid()) + "-" + spec.substr(0, spec.find(':')));
    std::filesystem::remove_all(dir);
    nudge::SynthOptions so;
    so.num_users = 20000;
    so.num_items = 100000;
    so.num_interactions = 1000000;
    so.num_topics = 50;
    so.num_tags = 500;
    synth = nudge::synthesize(so).value();
    EngineOptions o;
    o.data_dir = dir.string();
    o.model.spec = spec;
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    o.train_on_start = false;
    engine = std::move(Engine::open(o)).value();
    if (!import_dataset(*engine, synth.dataset).is_ok() || !engine->retrain().is_ok()) std::abort();
  }
  ~Served() {
    engine.reset();
    std::filesystem::remove_all(dir);
  }
  std::string user(size_t n) const { return synth.dataset.catalog().users.id_of(static_cast<uint32_t>(n % 20000)); }
  std::string item(size_t n) const { return synth.dataset.catalog().items.id_of(static_cast<uint32_t>(n % 100000)); }
};

constexpr char kIals[] = "ials:factors=64";

Served& served(const std::string& spec = kIals) {
  static std::map<std::string, std::unique_ptr<Served>> engines;
  auto& s = engines[spec];
  if (!s) s = std::make_unique<Served>(spec);
  return *s;
}

void recommend(benchmark::State& state, RecommendRequest req, const std::string& spec = kIals) {
  Served& s = served(spec);
  size_t n = 0;
  for (auto _ : state) {
    req.user = s.user(n++ * 7919);
    auto r = s.engine->recommend(req);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Recommend(benchmark::State& state) { recommend(state, {}); }

// Every other kind scores the catalogue from the history on each request.
void BM_RecommendKind(benchmark::State& state, const char* spec) { recommend(state, {}, spec); }

void BM_RecommendExplained(benchmark::State& state) {
  RecommendRequest req;
  req.explain = true;
  recommend(state, req);
}

void BM_RecommendCategoryFilter(benchmark::State& state) {
  RecommendRequest req;
  req.categories = {"c07"};
  recommend(state, req);
}

void BM_RecommendMmr(benchmark::State& state) {
  RecommendRequest req;
  req.mmr_lambda = 0.7f;
  req.max_per_category = 3;
  recommend(state, req);
}

void BM_RecommendColdUser(benchmark::State& state) {
  Served& s = served();
  RecommendRequest req;
  req.user = "nobody";
  for (auto _ : state) benchmark::DoNotOptimize(s.engine->recommend(req));
}

// "An event is in the next answer": durable ingest of one event (fsync included), then a
// request for the same user, which must fold the user in again (or rescore the history).
void event_then_recommend(benchmark::State& state, const std::string& spec) {
  Served& s = served(spec);
  RecommendRequest req;
  size_t n = 0;
  for (auto _ : state) {
    req.user = s.user(n * 13);
    if (!s.engine->ingest({{req.user, s.item(n * 31), "view", 1.f, 0}}).is_ok()) state.SkipWithError("ingest failed");
    benchmark::DoNotOptimize(s.engine->recommend(req));
    ++n;
  }
}

void BM_EventThenRecommend(benchmark::State& state) { event_then_recommend(state, kIals); }
void BM_EventThenRecommendKind(benchmark::State& state, const char* spec) { event_then_recommend(state, spec); }

void BM_Similar(benchmark::State& state) {
  Served& s = served();
  SimilarRequest req;
  size_t n = 0;
  for (auto _ : state) {
    req.item = s.item(n++ * 17);
    benchmark::DoNotOptimize(s.engine->similar(req));
  }
}

void BM_IngestDurableBatch(benchmark::State& state) {
  Served& s = served();
  const size_t batch = static_cast<size_t>(state.range(0));
  size_t n = 0;
  for (auto _ : state) {
    std::vector<Event> events;
    events.reserve(batch);
    for (size_t k = 0; k < batch; ++k, ++n) events.push_back({s.user(n), s.item(n * 31), "view", 1.f, 0});
    if (!s.engine->ingest(std::move(events)).is_ok()) state.SkipWithError("ingest failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
}

BENCHMARK(BM_Recommend)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendExplained)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendCategoryFilter)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendMmr)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendColdUser)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EventThenRecommend)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Similar)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IngestDurableBatch)->Arg(1)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

constexpr char kFusion[] = "fusion:models=ials+twotower,split=temporal,ials.factors=64,twotower.epochs=10";
BENCHMARK_CAPTURE(BM_RecommendKind, itemknn, "itemknn")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RecommendKind, twotower, "twotower:epochs=10")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RecommendKind, fusion, kFusion)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EventThenRecommendKind, fusion, kFusion)->Unit(benchmark::kMicrosecond)->UseRealTime();
// sasrec over 100k items: one encoding of the user's last 50 items and the item matrix per
// request (the latency does not depend on how long it trained: 2 epochs keep the setup short).
constexpr char kSasrec[] = "sasrec:epochs=2,validation_users=0";
BENCHMARK_CAPTURE(BM_RecommendKind, sasrec, kSasrec)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EventThenRecommendKind, sasrec, kSasrec)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
