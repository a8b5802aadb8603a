#include "nudge/models/knn.h"
#include "nudge/param_table.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nudge/parallel.h"
#include "nudge/serialize.h"

namespace nudge {

const ParamTable<KnnOptions>& KnnOptions::parameters() {
  using T = ParamTable<KnnOptions>;
  static const T kTable({
      T::integer("neighbours", &KnnOptions::neighbours, 0, 1'000'000, "neighbours kept per item / user (0 = all)"),
      T::choice(
          "similarity", &KnnOptions::similarity, {"cosine", "tfidf", "bm25", "jaccard", "dot"},
          "how co-occurrence is weighed into a similarity (dot: raw co-occurrence, implicit's ItemItemRecommender)"),
      T::number("shrinkage", &KnnOptions::shrinkage, 0, 1e9, "added to the similarity denominator"),
      T::number("bm25_k1", &KnnOptions::bm25_k1, 0, 100, "BM25 term saturation"),
      T::number("bm25_b", &KnnOptions::bm25_b, 0, 1, "BM25 length normalisation"),
      T::integer("threads", &KnnOptions::threads, 0, 1024, "0 = all cores"),
  });
  return kTable;
}

KnnOptions KnnOptions::defaults(std::string_view owner) {
  KnnOptions o;
  if (owner == "userknn") o.neighbours = 50;
  return o;
}

Result<KnnOptions> KnnOptions::from_params(std::string_view owner, const Params& p) {
  KnnOptions o = defaults(owner);
  NUDGE_RETURN_IF_ERROR(parameters().read(owner, p, &o));
  return o;
}

namespace {

// Re-weights the entries of `m` (rows are the vectors to compare; columns are the "terms").
CsrMatrix weighted(const CsrMatrix& m, const KnnOptions& o) {
  CsrMatrix w = m;
  if (o.similarity == "jaccard") {
    std::fill(w.values.begin(), w.values.end(), 1.f);
    return w;
  }
  if (o.similarity == "cosine" || o.similarity == "dot") return w;
  // Inverse document frequency of each column, over rows.
  std::vector<uint32_t> df(m.num_cols, 0);
  for (uint32_t c : m.indices) ++df[c];
  const double n = std::max<double>(1.0, m.num_rows);
  if (o.similarity == "tfidf") {
    for (uint64_t k = 0; k < w.nnz(); ++k) {
      w.values[k] = static_cast<float>(std::sqrt(w.values[k]) * std::log(n / (1.0 + df[w.indices[k]])));
    }
    return w;
  }
  // BM25: length-normalised saturating term frequency times IDF.
  double avg_len = 0;
  for (uint32_t r = 0; r < m.num_rows; ++r) avg_len += m.row_nnz(r);
  avg_len = std::max(1.0, avg_len / n);
  for (uint32_t r = 0; r < m.num_rows; ++r) {
    const double len_norm = (1.0 - o.bm25_b) + o.bm25_b * m.row_nnz(r) / avg_len;
    for (uint64_t k = w.indptr[r]; k < w.indptr[r + 1]; ++k) {
      const double tf = w.values[k];
      const double idf = std::log(n / (1.0 + df[w.indices[k]]));
      w.values[k] = static_cast<float>(tf * (o.bm25_k1 + 1.0) / (o.bm25_k1 * len_norm + tf) * idf);
    }
  }
  return w;
}

// The similarity of two weighted rows from their product, counts and norms (the table in
// knn.h); made once per build, so the hot loop compares no strings.
struct PairMeasure {
  explicit PairMeasure(const KnnOptions& o)
      : dot_only(o.similarity == "bm25" || o.similarity == "dot"),
        jaccard(o.similarity == "jaccard"),
        shrinkage(o.shrinkage) {}
  double operator()(double dot, double nnz_i, double nnz_j, double norm_i, double norm_j) const {
    if (dot_only) return dot;
    if (jaccard) return dot / (nnz_i + nnz_j - dot + shrinkage);
    return dot / (norm_i * norm_j + shrinkage);
  }
  bool dot_only, jaccard;
  double shrinkage;
};

}  // namespace

CsrMatrix build_similarity(const CsrMatrix& rows, const KnnOptions& o, SimilarityPath path) {
  const CsrMatrix w = weighted(rows, o);
  const CsrMatrix cols = w.transpose();  // column -> rows, each column's rows ascending
  const uint32_t n = w.num_rows;
  std::vector<double> norm(n, 0.0);
  for (uint32_t r = 0; r < n; ++r) {
    for (float v : w.row_values(r)) norm[r] += static_cast<double>(v) * v;
    norm[r] = std::sqrt(norm[r]);
  }
  const PairMeasure measure(o);
  const bool dot_only = measure.dot_only;
  const bool jaccard = measure.jaccard;
  const size_t keep = o.neighbours > 0 ? static_cast<size_t>(o.neighbours) : n;
  std::vector<std::vector<ScoredItem>> kept(n);
  // Row i's candidate j from their product, or nothing for a zero product.
  auto add_candidate = [&](uint32_t i, uint32_t j, float dot, std::vector<ScoredItem>* cand) {
    if (j == i || dot == 0.f) return;
    const double sim = measure(dot, w.row_nnz(i), w.row_nnz(j), norm[i], norm[j]);
    cand->push_back({j, static_cast<float>(sim)});
  };
  // Row i's kept neighbours from its dense row of products: every similarity in one pass the
  // compiler vectorises (NaN where the product is zero, and for i itself), then top_k, which
  // skips NaN.
  std::vector<float> norm_f(norm.begin(), norm.end()), nnz_f(n);
  for (uint32_t r = 0; r < n; ++r) nnz_f[r] = static_cast<float>(w.row_nnz(r));
  auto keep_dense_row = [&](uint32_t i, const float* dot, std::vector<float>* sims, std::vector<ScoredItem>* best) {
    sims->resize(n);
    float* s = sims->data();
    const auto shrink = static_cast<float>(o.shrinkage), nan = std::numeric_limits<float>::quiet_NaN();
    if (dot_only) {
      for (uint32_t j = 0; j < n; ++j) s[j] = dot[j] != 0.f ? dot[j] : nan;
    } else if (jaccard) {
      const float a = nnz_f[i] + shrink;
      for (uint32_t j = 0; j < n; ++j) s[j] = dot[j] != 0.f ? dot[j] / (a + nnz_f[j] - dot[j]) : nan;
    } else {
      const float a = norm_f[i];
      for (uint32_t j = 0; j < n; ++j) s[j] = dot[j] != 0.f ? dot[j] / (a * norm_f[j] + shrink) : nan;
    }
    s[i] = nan;
    top_k(*sims, keep, {}, best);
    kept[i] = *best;
  };
  constexpr uint32_t kTriangleRows = 4096;  // a 64 MB matrix
  if (path == SimilarityPath::kTriangle || (path == SimilarityPath::kAuto && n <= kTriangleRows)) {
    // Where row i sits in each of its columns (the transpose lists a column's rows in row
    // order, so it is a running count): the rows after i in that column start one past it.
    std::vector<uint32_t> place(w.nnz());
    {
      std::vector<uint32_t> count(w.num_cols, 0);
      for (uint64_t k = 0; k < w.nnz(); ++k) place[k] = count[w.indices[k]]++;
    }
    std::vector<float> dots(size_t{n} * n);
    parallel_for(
        n, static_cast<int>(o.threads),
        [&](size_t begin, size_t end, int) {
          std::vector<float> acc(n, 0.f);  // in L1 while the row accumulates, then copied
          for (size_t r = begin; r < end; ++r) {
            const auto i = static_cast<uint32_t>(r);
            auto idx = w.row_indices(i);
            auto val = w.row_values(i);
            for (size_t k = 0; k < idx.size(); ++k) {
              auto other = cols.row_indices(idx[k]);
              auto other_val = cols.row_values(idx[k]);
              const float x = val[k];
              for (size_t m = place[w.indptr[i] + k] + 1; m < other.size(); ++m) acc[other[m]] += x * other_val[m];
            }
            std::copy(acc.begin() + i + 1, acc.end(), dots.begin() + static_cast<std::ptrdiff_t>(r * n + i + 1));
            std::fill(acc.begin() + i + 1, acc.end(), 0.f);
          }
        },
        32);
    // Mirror the upper triangle into the lower one in 64 x 64 tiles (both stay in cache).
    constexpr uint32_t kTile = 64;
    parallel_for((n + kTile - 1) / kTile, static_cast<int>(o.threads),
                 [&](size_t begin, size_t end, int) {
                   for (size_t ti = begin; ti < end; ++ti) {
                     for (size_t tj = ti; tj * kTile < n; ++tj) {
                       for (size_t i = ti * kTile; i < std::min<size_t>(n, (ti + 1) * kTile); ++i) {
                         if (tj == ti) dots[i * n + i] = 0.f;
                         for (size_t j = std::max(tj * kTile, i + 1); j < std::min<size_t>(n, (tj + 1) * kTile); ++j)
                           dots[j * n + i] = dots[i * n + j];
                       }
                     }
                   }
                 },
                 1);
    parallel_for(
        n, static_cast<int>(o.threads),
        [&](size_t begin, size_t end, int) {
          std::vector<float> sims;
          std::vector<ScoredItem> best;
          for (size_t r = begin; r < end; ++r)
            keep_dense_row(static_cast<uint32_t>(r), dots.data() + r * n, &sims, &best);
        },
        32);
  } else {
    parallel_for(
        n, static_cast<int>(o.threads),
        [&](size_t begin, size_t end, int) {
          std::vector<float> acc(n, 0.f), sims;
          std::vector<uint32_t> touched;
          std::vector<ScoredItem> cand, best;
          for (size_t r = begin; r < end; ++r) {
            const auto i = static_cast<uint32_t>(r);
            touched.clear();
            auto idx = w.row_indices(i);
            auto val = w.row_values(i);
            // Where the row touches a good share of the catalogue, the dense row is scanned
            // afterwards, and the inner loop has no branch; otherwise the touched columns are
            // listed as they come.
            size_t work = 0;
            for (uint32_t c : idx) work += cols.row_nnz(c);
            const bool dense = work >= n / 8;
            for (size_t k = 0; k < idx.size(); ++k) {
              auto other = cols.row_indices(idx[k]);
              auto other_val = cols.row_values(idx[k]);
              const float x = val[k];
              if (dense) {
                for (size_t m = 0; m < other.size(); ++m) acc[other[m]] += x * other_val[m];
              } else {
                for (size_t m = 0; m < other.size(); ++m) {
                  if (acc[other[m]] == 0.f) touched.push_back(other[m]);
                  acc[other[m]] += x * other_val[m];
                }
              }
            }
            if (dense) {
              keep_dense_row(i, acc.data(), &sims, &best);
              std::fill(acc.begin(), acc.end(), 0.f);
              continue;
            }
            cand.clear();
            for (uint32_t j : touched) {
              add_candidate(i, j, acc[j], &cand);
              acc[j] = 0.f;
            }
            keep_best(&cand, keep);
            kept[i] = cand;
          }
        },
        32);
  }
  CsrMatrix s;
  s.num_rows = s.num_cols = n;
  s.indptr.assign(size_t{n} + 1, 0);
  for (uint32_t i = 0; i < n; ++i) s.indptr[i + 1] = s.indptr[i] + kept[i].size();
  s.indices.reserve(s.indptr[n]);
  s.values.reserve(s.indptr[n]);
  for (uint32_t i = 0; i < n; ++i) {
    for (const auto& c : kept[i]) {
      s.indices.push_back(c.item);
      s.values.push_back(c.score);
    }
  }
  return s;
}

namespace {

// scores[j] = sum_k weights[k] * sim(items[k], j) over each item's kept neighbours.
void accumulate_neighbours(const CsrMatrix& sim, std::span<const uint32_t> items, std::span<const float> weights,
                           std::span<float> scores) {
  std::fill(scores.begin(), scores.end(), 0.f);
  for (size_t k = 0; k < items.size(); ++k) {
    auto nb = sim.row_indices(items[k]);
    auto sv = sim.row_values(items[k]);
    for (size_t m = 0; m < nb.size(); ++m) scores[nb[m]] += weights[k] * sv[m];
  }
}

Status load_csr(ModelReader& in, CsrMatrix* m, const char* what, uint32_t rows, uint32_t cols) {
  NUDGE_RETURN_IF_ERROR(in.csr(m, what));
  if (m->num_rows != rows || m->num_cols != cols) return in.corrupt(what, "shape does not match");
  return Status::ok();
}

}  // namespace

Status ItemKnnModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  history_ = train.user_items();
  neighbours_ = build_similarity(train.item_users(), options_);
  self_ = std::make_unique<SelfSimilarities>();
  return Status::ok();
}

float ItemKnnModel::self_similarity(uint32_t item) const {
  NUDGE_CHECK(item < num_items(), "itemknn: item index out of range");
  std::call_once(self_->once, [this] {
    // As build_similarity measures a pair, for the pair (i, i): its weighted row's dot with itself.
    const CsrMatrix w = weighted(history_.transpose(), options_);
    const PairMeasure measure(options_);
    self_->values.assign(w.num_rows, 0.f);
    for (uint32_t i = 0; i < w.num_rows; ++i) {
      double dot = 0;
      for (float v : w.row_values(i)) dot += static_cast<double>(v) * v;
      const double norm = std::sqrt(dot);
      if (dot != 0) self_->values[i] = static_cast<float>(measure(dot, w.row_nnz(i), w.row_nnz(i), norm, norm));
    }
  });
  return self_->values[item];
}

void ItemKnnModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  accumulate_neighbours(neighbours_, history_.row_indices(user), history_.row_values(user), scores);
}

void ItemKnnModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                 std::span<float> scores) const {
  check_history_call(items, weights, scores);
  accumulate_neighbours(neighbours_, items, weights, scores);
}

Status ItemKnnModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::not_found("item index " + std::to_string(item) + " out of range");
  out->clear();
  auto nb = neighbours_.row_indices(item);
  auto sv = neighbours_.row_values(item);
  for (size_t m = 0; m < nb.size() && m < k; ++m) out->push_back({nb[m], sv[m]});
  return Status::ok();
}

void ItemKnnModel::save_state(ModelWriter& out) const {
  out.csr(history_);
  out.csr(neighbours_);
}

Status ItemKnnModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(in.csr(&history_, "itemknn: history"));
  NUDGE_RETURN_IF_ERROR(load_csr(in, &neighbours_, "itemknn: neighbours", history_.num_cols, history_.num_cols));
  set_shape(history_.num_rows, history_.num_cols);
  self_ = std::make_unique<SelfSimilarities>();
  return Status::ok();
}

Status UserKnnModel::fit(const Dataset& train) {
  set_shape(train.num_users(), train.num_items());
  history_ = train.user_items();
  item_users_ = train.item_users();
  neighbours_ = build_similarity(history_, options_);
  return Status::ok();
}

void UserKnnModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  std::fill(scores.begin(), scores.end(), 0.f);
  auto nb = neighbours_.row_indices(user);
  auto sv = neighbours_.row_values(user);
  for (size_t m = 0; m < nb.size(); ++m) {
    auto items = history_.row_indices(nb[m]);
    auto w = history_.row_values(nb[m]);
    for (size_t k = 0; k < items.size(); ++k) scores[items[k]] += sv[m] * w[k];
  }
}

void UserKnnModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                 std::span<float> scores) const {
  check_history_call(items, weights, scores);
  // Cosine between the history and every training user (the weighting of `fit` is not
  // re-derived here: a fold-in user is compared on raw weights).
  std::vector<float> dot(num_users(), 0.f);
  double hist_norm = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    hist_norm += static_cast<double>(weights[k]) * weights[k];
    auto us = item_users_.row_indices(items[k]);
    auto w = item_users_.row_values(items[k]);
    for (size_t m = 0; m < us.size(); ++m) dot[us[m]] += weights[k] * w[m];
  }
  std::vector<ScoredItem> cand;
  for (uint32_t v = 0; v < num_users(); ++v) {
    if (dot[v] == 0.f) continue;
    double nv = 0;
    for (float x : history_.row_values(v)) nv += static_cast<double>(x) * x;
    cand.push_back({v, static_cast<float>(dot[v] / (std::sqrt(hist_norm * nv) + options_.shrinkage))});
  }
  const size_t keep = std::min<size_t>(options_.neighbours > 0 ? options_.neighbours : cand.size(), cand.size());
  keep_best(&cand, keep);
  std::fill(scores.begin(), scores.end(), 0.f);
  for (size_t c = 0; c < keep; ++c) {
    auto its = history_.row_indices(cand[c].item);
    auto w = history_.row_values(cand[c].item);
    for (size_t k = 0; k < its.size(); ++k) scores[its[k]] += cand[c].score * w[k];
  }
}

void UserKnnModel::save_state(ModelWriter& out) const {
  out.csr(history_);
  out.csr(neighbours_);
}

Status UserKnnModel::load_state(ModelReader& in) {
  NUDGE_RETURN_IF_ERROR(in.csr(&history_, "userknn: history"));
  NUDGE_RETURN_IF_ERROR(load_csr(in, &neighbours_, "userknn: neighbours", history_.num_rows, history_.num_rows));
  item_users_ = history_.transpose();
  set_shape(history_.num_rows, history_.num_cols);
  return Status::ok();
}

}  // namespace nudge
