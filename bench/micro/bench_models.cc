// Model training and serving hot paths on the issue #4 workloads (MovieLens-1M-sized
// synthetic data: 6,000 users x 3,700 items, 1M interactions; 80k ratings for SVD).
//   iALS 64 factors x 15 iterations      target <= 1.4 s
//   BPR 64 factors x 100 epochs           target <= 12 s
//   ItemKNN similarity, K = 20            target <= 0.5 s
//   SVD 100 factors x 20 epochs, 80k      target <= 0.1 s
// plus top-10 for one user over 100k items and single-user iALS fold-in.
#include <benchmark/benchmark.h>

#include "nudge/metrics.h"
#include "nudge/models/ials.h"
#include "nudge/models/knn.h"
#include "nudge/registry.h"
#include "nudge/rng.h"
#include "nudge/synth.h"
#include "nudge/top_k.h"

namespace {

const nudge::Dataset& ml1m() {
  static const nudge::Dataset d = [] {
    nudge::SynthOptions o;  // defaults are MovieLens-1M-sized
    nudge::Dataset ds = nudge::synthesize(o).value().dataset;
    (void)ds.user_items();
    (void)ds.item_users();
    return ds;
  }();
  return d;
}

const nudge::Dataset& ratings80k() {
  static const nudge::Dataset d = [] {
    nudge::SynthOptions o;  // MovieLens-100k-like: 943 users, 1682 items; 80k ratings is its 80% train split
    o.num_users = 943;
    o.num_items = 1682;
    o.num_interactions = 80000;
    o.ratings = true;
    return nudge::synthesize(o).value().dataset;
  }();
  return d;
}

void fit(benchmark::State& state, const char* name, const char* params, const nudge::Dataset& d) {
  for (auto _ : state) {
    auto m = nudge::make_recommender(name, nudge::Params::parse(params).value()).value();
    const nudge::Status s = m->fit(d);
    if (!s.is_ok()) state.SkipWithError(s.to_string().c_str());
    benchmark::DoNotOptimize(m.get());
  }
  state.counters["interactions"] = static_cast<double>(d.num_interactions());
}

void BM_IalsFit64x15(benchmark::State& state) { fit(state, "ials", "factors=64,iterations=15", ml1m()); }
void BM_IalsEpoch64(benchmark::State& state) { fit(state, "ials", "factors=64,iterations=1", ml1m()); }
void BM_BprFit64x100(benchmark::State& state) { fit(state, "bpr", "factors=64,epochs=100", ml1m()); }
void BM_BprEpoch64(benchmark::State& state) { fit(state, "bpr", "factors=64,epochs=1", ml1m()); }
void BM_ItemKnnK20(benchmark::State& state) { fit(state, "itemknn", "neighbours=20", ml1m()); }
void BM_ItemKnnBm25K20(benchmark::State& state) { fit(state, "itemknn", "neighbours=20,similarity=bm25", ml1m()); }
void BM_SvdFit100x20(benchmark::State& state) { fit(state, "svd", "factors=100,epochs=20", ratings80k()); }
void BM_SvdppFit20x20(benchmark::State& state) { fit(state, "svdpp", "factors=20,epochs=20", ratings80k()); }
void BM_EaseFit(benchmark::State& state) { fit(state, "ease", "", ml1m()); }

BENCHMARK(BM_IalsFit64x15)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_IalsEpoch64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BprFit64x100)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_BprEpoch64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ItemKnnK20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ItemKnnBm25K20)->Unit(benchmark::kMillisecond)->UseRealTime();

// The two ways build_similarity accumulates, on the same item x user matrix (itemknn's fit
// takes the triangle here: 3,700 items).
void similarity(benchmark::State& state, nudge::SimilarityPath path) {
  const nudge::CsrMatrix& items = ml1m().item_users();
  nudge::KnnOptions o;
  o.threads = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(nudge::build_similarity(items, o, path).nnz());
}
void BM_SimilarityRows(benchmark::State& state) { similarity(state, nudge::SimilarityPath::kRows); }
void BM_SimilarityTriangle(benchmark::State& state) { similarity(state, nudge::SimilarityPath::kTriangle); }
BENCHMARK(BM_SimilarityRows)->Unit(benchmark::kMillisecond)->UseRealTime()->Arg(1)->Arg(2);
BENCHMARK(BM_SimilarityTriangle)->Unit(benchmark::kMillisecond)->UseRealTime()->Arg(1)->Arg(2);
BENCHMARK(BM_SvdFit100x20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SvdppFit20x20)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_EaseFit)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// Top-10 for one user over 100k items, 64 factors: scoring (mat-vec) + selection + exclusion.
void BM_Top10Of100kItems(benchmark::State& state) {
  static const nudge::Dataset d = [] {
    nudge::SynthOptions o;
    o.num_users = 2000;
    o.num_items = 100000;
    o.num_interactions = 200000;
    return nudge::synthesize(o).value().dataset;
  }();
  static std::unique_ptr<nudge::Recommender> m = [] {
    auto r = nudge::make_recommender("ials", nudge::Params::parse("factors=64,iterations=1").value()).value();
    (void)r->fit(d);
    return r;
  }();
  std::vector<float> scratch;
  std::vector<nudge::ScoredItem> out;
  uint32_t u = 0;
  for (auto _ : state) {
    nudge::recommend_for_user(*m, u, 10, d.user_items().row_indices(u), &scratch, &out);
    benchmark::DoNotOptimize(out.data());
    u = (u + 1) % d.num_users();
  }
}
BENCHMARK(BM_Top10Of100kItems)->Unit(benchmark::kMicrosecond);

// Fold-in of one user (the per-event online update) from a 50-item history, 64 factors.
void BM_IalsFoldIn50(benchmark::State& state) {
  static std::unique_ptr<nudge::Recommender> m = [] {
    auto r = nudge::make_recommender("ials", nudge::Params::parse("factors=64,iterations=2").value()).value();
    (void)r->fit(ml1m());
    return r;
  }();
  const auto& ials = static_cast<const nudge::IalsModel&>(*m);
  std::vector<uint32_t> items;
  for (uint32_t i = 0; i < 50; ++i) items.push_back(i * 13);
  const std::vector<float> w(50, 1.f);
  for (auto _ : state) benchmark::DoNotOptimize(ials.fold_in(items, w).data());
}
BENCHMARK(BM_IalsFoldIn50)->Unit(benchmark::kMicrosecond);

}  // namespace

namespace {

// NeuMF on the 1M set: one epoch with 4 negatives per positive (5M examples). Target < 20 s.
void BM_NeuMfEpoch(benchmark::State& state) { fit(state, "neumf", "epochs=1,negatives=4", ml1m()); }
BENCHMARK(BM_NeuMfEpoch)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// Inference throughput: items scored per second when ranking the whole catalogue for users.
// One user after another scored over the whole catalogue by `m` (fitted once by the caller).
void score_users(benchmark::State& state, const nudge::Recommender& m) {
  std::vector<float> scores(m.num_items());
  uint32_t u = 0;
  for (auto _ : state) {
    m.score_user(u, scores);
    u = (u + 1) % m.num_users();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(m.num_items()));
}

std::unique_ptr<nudge::Recommender> fitted_on_ml1m(const char* name, const char* params) {
  auto r = nudge::make_recommender(name, nudge::Params::parse(params).value()).value();
  (void)r->fit(ml1m());
  return r;
}

void BM_NeuMfScoreUser(benchmark::State& state) {
  static const auto m = fitted_on_ml1m("neumf", "epochs=0");
  score_users(state, *m);
}
BENCHMARK(BM_NeuMfScoreUser)->Unit(benchmark::kMicrosecond);

// The transition model on the 1M set: the fit (a sort of every event and of its steps), and
// scoring one user from their 5 recent items (what each served request does).
void BM_TransitionFit(benchmark::State& state) { fit(state, "transition", "", ml1m()); }
BENCHMARK(BM_TransitionFit)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_TransitionScoreUser(benchmark::State& state) {
  static const auto m = fitted_on_ml1m("transition", "");
  score_users(state, *m);
}
BENCHMARK(BM_TransitionScoreUser)->Unit(benchmark::kMicrosecond);

// sasrec: one epoch (every user's last L + 1 items, all positions) on the two shapes of issue
// 29, and one served user (encode 50 recent items, score every item). Positions per second
// is the training throughput the issue asks for.
const nudge::Dataset& beauty_shaped() {
  static const nudge::Dataset d = [] {
    nudge::SynthOptions o;  // Amazon Beauty's shape: 40k short sequences over 54k items
    o.num_users = 40226;
    o.num_items = 54542;
    o.num_interactions = 353962;
    o.popularity_exponent = 0.8;
    o.sequential = 0.3;
    return nudge::synthesize(o).value().dataset;
  }();
  return d;
}

double training_positions(const nudge::Dataset& d, size_t max_length) {
  const nudge::CsrMatrix& ui = d.user_items();
  double positions = 0;
  for (uint32_t u = 0; u < d.num_users(); ++u)
    positions += static_cast<double>(std::min(ui.row_indices(u).size(), max_length + 1)) - 1;
  return positions;
}

void sasrec_epoch(benchmark::State& state, const char* params, const nudge::Dataset& d, size_t max_length) {
  fit(state, "sasrec", params, d);
  state.counters["positions_per_s"] =
      benchmark::Counter(training_positions(d, max_length) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_SasrecEpochMl1mFull(benchmark::State& state) {
  sasrec_epoch(state, "factors=64,blocks=2,max_length=200,epochs=1,validation_users=0", ml1m(), 200);
}
BENCHMARK(BM_SasrecEpochMl1mFull)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_SasrecEpochBeautySampled(benchmark::State& state) {
  sasrec_epoch(state, "factors=64,blocks=2,max_length=50,epochs=1,validation_users=0", beauty_shaped(), 50);
}
BENCHMARK(BM_SasrecEpochBeautySampled)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_SasrecEpochBeautyFull(benchmark::State& state) {
  sasrec_epoch(state, "factors=64,blocks=2,max_length=50,epochs=1,validation_users=0,loss=full", beauty_shaped(), 50);
}
BENCHMARK(BM_SasrecEpochBeautyFull)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_SasrecScoreUser(benchmark::State& state) {
  static const auto m = fitted_on_ml1m("sasrec", "factors=64,blocks=2,max_length=50,epochs=0,validation_users=0");
  score_users(state, *m);
}
BENCHMARK(BM_SasrecScoreUser)->Unit(benchmark::kMicrosecond);

// The ranking hot paths of evaluation: top-10 of 100k scores with 20 items excluded, and the
// AUC of one held-out item among them (what each user of a leave-last evaluation costs).
void BM_TopK10Of100k(benchmark::State& state) {
  nudge::Rng rng(3);
  std::vector<float> scores(100000);
  for (float& s : scores) s = static_cast<float>(rng.normal());
  std::vector<uint32_t> excluded;
  for (uint32_t i = 0; i < 20; ++i) excluded.push_back(i * 4999);
  std::vector<nudge::ScoredItem> out;
  for (auto _ : state) {
    nudge::top_k(scores, 10, excluded, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(scores.size()));
}
BENCHMARK(BM_TopK10Of100k)->Unit(benchmark::kMicrosecond);

void BM_AucOneOf100k(benchmark::State& state) {
  nudge::Rng rng(4);
  std::vector<float> scores(100000);
  for (float& s : scores) s = static_cast<float>(rng.normal());
  std::vector<uint32_t> excluded;
  for (uint32_t i = 0; i < 20; ++i) excluded.push_back(i * 4999 + 1);
  const std::vector<uint32_t> relevant{77777};
  for (auto _ : state) benchmark::DoNotOptimize(nudge::auc(scores, relevant, excluded));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(scores.size()));
}
BENCHMARK(BM_AucOneOf100k)->Unit(benchmark::kMicrosecond);

}  // namespace
