// Train -> export -> load through the C API: float answers equal the C++ model's; int8
// stays within the accuracy budget (top-10 overlap >= 0.95, NDCG@10 loss < 1% relative).
#include "nudge/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nudge/evaluate.h"
#include "nudge/metrics.h"
#include "nudge/nudge_c.h"
#include "nudge/split.h"
#include "nudge/synth.h"
#include "test_util.h"

namespace nudge {
namespace {

TEST(SnapshotWriterTest, QuantiseRowsBoundsTheError) {
  const std::vector<float> rows = {0.5f, -1.0f, 0.25f, 0.f, 0.f, 0.f};
  std::vector<int8_t> q;
  std::vector<float> s;
  quantise_rows(rows.data(), 2, 3, &q, &s);
  EXPECT_EQ(q, (std::vector<int8_t>{64, -127, 32, 0, 0, 0}));
  EXPECT_FLOAT_EQ(s[0], 1.0f / 127);
  EXPECT_EQ(s[1], 1.f);
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(q[k] * s[0], rows[k], s[0] / 2);
}

struct Trained {
  TrainTest split;
  std::unique_ptr<IalsModel> model;
};

const Trained& trained() {
  static const Trained t = [] {
    SynthOptions o;
    o.num_users = 1500;
    o.num_items = 1200;
    o.num_interactions = 60000;
    o.num_topics = 12;
    Trained r{
        split(synthesize(o).value().dataset, {.method = SplitMethod::kRandom, .test_fraction = 0.2, .seed = 5}).value(),
        nullptr};
    const Params p = Params::parse("factors=32,iterations=10").value();
    r.model = std::make_unique<IalsModel>(IalsOptions::from_params(p).value(), p);
    EXPECT_TRUE(r.model->fit(r.split.train).is_ok());
    return r;
  }();
  return t;
}

nudge_snapshot* export_and_open(const testing::TempDir& dir, bool int8) {
  const Trained& t = trained();
  std::vector<float> pop(t.split.train.num_items());
  for (uint32_t i = 0; i < pop.size(); ++i) pop[i] = static_cast<float>(t.split.train.item_users().row_nnz(i));
  const std::string path = dir.file(int8 ? "int8.snap" : "float.snap");
  EXPECT_TRUE(write_snapshot(*t.model, t.split.train.catalog().items, pop, {.int8 = int8}, path).is_ok());
  nudge_snapshot* s = nullptr;
  EXPECT_EQ(nudge_snapshot_open(path.c_str(), NUDGE_OPEN_VERIFY, &s), NUDGE_OK) << nudge_last_error();
  return s;
}

TEST(SnapshotWriterTest, FloatSnapshotGivesTheModelsTopK) {
  testing::TempDir dir;
  nudge_snapshot* s = export_and_open(dir, false);
  ASSERT_NE(s, nullptr);
  const Trained& t = trained();
  const CsrMatrix& seen = t.split.train.user_items();
  std::vector<float> scratch;
  std::vector<ScoredItem> expect;
  nudge_scored_item got[10];
  size_t n = 0;
  for (uint32_t u = 0; u < 200; ++u) {
    recommend_for_user(*t.model, u, 10, seen.row_indices(u), &scratch, &expect);
    const Eigen::VectorXf x = t.model->user_factors().row(u).transpose();
    const auto ex = seen.row_indices(u);
    ASSERT_EQ(nudge_snapshot_recommend_vector(s, x.data(), ex.data(), ex.size(), 10, got, &n), NUDGE_OK);
    ASSERT_EQ(n, expect.size());
    for (size_t k = 0; k < n; ++k) {
      ASSERT_EQ(got[k].item, expect[k].item) << "user " << u << " rank " << k;
      ASSERT_NEAR(got[k].score, expect[k].score, 1e-4f);
    }
  }
  // Fold-in of a history on the device matches the C++ fold-in's ranking.
  const std::vector<uint32_t> hist = {3, 30, 300};
  const std::vector<float> w = {1, 1, 4};
  std::vector<float> scores(t.model->num_items());
  t.model->score_history(hist, w, scores);
  std::vector<uint32_t> ex = hist;
  std::sort(ex.begin(), ex.end());
  top_k(scores, 10, ex, &expect);
  ASSERT_EQ(nudge_snapshot_recommend_history(s, hist.data(), w.data(), 3, 10, got, &n), NUDGE_OK);
  for (size_t k = 0; k < n; ++k) EXPECT_EQ(got[k].item, expect[k].item) << k;
  nudge_snapshot_free(s);
}

TEST(SnapshotWriterTest, Int8StaysWithinTheAccuracyBudget) {
  testing::TempDir dir;
  nudge_snapshot* f = export_and_open(dir, false);
  nudge_snapshot* q = export_and_open(dir, true);
  ASSERT_TRUE(f && q);
  const auto float_size = std::filesystem::file_size(dir.file("float.snap"));
  const auto int8_size = std::filesystem::file_size(dir.file("int8.snap"));
  const Trained& t = trained();
  const CsrMatrix& seen = t.split.train.user_items();
  const CsrMatrix& truth = t.split.test.user_items();
  double overlap = 0, ndcg_f = 0, ndcg_q = 0;
  int users = 0;
  nudge_scored_item a[10], b[10];
  size_t na = 0, nb = 0;
  for (uint32_t u = 0; u < t.split.train.num_users(); ++u) {
    if (truth.row_nnz(u) == 0 || seen.row_nnz(u) == 0) continue;
    const Eigen::VectorXf x = t.model->user_factors().row(u).transpose();
    const auto ex = seen.row_indices(u);
    ASSERT_EQ(nudge_snapshot_recommend_vector(f, x.data(), ex.data(), ex.size(), 10, a, &na), NUDGE_OK);
    ASSERT_EQ(nudge_snapshot_recommend_vector(q, x.data(), ex.data(), ex.size(), 10, b, &nb), NUDGE_OK);
    std::vector<uint32_t> ra, rb;
    for (size_t k = 0; k < na; ++k) ra.push_back(a[k].item);
    for (size_t k = 0; k < nb; ++k) rb.push_back(b[k].item);
    int common = 0;
    for (uint32_t i : ra) common += std::count(rb.begin(), rb.end(), i) > 0;
    overlap += common / 10.0;
    ndcg_f += ranking_metrics(ra, truth.row_indices(u), 10).ndcg;
    ndcg_q += ranking_metrics(rb, truth.row_indices(u), 10).ndcg;
    ++users;
  }
  overlap /= users;
  const double loss = (ndcg_f - ndcg_q) / ndcg_f;
  std::printf(
      "int8: %d users, top-10 overlap %.4f, NDCG@10 float %.4f int8 %.4f (relative loss %.3f%%), "
      "size %ju -> %ju bytes (%.2fx)\n",
      users, overlap, ndcg_f / users, ndcg_q / users, 100 * loss, static_cast<uintmax_t>(float_size),
      static_cast<uintmax_t>(int8_size), static_cast<double>(float_size) / int8_size);
  EXPECT_GE(overlap, 0.95);
  EXPECT_LT(loss, 0.01);
  // Vectors shrink 4x (4 bytes -> 1 per value) at the cost of one float scale per item; the
  // other sections are the same, up to alignment padding (< 64 bytes each for two sections).
  const auto n = static_cast<int64_t>(t.model->num_items()), d = t.model->item_factors().cols();
  const int64_t saved = static_cast<int64_t>(float_size) - static_cast<int64_t>(int8_size);
  EXPECT_NEAR(static_cast<double>(saved), static_cast<double>(n * d * 3 - n * 4), 128.0);
  nudge_snapshot_free(f);
  nudge_snapshot_free(q);
}

}  // namespace
}  // namespace nudge
