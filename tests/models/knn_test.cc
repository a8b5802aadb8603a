// The similarity graph against pairwise dot products, by each of build_similarity's paths:
// the triangle, and rows of every density for the row path (a dense scan for rows that touch
// much of the catalogue, a list of touched columns for the others); and the self-similarity
// (what implicit's similar_items lists first) against the score of an exact copy.
#include "nudge/models/knn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nudge/check.h"
#include "nudge/dataset.h"
#include "nudge/registry.h"
#include "nudge/rng.h"

namespace nudge {
namespace {

// 600 items x 5,000 users: every 50th item has 2,000 users, the others 1-9, with distinct
// random values (no ties).
CsrMatrix item_users() {
  Rng rng(21);
  std::vector<uint32_t> rows, cols;
  std::vector<float> values;
  for (uint32_t i = 0; i < 600; ++i) {
    const uint32_t users = i % 50 == 0 ? 2000 : 1 + rng.uniform_index(9);
    std::vector<uint32_t> picked;
    while (picked.size() < users) {
      const uint32_t u = rng.uniform_index(5000);
      if (std::find(picked.begin(), picked.end(), u) == picked.end()) picked.push_back(u);
    }
    for (uint32_t u : picked) {
      rows.push_back(i);
      cols.push_back(u);
      values.push_back(static_cast<float>(0.5 + rng.uniform()));
    }
  }
  return CsrMatrix::from_coo(600, 5000, rows, cols, values);
}

class BuildSimilarityTest : public ::testing::TestWithParam<SimilarityPath> {};

TEST_P(BuildSimilarityTest, KeepsTheBestCosineNeighboursOfSparseAndDenseRows) {
  const CsrMatrix m = item_users();
  KnnOptions o;
  o.neighbours = 7;
  o.shrinkage = 0.5;
  o.threads = 2;
  const CsrMatrix s = build_similarity(m, o, GetParam());
  ASSERT_EQ(s.num_rows, 600u);
  std::vector<std::vector<double>> dense(600, std::vector<double>(5000, 0.0));
  std::vector<double> norm(600, 0.0);
  for (uint32_t i = 0; i < 600; ++i) {
    const auto idx = m.row_indices(i);
    const auto val = m.row_values(i);
    for (size_t k = 0; k < idx.size(); ++k) {
      dense[i][idx[k]] = val[k];
      norm[i] += static_cast<double>(val[k]) * val[k];
    }
    norm[i] = std::sqrt(norm[i]);
  }
  size_t sparse_rows_with_neighbours = 0;
  for (uint32_t i = 0; i < 600; ++i) {
    std::vector<ScoredItem> expected;
    for (uint32_t j = 0; j < 600; ++j) {
      if (j == i) continue;
      double dot = 0;
      for (uint32_t u : m.row_indices(i)) dot += dense[i][u] * dense[j][u];
      if (dot != 0) expected.push_back({j, static_cast<float>(dot / (norm[i] * norm[j] + o.shrinkage))});
    }
    keep_best(&expected, 7);
    const auto got = s.row_indices(i);
    const auto got_values = s.row_values(i);
    ASSERT_EQ(got.size(), expected.size()) << "row " << i;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k], expected[k].item) << "row " << i << " rank " << k;
      EXPECT_NEAR(got_values[k], expected[k].score, 1e-5) << "row " << i;
    }
    sparse_rows_with_neighbours += i % 50 != 0 && !got.empty();
  }
  EXPECT_GT(sparse_rows_with_neighbours, 300u);  // sparse rows found their neighbours
}

// Item 1 is a copy of item 0 (same users, same weights), so the fit measures the pair (0, 1)
// exactly as it would measure (0, 0): the self-similarity must be item 1's score in item 0's
// row, for every similarity; item 5 has no users.
TEST(ItemKnnSelfSimilarity, IsTheScoreOfAnExactCopy) {
  DatasetBuilder b;
  auto& c = b.catalog();
  for (int u = 0; u < 12; ++u) c.users.intern("u" + std::to_string(u));
  for (int i = 0; i < 6; ++i) c.items.intern("i" + std::to_string(i));
  const EventType view = c.event_types.intern("view").value();
  Rng rng(5);
  for (uint32_t u = 0; u < 12; ++u) {
    if (u < 7) {
      const auto w = static_cast<float>(1 + u % 3);
      b.interactions().push_back(u, 0, view, w, 0);
      b.interactions().push_back(u, 1, view, w, 0);
    }
    for (uint32_t i = 2; i < 5; ++i)
      if (rng.uniform() < 0.6) b.interactions().push_back(u, i, view, static_cast<float>(1 + rng.uniform()), 0);
  }
  const Dataset d = b.build();
  for (const char* spec :
       {"itemknn:similarity=cosine", "itemknn:similarity=cosine,shrinkage=2", "itemknn:similarity=tfidf",
        "itemknn:similarity=bm25", "itemknn:similarity=dot", "itemknn:similarity=jaccard,shrinkage=1"}) {
    auto made = make_recommender_from_spec(spec);
    ASSERT_TRUE(made.is_ok()) << spec;
    auto& model = dynamic_cast<ItemKnnModel&>(*made.value());
    ASSERT_TRUE(model.fit(d).is_ok()) << spec;
    const auto row = model.neighbours().row_indices(0);
    const auto values = model.neighbours().row_values(0);
    const auto copy = std::find(row.begin(), row.end(), 1u);
    ASSERT_NE(copy, row.end()) << spec;
    EXPECT_NEAR(model.self_similarity(0), values[static_cast<size_t>(copy - row.begin())], 1e-5) << spec;
    EXPECT_NEAR(model.self_similarity(1), model.self_similarity(0), 1e-6) << spec;
    EXPECT_EQ(model.self_similarity(5), 0.f) << spec;
  }
  auto cosine = make_recommender_from_spec("itemknn:similarity=cosine").value();
  ASSERT_TRUE(cosine->fit(d).is_ok());
  EXPECT_NEAR(dynamic_cast<ItemKnnModel&>(*cosine).self_similarity(3), 1.0, 1e-6);
  EXPECT_THROW(dynamic_cast<ItemKnnModel&>(*cosine).self_similarity(6), UsageError);
}

INSTANTIATE_TEST_SUITE_P(Paths, BuildSimilarityTest,
                         ::testing::Values(SimilarityPath::kAuto, SimilarityPath::kRows, SimilarityPath::kTriangle));

}  // namespace
}  // namespace nudge
