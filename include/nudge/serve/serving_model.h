// ServingModel: one trained, immutable model as the server uses it; swapped whole on retrain.
//
// Any registered model that can score a history is served: iALS, EASE, ItemKNN, BPR, the
// two-tower model, a fusion of them. Items are addressed by the engine's catalogue index;
// the model's own rows may be in another order (a model file trained offline has its own),
// so the model keeps the map between the two. Items added to the catalogue after the model
// was built have no row: they are scored through feature vectors where the model has them
// (the factor path below), else only once a retrain includes them.
//
// Two scoring paths:
//   factor path   iALS: item factors in catalogue order with their Gram matrix (fold-in
//                 costs O(n f^2 + f^3) per request), row norms for cosine similarity, an
//                 HNSW index for large catalogues, and cold-start feature vectors: the mean
//                 factor vector of the trained items carrying each category or tag.
//   history path  every other kind: Recommender::score_history on the user's current
//                 history, on every request (EASE, ItemKNN, two-tower, fusion).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/models/ials.h"
#include "nudge/serve/options.h"
#include "nudge/serve/records.h"

namespace nudge::serve {

class AnnIndex;  // src/serve/ann_index.h

struct ServingModelOptions {
  // What is served, in the syntax of `nudge train -m`: "ials:factors=64",
  // "fusion:models=ials+twotower,ials.factors=32". Empty: default_model_spec().
  std::string spec;
  IalsOptions ials;                // the iALS parameters of the default spec
  uint32_t ann_min_items = 50000;  // factor-path catalogues at least this large use HNSW
  AnnOptions ann;
};

// The spec served when none is configured: iALS with `options.ials`; when items have
// features, the fusion of that iALS with the two-tower model (the feature model, 10 epochs).
std::string default_model_spec(const ServingModelOptions& options, bool items_have_features);

// Item features as a FeatureTable for training feature-aware models: field "category", the
// multi-valued field "tag" and the numeric field "price". Row i describes catalogue item i.
FeatureTable item_feature_table(const std::vector<ItemRecord>& items);
// The same fields for one item, as feature-aware models score it (cold start); false when
// the record has no feature at all.
bool describe_item(const ItemRecord& item, FeatureDescription* out);

class ServingModel {
 public:
  ~ServingModel();  // out of line: AnnIndex is declared only
  // Fits the model `spec` on `data` (users and items are catalogue indices; the catalogue
  // carries the item features, see item_feature_table).
  static Result<std::shared_ptr<const ServingModel>> train(const Dataset& data, std::string_view spec,
                                                           const std::vector<ItemRecord>& features,
                                                           const ServingModelOptions& options, uint64_t version);
  // Wraps a fitted model. `catalogue_index[r]` is the catalogue index of model item r,
  // `num_items` the catalogue size, `trained[r]` whether model item r had events to learn
  // from. `features` is indexed by catalogue item and may be shorter than the catalogue.
  static std::shared_ptr<const ServingModel> build(std::unique_ptr<Recommender> model,
                                                   std::vector<uint32_t> catalogue_index, uint32_t num_items,
                                                   const std::vector<bool>& trained,
                                                   const std::vector<ItemRecord>& features,
                                                   const ServingModelOptions& options, uint64_t version,
                                                   double train_seconds = 0);

  uint64_t version() const { return version_; }
  int64_t trained_at() const { return trained_at_; }       // unix seconds
  double train_seconds() const { return train_seconds_; }  // the fit (the HNSW build is logged)
  const Recommender& recommender() const { return *model_; }
  std::string_view kind() const { return model_->name(); }
  std::string spec() const;                          // recreates this model untrained
  uint32_t num_items() const { return num_items_; }  // the catalogue size when built
  bool trained(uint32_t item) const { return item < trained_.size() && trained_[item]; }
  // The model's row for a catalogue item, kNoIndex when it has none.
  uint32_t row_of(uint32_t item) const { return item < row_of_.size() ? row_of_[item] : kNoIndex; }
  uint32_t item_of_row(uint32_t row) const { return item_of_row_[row]; }

  // History path (every kind): scores for catalogue items [0, num_items()) for a user given
  // by a history of catalogue items (recent items and attributes included); NaN for items
  // the model has no row for. Items without a row in the history are skipped. `scratch`
  // holds the model-order scores when the orders differ.
  void score_history(const UserHistory& user, std::span<float> scores, std::vector<float>* scratch) const {
    score_history_with(user, {}, scores, scratch, {});
  }
  // The same, and scores for items known only by their features (described after the model
  // was built) when the model has a feature view (describes_new_items()).
  void score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                          std::span<float> scores, std::vector<float>* scratch,
                          std::span<float> described_scores) const;
  // The user in the model's rows: items and recent items without a row dropped. The spans
  // point into buffers of the calling thread, valid until its next call.
  UserHistory to_rows(const UserHistory& user) const;
  // The history items (catalogue indices) that drove the user's scores, strongest first
  // (Recommender::history_drivers); empty when the model has no such view.
  std::vector<ScoredItem> history_drivers(const UserHistory& user) const;
  // History path only: the model scores items from their features alone (the two-tower item
  // tower, alone or in a fusion).
  bool describes_new_items() const { return !ials_ && model_->has_feature_view(); }
  // Whether the history path can say anything for this user: one history item with a row,
  // or (models with a user feature view) an attribute value the model knows.
  bool knows(const UserHistory& user) const;
  // Items most similar to `item` by the model's own measure, as catalogue indices;
  // NotFound when the model has no row for it, Unsupported when the kind has no measure.
  Status similar(uint32_t item, size_t k, std::vector<ScoredItem>* out) const;

  // Fused index (history path): for a weighted z-score fusion of models that score u . v + b
  // (iALS, the two-tower model), an item's fused score is linear in its concatenated vector
  // [v_1, b_1, v_2, b_2, ...] once the per-user means and deviations are known, and those
  // follow in closed form from each component's item mean and covariance, O(d^2). So one
  // HNSW index ranks the fusion, built when the catalogue has at least ann_min_items items.
  const AnnIndex* fused_ann() const { return fused_ann_.get(); }
  // The query for a history: the fused score of catalogue item i is query . row(i) + offset,
  // equal to what score_history gives. False when there is no fused index.
  bool fused_query(const UserHistory& user, std::vector<float>* query, float* offset) const;
  const float* fused_row(uint32_t item) const { return fused_items_.row(item).data(); }

  // Factor path: null unless the served model is a factor model (iALS).
  const IalsModel* factor_model() const { return ials_; }
  uint32_t factors() const { return static_cast<uint32_t>(vectors_.cols()); }
  // Trained items, and untrained ones whose features gave a vector when the model was built.
  bool has_vector(uint32_t item) const { return item < has_vector_.size() && has_vector_[item]; }
  // The vectors items are scored with: trained factors, else feature vectors, else zero.
  const FactorMatrix& items() const { return vectors_; }
  const AnnIndex* ann() const { return ann_.get(); }
  // The user's vector from a history of catalogue items (items without factors are skipped).
  Eigen::VectorXf fold_in(std::span<const uint32_t> items, std::span<const float> weights) const;
  float score(uint32_t item, const Eigen::VectorXf& user) const { return items().row(item).dot(user); }
  // Cosine similarity between two items with vectors.
  float cosine(uint32_t a, uint32_t b) const;
  float cosine_to(uint32_t item, const Eigen::VectorXf& v) const;
  // A vector for an item from its category and tags; empty when none of them was seen in
  // training (or on the history path). Which features contributed goes to `used`.
  Eigen::VectorXf feature_vector(const ItemRecord& item, std::vector<std::string>* used = nullptr) const;

 private:
  ServingModel() = default;
  void build_factor_path(const std::vector<ItemRecord>& features, const ServingModelOptions& options);
  void build_fused_index(const ServingModelOptions& options);
  struct FusedPart {
    uint32_t offset = 0, dim = 0;  // the component's segment in a fused row: dim embeddings (+ 1 bias)
    bool bias = false;
    Eigen::VectorXf mean;  // over every model item, of [v, b]
    Eigen::MatrixXf covariance;
    float weight = 0;  // lambda_k / sum of lambdas
  };
  std::vector<FusedPart> fused_parts_;
  FactorMatrix fused_items_;  // catalogue order, zero for items without a row
  std::unique_ptr<AnnIndex> fused_ann_;
  uint64_t version_ = 0;
  int64_t trained_at_ = 0;
  double train_seconds_ = 0;
  uint32_t num_items_ = 0;
  std::unique_ptr<Recommender> model_;
  const IalsModel* ials_ = nullptr;  // model_ when it is iALS
  std::vector<uint32_t> row_of_, item_of_row_;
  bool identity_rows_ = true;               // row r is catalogue item r for every r
  std::vector<bool> trained_, has_vector_;  // by catalogue item
  FactorMatrix vectors_;                    // factor path, catalogue order
  std::vector<float> norms_;
  std::unique_ptr<AnnIndex> ann_;
  std::unordered_map<std::string, Eigen::VectorXf> token_vectors_;  // "category=x", "tag=y"
};

}  // namespace nudge::serve
