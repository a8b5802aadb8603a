// Neighbourhood models: item-based (ItemKNN) and user-based (UserKNN) collaborative filtering.
//
// Rows (users for ItemKNN's item vectors, items for UserKNN's user vectors) are first
// weighted, then compared:
//   cosine   sum_u w_ui w_uj / (|w_i| |w_j| + shrinkage)
//   tfidf    cosine over TF-IDF-weighted vectors
//   bm25     dot product over BM25-weighted vectors (k1, b), as in implicit's BM25Recommender
//   jaccard  |U_i & U_j| / (|U_i| + |U_j| - |U_i & U_j| + shrinkage) over binary vectors
// Only each row's `neighbours` most similar rows are kept (top-k pruning); the similarity
// is built in parallel, one row per task, with a dense accumulator per thread.
//
// ItemKNN scores  s_uj = sum_{i in I_u} w_ui sim(i, j)  over i's kept neighbours j.
// UserKNN scores  s_uj = sum_{v in N(u)} sim(u, v) w_vj  over u's kept neighbours v.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nudge/recommender.h"

namespace nudge {

struct KnnOptions {
  int64_t neighbours = 20;            // kept per row (0 = all)
  std::string similarity = "cosine";  // cosine, tfidf, bm25, jaccard, dot
  double shrinkage = 0.0;
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  int64_t threads = 0;
  // `owner` is itemknn or userknn: users need more neighbours than items (50).
  static KnnOptions defaults(std::string_view owner);
  static Result<KnnOptions> from_params(std::string_view owner, const Params& params);
  static const ParamTable<KnnOptions>& parameters();
};

// How build_similarity finds the products of all pairs of rows. kTriangle accumulates each
// row's products with the rows after it only (half the multiply-adds) into a dense rows x
// rows matrix, then mirrors it; kRows accumulates each row on its own. kAuto takes the
// triangle while the matrix fits in 64 MB (4,096 rows: MovieLens-1M's 3,706 items) and rows
// beyond. The other two exist for tests and benchmarks.
enum class SimilarityPath { kAuto, kRows, kTriangle };

// The similarity graph: for each row, its kept neighbours with similarity, best first.
// `rows` is row -> columns (the vectors compared are rows of `rows`).
CsrMatrix build_similarity(const CsrMatrix& rows, const KnnOptions& options,
                           SimilarityPath path = SimilarityPath::kAuto);

class ItemKnnModel : public Recommender {
 public:
  ItemKnnModel(KnnOptions options, Params params) : options_(std::move(options)), params_(std::move(params)) {}
  std::string_view name() const override { return "itemknn"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;
  const CsrMatrix& neighbours() const { return neighbours_; }
  // An item's similarity with itself as the fit measures similarity (the neighbour graph
  // leaves it out): 1 for cosine, tfidf and jaccard without shrinkage, the weighted squared
  // norm for dot and bm25, 0 for an item nobody took. Computed for every item on the first call
  // (O(events)); thread-safe.
  float self_similarity(uint32_t item) const;

 private:
  struct SelfSimilarities {
    std::once_flag once;
    std::vector<float> values;
  };
  KnnOptions options_;
  Params params_;
  CsrMatrix history_;     // user -> items (weights), to score training users
  CsrMatrix neighbours_;  // item -> most similar items
  std::unique_ptr<SelfSimilarities> self_ = std::make_unique<SelfSimilarities>();  // reset by fit and load
};

class UserKnnModel : public Recommender {
 public:
  UserKnnModel(KnnOptions options, Params params) : options_(std::move(options)), params_(std::move(params)) {}
  std::string_view name() const override { return "userknn"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  // Compares the history with every training user (cosine on the fly), then scores as above.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

 private:
  KnnOptions options_;
  Params params_;
  CsrMatrix history_;     // user -> items
  CsrMatrix item_users_;  // its transpose, for fold-in
  CsrMatrix neighbours_;  // user -> most similar users
};

}  // namespace nudge
