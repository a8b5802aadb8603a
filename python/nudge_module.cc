// _nudge: the compiled half of the Python package (python/nudge/__init__.py is the other).
// It takes SciPy CSR matrices as their three arrays (indptr, indices, data) and shape, checks
// them, and calls the same library the CLI does, so a model trained here is a model file the
// CLI reads and the other way round. Every long call (fit, batch scoring, evaluation) releases
// the GIL. Errors are Nudge's own messages: ValueError for bad input, OSError for files,
// RuntimeError otherwise.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/evaluate.h"
#include "nudge/model_file.h"
#include "nudge/models/bpr.h"
#include "nudge/models/ials.h"
#include "nudge/models/knn.h"
#include "nudge/models/two_tower.h"
#include "nudge/onnx_export.h"
#include "nudge/parallel.h"
#include "nudge/recommender.h"
#include "nudge/registry.h"
#include "nudge/top_k.h"

namespace py = pybind11;

namespace nudge::python {
namespace {

[[noreturn]] void raise(const Status& s) {
  const std::string text = s.field().empty() ? s.message() : s.field() + ": " + s.message();
  if (s.code() == Status::Code::kIoError) {
    PyErr_SetString(PyExc_OSError, text.c_str());
    throw py::error_already_set();
  }
  if (s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kNotFound ||
      s.code() == Status::Code::kTooLarge || s.code() == Status::Code::kCorruption)
    throw py::value_error(text);
  throw std::runtime_error(text);
}

void check(const Status& s) {
  if (!s.is_ok()) raise(s);
}

constexpr int64_t kMaxDimension = std::numeric_limits<int32_t>::max();  // indices are int32

using Indices = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using Offsets = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using Values = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A rows x cols matrix given as CSR arrays, checked once: later code trusts it. `name` is the
// argument's name in errors ("user_items.data[3]: NaN").
struct CsrView {
  Offsets indptr;
  Indices indices;
  Values data;
  uint32_t rows = 0, cols = 0;
  bool canonical = true;  // each row's columns increasing (sorted, no duplicates), as scipy's CSR

  std::span<const int32_t> row_indices(uint32_t r) const {
    const int64_t* p = indptr.data();
    return {indices.data() + p[r], static_cast<size_t>(p[r + 1] - p[r])};
  }
  std::span<const float> row_values(uint32_t r) const {
    const int64_t* p = indptr.data();
    return {data.data() + p[r], static_cast<size_t>(p[r + 1] - p[r])};
  }
};

CsrView check_csr(Offsets indptr, Indices indices, Values data, int64_t rows, int64_t cols, const std::string& name) {
  if (rows < 0 || cols < 0 || rows > kMaxDimension || cols > kMaxDimension)
    throw py::value_error(name + ": shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") out of range");
  if (indptr.ndim() != 1 || indices.ndim() != 1 || data.ndim() != 1)
    throw py::value_error(name + ": indptr, indices and data must be 1-D (a scipy.sparse CSR matrix)");
  if (indptr.size() != rows + 1)
    throw py::value_error(name + ".indptr: " + std::to_string(indptr.size()) + " entries for " + std::to_string(rows) +
                          " rows (expected rows + 1)");
  if (indices.size() != data.size())
    throw py::value_error(name + ": " + std::to_string(indices.size()) + " indices but " + std::to_string(data.size()) +
                          " values");
  const int64_t* p = indptr.data();
  if (p[0] != 0) throw py::value_error(name + ".indptr[0]: must be 0");
  for (int64_t r = 0; r < rows; ++r)
    if (p[r + 1] < p[r] || p[r + 1] > indices.size())
      throw py::value_error(name + ".indptr[" + std::to_string(r + 1) + "]: not a valid row end");
  if (p[rows] != indices.size())
    throw py::value_error(name + ".indptr[" + std::to_string(rows) + "]: does not end at the number of entries");
  const int32_t* ix = indices.data();
  const float* v = data.data();
  bool canonical = true;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = p[r]; k < p[r + 1]; ++k) {
      if (ix[k] < 0 || ix[k] >= cols)
        throw py::value_error(name + ".indices[" + std::to_string(k) + "]: " + std::to_string(ix[k]) +
                              " is not a column of " + std::to_string(cols));
      if (!std::isfinite(v[k]) || v[k] < 0)
        throw py::value_error(name + ".data[" + std::to_string(k) + "]: must be a finite number >= 0");
      canonical = canonical && (k == p[r] || ix[k - 1] < ix[k]);
    }
  }
  return {std::move(indptr),           std::move(indices),          std::move(data),
          static_cast<uint32_t>(rows), static_cast<uint32_t>(cols), canonical};
}

// Users and items named by their matrix indices ("0", "1", ...), so a saved model answers the
// CLI by the same numbers.
std::shared_ptr<Catalog> index_catalog(uint32_t users, uint32_t items) {
  auto catalog = std::make_shared<Catalog>();
  for (uint32_t u = 0; u < users; ++u) catalog->users.intern(std::to_string(u));
  for (uint32_t i = 0; i < items; ++i) catalog->items.intern(std::to_string(i));
  catalog->user_features.resize(users);
  catalog->item_features.resize(items);
  return catalog;
}

// One interaction per stored entry, its weight the entry's value (type "view", weight 1).
// A canonical matrix is the dataset's user_items view with its indices and values borrowed,
// not copied (`m` must outlive the dataset); another goes through an interaction log, which
// sums duplicates and sorts each row.
Dataset to_dataset(const CsrView& m, std::shared_ptr<Catalog> catalog) {
  const EventType view = catalog->event_types.intern("view").value();
  if (m.canonical) {
    CsrMatrix user_items;
    user_items.num_rows = m.rows;
    user_items.num_cols = m.cols;
    user_items.indptr.assign(m.indptr.data(), m.indptr.data() + m.indptr.size());
    const auto nnz = static_cast<size_t>(m.indices.size());
    // Checked >= 0, so each int32 index reads as the same uint32 (same object representation).
    user_items.indices =
        BorrowedArray<uint32_t>::borrow({reinterpret_cast<const uint32_t*>(m.indices.data()), nnz});  // NOLINT
    user_items.values = BorrowedArray<float>::borrow({m.data.data(), nnz});
    return Dataset::from_user_items(std::move(catalog), std::move(user_items), view);
  }
  Interactions in;
  in.reserve(static_cast<size_t>(m.indices.size()));
  for (uint32_t u = 0; u < m.rows; ++u) {
    const auto items = m.row_indices(u);
    const auto values = m.row_values(u);
    for (size_t k = 0; k < items.size(); ++k) in.push_back(u, static_cast<uint32_t>(items[k]), view, values[k], 0);
  }
  return Dataset(std::move(catalog), std::move(in));
}

class Model {
 public:
  explicit Model(const std::string& spec) {
    auto made = make_recommender_from_spec(spec);
    if (!made.is_ok()) raise(made.status());
    model_ = std::move(made).value();
  }
  explicit Model(LoadedModel loaded)
      : model_(std::move(loaded.model)),
        users_(std::move(loaded.users)),
        items_(std::move(loaded.items)),
        history_(std::move(loaded.history)),
        fitted_(true) {}

  std::string spec() const { return spec_of(*model_); }
  std::string kind() const { return std::string(model_->name()); }
  uint32_t num_users() const { return model_->num_users(); }
  uint32_t num_items() const { return model_->num_items(); }
  std::vector<std::string> user_ids() const { return ids(users_); }
  std::vector<std::string> item_ids() const { return ids(items_); }

  void fit(Offsets indptr, Indices indices, Values data, int64_t rows, int64_t cols, const py::object& callback) {
    CsrView m = check_csr(std::move(indptr), std::move(indices), std::move(data), rows, cols, "user_items");
    if (m.rows == 0 || m.cols == 0 || m.indices.size() == 0)
      throw py::value_error("user_items: no interactions to fit");
    fit_without_gil(
        [&] {
          auto catalog = index_catalog(m.rows, m.cols);
          return to_dataset(m, catalog);
        },
        callback);
  }

  // fit() with side features: user_features (users x F) and item_features (items x G), CSR,
  // either may be None. Each stored entry (row r, column j) gives entity r the token
  // "feature=j" (a multi-valued field; the value's size is not used), as LightFM's feature
  // matrices are read by models with a feature view (the two-tower model).
  // more_epochs >= 0: LightFM's fit_partial, that many epochs more from the last fit of this
  // two-tower model (TwoTowerModel::fit_more), its optimiser state kept for the next call.
  void fit_features(Offsets indptr, Indices indices, Values data, int64_t rows, int64_t cols, py::object user_features,
                    py::object item_features, int64_t more_epochs) {
    CsrView m = check_csr(std::move(indptr), std::move(indices), std::move(data), rows, cols, "interactions");
    if (m.rows == 0 || m.cols == 0 || m.indices.size() == 0)
      throw py::value_error("interactions: no interactions to fit");
    auto features = [](py::object f, int64_t entities, const char* name) -> std::optional<CsrView> {
      if (f.is_none()) return std::nullopt;
      auto t = f.cast<py::tuple>();  // (indptr, indices, data, columns)
      return check_csr(t[0].cast<Offsets>(), t[1].cast<Indices>(), t[2].cast<Values>(), entities, t[3].cast<int64_t>(),
                       name);
    };
    const std::optional<CsrView> users = features(user_features, rows, "user_features");
    const std::optional<CsrView> items = features(item_features, cols, "item_features");
    auto make = [&] {
      auto catalog = index_catalog(m.rows, m.cols);
      auto fill = [](const std::optional<CsrView>& f, FeatureTable* table) {
        if (!f) return;
        const uint32_t field = table->add_field("feature", FeatureKind::kMultiCategorical).value();
        for (uint32_t r = 0; r < f->rows; ++r)
          for (int32_t j : f->row_indices(r)) table->add_value(r, field, std::to_string(j));
      };
      fill(users, &catalog->user_features);
      fill(items, &catalog->item_features);
      return to_dataset(m, catalog);
    };
    if (more_epochs < 0) return fit_without_gil(make);
    auto* two_tower = dynamic_cast<TwoTowerModel*>(model_.get());
    if (!two_tower) throw py::value_error("fit_partial: only the two-tower model continues a fit");
    fit_without_gil(make, py::none(), [&](const Dataset& d) { return two_tower->fit_more(d, more_epochs); });
  }

  // Trains on event sequences: sequences[u] is user u's items, oldest first (the order is
  // what sequence models read; repeats allowed). Each event has weight 1.
  void fit_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t items) {
    if (sequences.empty()) throw py::value_error("sequences: no users to fit");
    int64_t max_item = -1;
    size_t events = 0;
    for (size_t u = 0; u < sequences.size(); ++u)
      for (int64_t i : sequences[u]) {
        if (i < 0) throw py::value_error("sequences[" + std::to_string(u) + "]: a negative item index");
        max_item = std::max(max_item, i);
        ++events;
      }
    if (events == 0) throw py::value_error("sequences: no interactions to fit");
    if (items < 0) items = max_item + 1;
    if (max_item >= items || items > INT32_MAX || sequences.size() > INT32_MAX)
      throw py::value_error("sequences: an item index >= num_items (" + std::to_string(items) + ")");
    fit_without_gil([&] {
      auto catalog = index_catalog(static_cast<uint32_t>(sequences.size()), static_cast<uint32_t>(items));
      const EventType view = catalog->event_types.intern("view").value();
      Interactions in;
      in.reserve(events);
      for (size_t u = 0; u < sequences.size(); ++u)
        for (size_t t = 0; t < sequences[u].size(); ++t)  // the position is the time: the order is kept
          in.push_back(static_cast<uint32_t>(u), static_cast<uint32_t>(sequences[u][t]), view, 1.f,
                       static_cast<int64_t>(t));
      return Dataset(catalog, std::move(in));
    });
  }

  // Scores of every item for a history given oldest first (Recommender::score_history).
  py::array_t<float> score_history(const std::vector<int64_t>& items) {
    require_fitted();
    std::vector<uint32_t> rows;
    for (int64_t i : items) {
      if (i < 0 || i >= model_->num_items())
        throw py::value_error("items: index " + std::to_string(i) + " out of range");
      rows.push_back(static_cast<uint32_t>(i));
    }
    const std::vector<float> weights(rows.size(), 1.f);
    py::array_t<float> out(model_->num_items());
    {
      py::gil_scoped_release release;
      model_->score_history(rows, weights, std::span<float>(out.mutable_data(), model_->num_items()));
    }
    return out;
  }

  // Top n for each of `users`: by their training row, or from `rows` (the users' current
  // items, one row each) when `recalculate` or when a user is not a training user. `excluded`
  // (sorted, distinct) is never recommended; `candidates` (None or sorted, distinct), when
  // given, are the only items ranked.
  py::tuple recommend(py::array_t<int64_t, py::array::c_style | py::array::forcecast> users, py::object rows_indptr,
                      py::object rows_indices, py::object rows_data, int64_t n, bool filter_seen, bool recalculate,
                      int threads, Indices excluded_items, py::object candidate_items) {
    require_fitted();
    const std::vector<uint32_t> excluded = sorted_items(excluded_items, "filter_items");
    const bool restricted = !candidate_items.is_none();
    const std::vector<uint32_t> candidates =
        restricted ? sorted_items(candidate_items.cast<Indices>(), "items") : std::vector<uint32_t>{};
    if (n < 1) throw py::value_error("N: must be >= 1");
    if (users.ndim() != 1) throw py::value_error("userid: expected an integer or a 1-D array of them");
    const size_t count = static_cast<size_t>(users.size());
    std::optional<CsrView> rows;
    if (!rows_indptr.is_none())
      rows = check_csr(rows_indptr.cast<Offsets>(), rows_indices.cast<Indices>(), rows_data.cast<Values>(),
                       static_cast<int64_t>(count), num_items(), "user_items");
    const int64_t* ids = users.data();
    for (size_t k = 0; k < count; ++k) {
      if (ids[k] < 0) throw py::value_error("userid[" + std::to_string(k) + "]: negative");
      if ((recalculate || ids[k] >= num_users()) && !rows)
        throw py::value_error("userid[" + std::to_string(k) + "]: " + std::to_string(ids[k]) +
                              (recalculate ? ": recalculate_user needs user_items"
                                           : " is not a training user; pass user_items to fold the user in"));
    }
    const size_t width =
        static_cast<size_t>(std::min<int64_t>(n, restricted ? static_cast<int64_t>(candidates.size()) : num_items()));
    py::array_t<int32_t> out_ids({count, width});
    py::array_t<float> out_scores({count, width});
    int32_t* oi = out_ids.mutable_data();
    float* os = out_scores.mutable_data();
    {
      py::gil_scoped_release release;
      parallel_for(
          count, resolve_threads(threads),
          [&](size_t begin, size_t end, int) {
            // Training users go through score_users a block at a time (one matrix product for
            // the factor models); users folded in from their row, one at a time.
            const size_t items = num_items(), block = score_block_users(num_items());
            std::vector<float> block_scores, history_scores(items);
            std::vector<uint32_t> block_users, seen, history_items, skipped;
            std::vector<float> history_weights, candidate_scores;
            std::vector<ScoredItem> best;
            size_t next_row = 0;  // the block's next row of block_scores
            auto from_row = [&](size_t k) { return rows && (recalculate || ids[k] >= num_users()); };
            for (size_t k = begin; k < end; ++k) {
              if ((k - begin) % block == 0) {
                block_users.clear();
                for (size_t j = k; j < std::min(end, k + block); ++j)
                  if (!from_row(j)) block_users.push_back(static_cast<uint32_t>(ids[j]));
                block_scores.resize(block_users.size() * items);
                model_->score_users(block_users, block_scores);
                next_row = 0;
              }
              const auto user = static_cast<uint32_t>(ids[k]);
              seen.clear();
              const bool wants_seen = filter_seen || from_row(k);  // to exclude, or to fold in
              if (wants_seen && rows) {
                for (int32_t i : rows->row_indices(static_cast<uint32_t>(k))) seen.push_back(static_cast<uint32_t>(i));
              } else if (wants_seen && user < history_.num_rows) {
                const auto trained = history_.row_indices(user);
                seen.assign(trained.begin(), trained.end());
              }
              std::span<const float> scores;
              if (from_row(k)) {
                history_items.assign(seen.begin(), seen.end());
                const auto w = rows->row_values(static_cast<uint32_t>(k));
                history_weights.assign(w.begin(), w.end());
                model_->score_history(history_items, history_weights, history_scores);
                scores = history_scores;
              } else {
                scores = std::span<const float>(block_scores).subspan(next_row++ * items, items);
              }
              std::sort(seen.begin(), seen.end());
              skipped.clear();
              if (filter_seen) skipped = seen;
              skipped.insert(skipped.end(), excluded.begin(), excluded.end());
              std::sort(skipped.begin(), skipped.end());
              if (restricted) {
                // The candidates' scores in their order, NaN (never ranked) where skipped.
                candidate_scores.resize(candidates.size());
                for (size_t c = 0; c < candidates.size(); ++c)
                  candidate_scores[c] = std::binary_search(skipped.begin(), skipped.end(), candidates[c])
                                            ? std::numeric_limits<float>::quiet_NaN()
                                            : scores[candidates[c]];
                top_k(candidate_scores, width, {}, &best);
                for (auto& b : best) b.item = candidates[b.item];
              } else {
                top_k(scores, width, skipped, &best);
              }
              for (size_t j = 0; j < width; ++j) {
                oi[k * width + j] = j < best.size() ? static_cast<int32_t>(best[j].item) : -1;
                os[k * width + j] = j < best.size() ? best[j].score : -std::numeric_limits<float>::infinity();
              }
            }
          },
          kScoreBlockUsers);
    }
    return py::make_tuple(out_ids, out_scores);
  }

  // Every item's score for each training user: [users, items], as the ONNX user graph gives.
  py::array_t<float> score(py::array_t<int64_t, py::array::c_style | py::array::forcecast> users, int threads) {
    require_fitted();
    if (users.ndim() != 1) throw py::value_error("userid: expected a 1-D array of integers");
    const size_t count = static_cast<size_t>(users.size());
    const int64_t* ids = users.data();
    for (size_t k = 0; k < count; ++k) {
      if (ids[k] < 0 || ids[k] >= num_users())
        throw py::value_error("userid[" + std::to_string(k) + "]: " + std::to_string(ids[k]) +
                              " is not a training user (0.." + std::to_string(num_users() - 1) + ")");
    }
    const auto items = static_cast<size_t>(num_items());
    py::array_t<float> out({count, items});
    float* data = out.mutable_data();
    {
      py::gil_scoped_release release;
      parallel_for(
          count, resolve_threads(threads),
          [&](size_t begin, size_t end, int) {
            std::vector<uint32_t> block;
            for (size_t k = begin; k < end; k += block.size()) {
              block.clear();
              for (size_t j = k; j < std::min(end, k + score_block_users(num_items())); ++j)
                block.push_back(static_cast<uint32_t>(ids[j]));
              model_->score_users(block, std::span<float>(data + k * items, block.size() * items));
            }
          },
          kScoreBlockUsers);
    }
    return out;
  }

  // The model's scorer as an ONNX file (onnx_export.h, docs/formats/onnx.md).
  void export_onnx(const std::string& path, const std::string& graph, bool int8, int64_t top_k) {
    require_fitted();
    if (graph != "user" && graph != "history")
      throw py::value_error("graph: expected user or history, got '" + graph + "'");
    if (top_k < 0 || top_k > num_items()) throw py::value_error("top_k: must be from 0 to the number of items");
    const OnnxExportOptions options{.graph = graph == "history" ? ExportGraph::kHistory : ExportGraph::kUser,
                                    .int8 = int8,
                                    .top_k = static_cast<uint32_t>(top_k)};
    Status s;
    {
      py::gil_scoped_release release;
      s = nudge::export_onnx(*model_, users_, items_, options, path);
    }
    check(s);
  }

  py::tuple similar_items(int64_t item, int64_t n) {
    require_fitted();
    if (item < 0 || item >= num_items())
      throw py::value_error("itemid: " + std::to_string(item) + " is not an item of " + std::to_string(num_items()));
    if (n < 1) throw py::value_error("N: must be >= 1");
    std::vector<ScoredItem> found;
    Status st;
    {
      py::gil_scoped_release release;
      st = model_->similar_items(static_cast<uint32_t>(item), static_cast<size_t>(n), &found);
    }
    check(st);
    py::array_t<int32_t> ids(static_cast<py::ssize_t>(found.size()));
    py::array_t<float> scores(static_cast<py::ssize_t>(found.size()));
    for (size_t k = 0; k < found.size(); ++k) {
      ids.mutable_data()[k] = static_cast<int32_t>(found[k].item);
      scores.mutable_data()[k] = found[k].score;
    }
    return py::make_tuple(ids, scores);
  }

  void save(const std::string& path) const {
    require_fitted();
    check(save_model(*model_, users_, items_, history_, path));
  }

  bool fitted() const { return fitted_; }
  bool trained_on_borrowed_arrays() const { return trained_on_borrowed_; }
  bool predicts_ratings() const { return model_->predicts_ratings(); }
  std::vector<double> epoch_losses() const {
    const auto l = model_->epoch_losses();
    return {l.begin(), l.end()};
  }

  // The factor arrays of the matrix-factorisation models, as implicit lays them out: iALS's
  // users x f and items x f; BPR's with the item bias as a last column (1 on the user side),
  // so that a user row dotted with an item row is the score. Copies.
  py::array_t<float> user_factors() const { return factors(true); }
  py::array_t<float> item_factors() const { return factors(false); }

  // Replaces an iALS model's factor matrices (implicit's partial_fit_users / partial_fit_items:
  // the rows re-solved in Python, the catalogue grown for new indices). New users and items get
  // the next index names and no training history.
  void set_factors(py::array_t<float, py::array::c_style | py::array::forcecast> users,
                   py::array_t<float, py::array::c_style | py::array::forcecast> items) {
    require_fitted();
    auto* ials = dynamic_cast<IalsModel*>(model_.get());
    if (!ials) throw py::value_error(kind() + ": only an ials model's factors can be replaced");
    const auto f = static_cast<py::ssize_t>(ials->item_factors().cols());
    if (users.ndim() != 2 || items.ndim() != 2 || users.shape(1) != f || items.shape(1) != f)
      throw py::value_error("factors: expected 2-D arrays of " + std::to_string(f) + " columns");
    if (users.shape(0) < num_users() || items.shape(0) < num_items() || users.shape(0) > kMaxDimension ||
        items.shape(0) > kMaxDimension)
      throw py::value_error("factors: the catalogue can grow, not shrink");
    const auto map = [](const py::array_t<float, py::array::c_style | py::array::forcecast>& a) {
      return FactorMatrix(Eigen::Map<const FactorMatrix>(a.data(), a.shape(0), a.shape(1)));
    };
    grow(&users_, users.shape(0));
    grow(&items_, items.shape(0));
    history_.indptr.resize(static_cast<size_t>(users.shape(0)) + 1, history_.indptr.back());
    history_.num_rows = static_cast<uint32_t>(users.shape(0));
    history_.num_cols = static_cast<uint32_t>(items.shape(0));
    ials->set_factors(map(users), map(items));
  }

  // LightFM's representations for embedding models (score = user . item + item bias): the
  // training users' vectors (the two-tower model's user tower; iALS/BPR factors) and the items'
  // vectors and biases (zeros where the model has none). (biases, vectors) tuples.
  py::tuple item_representations() const {
    require_fitted();
    const auto [data, dim] = model_->item_embeddings();
    if (!data) throw py::value_error(kind() + " has no item vectors (ials, bpr, twotower and sasrec have)");
    py::array_t<float> vectors({static_cast<size_t>(num_items()), static_cast<size_t>(dim)});
    std::copy(data, data + size_t{num_items()} * dim, vectors.mutable_data());
    py::array_t<float> biases(static_cast<py::ssize_t>(num_items()));
    const auto b = model_->item_biases();
    for (uint32_t i = 0; i < num_items(); ++i) biases.mutable_data()[i] = b.empty() ? 0.f : b[i];
    return py::make_tuple(biases, vectors);
  }
  py::tuple user_representations() const {
    require_fitted();
    py::array_t<float> vectors;
    if (const auto* tower = dynamic_cast<const TwoTowerModel*>(model_.get())) {
      const auto dim = static_cast<size_t>(tower->item_vectors().cols());
      vectors = py::array_t<float>({static_cast<size_t>(num_users()), dim});
      float* o = vectors.mutable_data();
      for (uint32_t u = 0; u < num_users(); ++u) {
        const Eigen::VectorXf v = tower->training_user_vector(u);
        std::copy(v.data(), v.data() + dim, o + size_t{u} * dim);
      }
    } else {
      vectors = factors(true);
    }
    py::array_t<float> biases(static_cast<py::ssize_t>(num_users()));
    std::fill(biases.mutable_data(), biases.mutable_data() + num_users(), 0.f);
    return py::make_tuple(biases, vectors);
  }

  // LightFM's predict and representations with feature matrices other than the fit's, for the
  // two-tower model. `attributes` / `described` are (indptr, indices, data, columns) CSR rows
  // over the fit's feature columns; column j of a row is the token "feature=j" (as
  // fit_features gives them; columns the fit never saw are skipped).
  //
  // score_with_features: user r is users[r] with the attributes of row r: a training user's
  // own rows are its history, a user index past the training users has none. Returns the
  // scores of every trained item (users x items) and of each `described` row, an item known
  // by its features alone (users x described).
  py::tuple score_with_features(py::array_t<int64_t, py::array::c_style | py::array::forcecast> users,
                                const py::tuple& attributes, const py::tuple& described) {
    const TwoTowerModel& tower = feature_model();
    if (users.ndim() != 1) throw py::value_error("user_ids: expected a 1-D array of integers");
    const auto count = static_cast<size_t>(users.size());
    const std::vector<FeatureDescription> who = descriptions(attributes, static_cast<int64_t>(count), "user_features");
    const std::vector<FeatureDescription> what = descriptions(described, -1, "item_features");
    const int64_t* ids = users.data();
    for (size_t k = 0; k < count; ++k)
      if (ids[k] < 0) throw py::value_error("user_ids[" + std::to_string(k) + "]: negative");
    const auto items = static_cast<size_t>(num_items());
    py::array_t<float> scores({count, items});
    py::array_t<float> described_scores({count, what.size()});
    float* s = scores.mutable_data();
    float* d = described_scores.mutable_data();
    {
      py::gil_scoped_release release;
      for (size_t k = 0; k < count; ++k) {
        tower.score_history_with(training_history(ids[k], &who[k]), what, std::span<float>(s + k * items, items),
                                 std::span<float>(d + k * what.size(), what.size()));
      }
    }
    return py::make_tuple(scores, described_scores);
  }
  // (biases, vectors) of items known by their features alone (rows of `described`).
  py::tuple described_item_representations(const py::tuple& described) {
    const TwoTowerModel& tower = feature_model();
    const std::vector<FeatureDescription> what = descriptions(described, -1, "features");
    const auto dim = static_cast<size_t>(tower.item_vectors().cols());
    py::array_t<float> vectors({what.size(), dim});
    py::array_t<float> biases(static_cast<py::ssize_t>(what.size()));
    Eigen::VectorXf v;
    for (size_t k = 0; k < what.size(); ++k) {
      tower.described_item_vector(what[k], &v, biases.mutable_data() + k);
      std::copy(v.data(), v.data() + dim, vectors.mutable_data() + k * dim);
    }
    return py::make_tuple(biases, vectors);
  }
  // The user tower of users[r] (history as in score_with_features) with row r's attributes.
  py::array_t<float> user_representations_with(py::array_t<int64_t, py::array::c_style | py::array::forcecast> users,
                                               const py::tuple& attributes) {
    const TwoTowerModel& tower = feature_model();
    const auto count = static_cast<size_t>(users.size());
    const std::vector<FeatureDescription> who = descriptions(attributes, static_cast<int64_t>(count), "features");
    const auto dim = static_cast<size_t>(tower.item_vectors().cols());
    py::array_t<float> vectors({count, dim});
    for (size_t k = 0; k < count; ++k) {
      if (users.data()[k] < 0) throw py::value_error("user_ids[" + std::to_string(k) + "]: negative");
      tower.history_vector(training_history(users.data()[k], &who[k]),
                           std::span<float>(vectors.mutable_data() + k * dim, dim));
    }
    return vectors;
  }

  // Item-KNN: an item's similarity with itself (ItemKnnModel::self_similarity), which
  // implicit's similar_items lists with the neighbours.
  float self_similarity(int64_t item) const {
    require_fitted();
    const auto* knn = dynamic_cast<const ItemKnnModel*>(model_.get());
    if (!knn) throw py::value_error(kind() + " has no item-item similarity (itemknn has)");
    if (item < 0 || item >= num_items()) throw py::value_error("itemid: " + std::to_string(item) + " out of range");
    return knn->self_similarity(static_cast<uint32_t>(item));
  }

  // The user vectors the model gives the histories of `rows` (one per row; iALS: the fold-in
  // least-squares solve), for implicit's recalculate_user.
  py::array_t<float> fold_in_users(Offsets indptr, Indices indices, Values data) {
    require_fitted();
    const int64_t rows = static_cast<int64_t>(indptr.size()) - 1;
    const CsrView m = check_csr(std::move(indptr), std::move(indices), std::move(data), std::max<int64_t>(rows, 0),
                                num_items(), "user_items");
    const auto [vectors, dim] = model_->item_embeddings();
    if (!vectors) throw py::value_error(kind() + " has no user vectors to fold in (iALS has)");
    py::array_t<float> out({static_cast<size_t>(m.rows), static_cast<size_t>(dim)});
    float* o = out.mutable_data();
    bool supported = true;
    {
      py::gil_scoped_release release;
      std::vector<uint32_t> items;
      for (uint32_t r = 0; r < m.rows && supported; ++r) {
        items.assign(m.row_indices(r).begin(), m.row_indices(r).end());
        const auto w = m.row_values(r);
        supported = model_->history_vector(UserHistory{items, w}, std::span<float>(o + size_t{r} * dim, dim));
      }
    }
    if (!supported) throw py::value_error(kind() + " has no user vectors to fold in (iALS has)");
    return out;
  }

  // Evaluation (evaluate.h) of this model, trained on `train`, against `test` (both users x
  // items, the model's shape): protocol "full" (every unseen item ranked), "sampled" (the test
  // item among `negatives` sampled ones, seeded) or "rating" (RMSE/MAE of the values).
  std::map<std::string, double> evaluate(Offsets train_indptr, Indices train_indices, Values train_data,
                                         Offsets test_indptr, Indices test_indices, Values test_data,
                                         std::vector<size_t> ks, const std::string& protocol, int64_t negatives,
                                         uint64_t seed) {
    require_fitted();
    if (protocol != "full" && protocol != "sampled" && protocol != "rating")
      throw py::value_error("protocol: expected full, sampled or rating, got '" + protocol + "'");
    if (protocol == "sampled" && (negatives < 1 || negatives >= num_items()))
      throw py::value_error("negatives: must be from 1 to the number of items - 1");
    CsrView train = check_csr(std::move(train_indptr), std::move(train_indices), std::move(train_data), num_users(),
                              num_items(), "train_user_items");
    CsrView test = check_csr(std::move(test_indptr), std::move(test_indices), std::move(test_data), num_users(),
                             num_items(), "test_user_items");
    for (size_t k : ks)
      if (k < 1 || k > num_items()) throw py::value_error("K: must be from 1 to the number of items");
    EvalResult result;
    {
      py::gil_scoped_release release;
      auto catalog = index_catalog(num_users(), num_items());
      EvalOptions options;
      options.ks = ks;
      options.sampled_negatives = static_cast<size_t>(negatives);
      options.seed = seed;
      const Dataset train_set = to_dataset(train, catalog), test_set = to_dataset(test, catalog);
      if (protocol == "sampled") result = evaluate_sampled(*model_, train_set, test_set, options);
      else if (protocol == "rating") result = evaluate_ratings(*model_, train_set, test_set, options);
      else result = evaluate_full_ranking(*model_, train_set, test_set, options);
    }
    return result.metrics;
  }

 private:
  const TwoTowerModel& feature_model() const {
    require_fitted();
    const auto* tower = dynamic_cast<const TwoTowerModel*>(model_.get());
    if (!tower) throw py::value_error(kind() + " does not read feature matrices (the two-tower model does)");
    return *tower;
  }
  // User `id` as the towers read them: its training rows (none past the training users) and
  // `attributes`.
  UserHistory training_history(int64_t id, const FeatureDescription* attributes) const {
    if (id >= num_users()) return UserHistory{{}, {}, {}, attributes};
    const auto u = static_cast<uint32_t>(id);
    return UserHistory{history_.row_indices(u), history_.row_values(u), {}, attributes};
  }
  // The rows of a (indptr, indices, data, columns) CSR tuple as feature descriptions
  // ("feature", "j"); `rows` >= 0: the number of rows expected.
  static std::vector<FeatureDescription> descriptions(const py::tuple& t, int64_t rows, const std::string& name) {
    if (t.size() != 4) throw py::value_error(name + ": expected (indptr, indices, data, columns)");
    const auto indptr = t[0].cast<Offsets>();
    const int64_t n = std::max<int64_t>(static_cast<int64_t>(indptr.size()) - 1, 0);
    if (rows >= 0 && n != rows)
      throw py::value_error(name + ": " + std::to_string(n) + " rows for " + std::to_string(rows) + " entities");
    const CsrView m = check_csr(indptr, t[1].cast<Indices>(), t[2].cast<Values>(), n, t[3].cast<int64_t>(), name);
    std::vector<FeatureDescription> out(m.rows);
    for (uint32_t r = 0; r < m.rows; ++r)
      for (int32_t j : m.row_indices(r)) out[r].values.emplace_back("feature", std::to_string(j));
    return out;
  }

  static void grow(IdMap* map, int64_t size) {
    while (static_cast<int64_t>(map->size()) < size) {
      std::string id = std::to_string(map->size());
      while (map->find(id)) id += "+";
      map->intern(id);
    }
  }

  // A sorted, distinct list of item indices from Python, each checked.
  std::vector<uint32_t> sorted_items(const Indices& items, const char* name) const {
    std::vector<uint32_t> out;
    out.reserve(static_cast<size_t>(items.size()));
    for (py::ssize_t k = 0; k < items.size(); ++k) {
      const int32_t i = items.data()[k];
      if (i < 0 || i >= static_cast<int64_t>(num_items()))
        throw py::value_error(std::string(name) + "[" + std::to_string(k) + "]: " + std::to_string(i) +
                              " is not an item of " + std::to_string(num_items()));
      out.push_back(static_cast<uint32_t>(i));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  py::array_t<float> factors(bool users) const {
    require_fitted();
    const FactorMatrix* m = nullptr;
    const Eigen::VectorXf* bias = nullptr;
    if (const auto* ials = dynamic_cast<const IalsModel*>(model_.get())) {
      m = users ? &ials->user_factors() : &ials->item_factors();
    } else if (const auto* bpr = dynamic_cast<const BprModel*>(model_.get())) {
      m = users ? &bpr->user_factors() : &bpr->item_factors();
      bias = &bpr->item_bias();
    }
    if (!m) throw py::value_error(kind() + " has no factor arrays (ials and bpr have)");
    const auto rows = static_cast<size_t>(m->rows()), f = static_cast<size_t>(m->cols());
    const size_t cols = f + (bias ? 1 : 0);
    py::array_t<float> out({rows, cols});
    float* o = out.mutable_data();
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < f; ++c) o[r * cols + c] = (*m)(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c));
      if (bias) o[r * cols + f] = users ? 1.f : (*bias)[static_cast<Eigen::Index>(r)];
    }
    return out;
  }

  static std::vector<std::string> ids(const IdMap& map) {
    std::vector<std::string> out;
    out.reserve(map.size());
    for (uint32_t k = 0; k < map.size(); ++k) out.push_back(map.id_of(k));
    return out;
  }
  // Builds the dataset and fits, both without the GIL; keeps the IDs and history on success.
  // A callback (not None) is called as implicit calls it, callback(epoch, seconds, loss),
  // after each epoch with the GIL taken back for it (loss None where the model logs none);
  // what it raises ends the training after that epoch and is raised from fit, the model as
  // it was before.
  // `train` (not null): trains instead of fit() and keeps the training state (a later call
  // continues from it).
  template <typename MakeDataset>
  void fit_without_gil(MakeDataset make_dataset, const py::object& callback = py::none(),
                       const std::function<Status(const Dataset&)>& train = nullptr) {
    Status st;
    std::exception_ptr raised;
    if (!callback.is_none()) {
      auto epoch_start = std::chrono::steady_clock::now();
      model_->set_epoch_listener([&](int64_t epoch, double loss) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        py::gil_scoped_acquire gil;
        try {
          callback(epoch, seconds, std::isnan(loss) ? py::object(py::none()) : py::object(py::float_(loss)));
        } catch (...) {
          raised = std::current_exception();
          return false;
        }
        epoch_start = std::chrono::steady_clock::now();
        return true;
      });
    }
    {
      py::gil_scoped_release release;
      const Dataset dataset = make_dataset();
      st = train ? train(dataset) : model_->fit(dataset);
      model_->set_epoch_listener(nullptr);
      if (st.is_ok() && !raised) {
        if (!train) model_->release_training_state();
        users_ = dataset.catalog().users;
        items_ = dataset.catalog().items;
        history_ = dataset.user_items();  // the model's own copy (save, recommend without rows)
        trained_on_borrowed_ = dataset.user_items().indices.is_borrowed();
      }
    }
    if (raised) std::rethrow_exception(raised);
    check(st);
    fitted_ = true;
  }

  void require_fitted() const {
    if (!fitted_) throw py::value_error("the model is not fitted: call fit() or nudge.load() first");
  }

  std::unique_ptr<Recommender> model_;
  IdMap users_, items_;
  CsrMatrix history_;
  bool fitted_ = false;
  bool trained_on_borrowed_ = false;  // the last fit read the caller's arrays, not a copy
};

}  // namespace
}  // namespace nudge::python

PYBIND11_MODULE(_nudge, m) {
  using nudge::python::Model;
  m.doc() = "Nudge's recommenders (compiled part; use the nudge package)";
  py::class_<Model>(m, "Model")
      .def(py::init<const std::string&>(), py::arg("spec"))
      .def_property_readonly("spec", &Model::spec)
      .def_property_readonly("kind", &Model::kind)
      .def_property_readonly("num_users", &Model::num_users)
      .def_property_readonly("num_items", &Model::num_items)
      .def("user_ids", &Model::user_ids)
      .def("item_ids", &Model::item_ids)
      .def("fit", &Model::fit, py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("rows"), py::arg("cols"),
           py::arg("callback") = py::none())
      .def("fit_sequences", &Model::fit_sequences)
      .def("fit_features", &Model::fit_features, py::arg("indptr"), py::arg("indices"), py::arg("data"),
           py::arg("rows"), py::arg("cols"), py::arg("user_features"), py::arg("item_features"),
           py::arg("more_epochs") = -1)
      .def("set_factors", &Model::set_factors)
      .def("item_representations", &Model::item_representations)
      .def("score_with_features", &Model::score_with_features)
      .def("described_item_representations", &Model::described_item_representations)
      .def("user_representations_with", &Model::user_representations_with)
      .def("user_representations", &Model::user_representations)
      .def("score_history", &Model::score_history)
      .def("recommend", &Model::recommend)
      .def("score", &Model::score)
      .def("similar_items", &Model::similar_items)
      .def("self_similarity", &Model::self_similarity)
      .def("save", &Model::save)
      .def_property_readonly("fitted", &Model::fitted)
      .def_property_readonly("trained_on_borrowed_arrays", &Model::trained_on_borrowed_arrays)
      .def_property_readonly("predicts_ratings", &Model::predicts_ratings)
      .def("epoch_losses", &Model::epoch_losses)
      .def("user_factors", &Model::user_factors)
      .def("item_factors", &Model::item_factors)
      .def("fold_in_users", &Model::fold_in_users)
      .def("export_onnx", &Model::export_onnx)
      .def("evaluate", &Model::evaluate);
  m.def("load", [](const std::string& path) {
    auto loaded = nudge::load_model(path);
    if (!loaded.is_ok()) nudge::python::raise(loaded.status());
    return std::make_unique<Model>(std::move(loaded).value());
  });
  // A model file's bytes (a pickle, a file object's contents); `source` names them in errors.
  m.def("load_bytes", [](const py::bytes& data, const std::string& source) {
    const std::string bytes = data;
    auto loaded = nudge::load_model_bytes(bytes, source);
    if (!loaded.is_ok()) nudge::python::raise(loaded.status());
    return std::make_unique<Model>(std::move(loaded).value());
  });
}
