// ServingModel: one trained, immutable model as the server uses it; swapped whole on retrain.
//
// Holds the iALS item factors in the engine's catalogue order, their Gram matrix (so folding a
// user in costs O(n f^2 + f^3) per request, not O(items f^2)), row norms for cosine
// similarity, an HNSW index when the catalogue is large, and feature vectors for cold start:
// the mean factor vector of the trained items carrying each category or tag, so an item with
// features but no events gets a vector the moment it is described.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/models/ials.h"
#include "nudge/serve/ann_index.h"
#include "nudge/serve/event_store.h"

namespace nudge::serve {

struct ServingModelOptions {
  IalsOptions ials;
  uint32_t ann_min_items = 50000;  // catalogues at least this large use the HNSW index
  AnnOptions ann;
};

class ServingModel {
 public:
  // Trains iALS on `data` (users and items are the engine's catalogue indices). `features`
  // is indexed by item and may be shorter than the catalogue.
  static Result<std::shared_ptr<const ServingModel>> train(const Dataset& data, const std::vector<ItemRecord>& features,
                                                           const ServingModelOptions& options, uint64_t version);
  // Wraps a trained (or loaded) model whose item rows are already in catalogue order;
  // `trained[i]` says whether item i had events to learn from.
  static std::shared_ptr<const ServingModel> build(std::unique_ptr<IalsModel> model, std::vector<bool> trained,
                                                   const std::vector<ItemRecord>& features,
                                                   const ServingModelOptions& options, uint64_t version,
                                                   double train_seconds = 0);

  uint64_t version() const { return version_; }
  int64_t trained_at() const { return trained_at_; }  // unix seconds
  double train_seconds() const { return train_seconds_; }  // the iALS fit (the HNSW build is logged)
  uint32_t num_items() const { return static_cast<uint32_t>(items().rows()); }
  uint32_t factors() const { return static_cast<uint32_t>(items().cols()); }
  bool trained(uint32_t item) const { return item < trained_.size() && trained_[item]; }
  // Trained items, and untrained ones whose features gave a vector when the model was built.
  bool has_vector(uint32_t item) const { return item < has_vector_.size() && has_vector_[item]; }
  const IalsModel& ials() const { return *model_; }
  // The vectors items are scored with: trained factors, else feature vectors, else zero.
  const FactorMatrix& items() const { return vectors_; }
  const AnnIndex* ann() const { return ann_.get(); }

  // The user's vector from a history of item indices (untrained items are skipped).
  Eigen::VectorXf fold_in(std::span<const uint32_t> items, std::span<const float> weights) const;
  float score(uint32_t item, const Eigen::VectorXf& user) const { return items().row(item).dot(user); }
  // Cosine similarity between two items with vectors.
  float cosine(uint32_t a, uint32_t b) const;
  float cosine_to(uint32_t item, const Eigen::VectorXf& v) const;
  // A vector for an item from its category and tags; empty when none of them was seen in
  // training. Which features contributed goes to `used` when given.
  Eigen::VectorXf feature_vector(const ItemRecord& item, std::vector<std::string>* used = nullptr) const;

 private:
  ServingModel() = default;
  uint64_t version_ = 0;
  int64_t trained_at_ = 0;
  double train_seconds_ = 0;
  std::unique_ptr<IalsModel> model_;
  std::vector<bool> trained_, has_vector_;
  FactorMatrix vectors_;
  Eigen::MatrixXf gram_;
  std::vector<float> norms_;
  std::unique_ptr<AnnIndex> ann_;
  std::unordered_map<std::string, Eigen::VectorXf> token_vectors_;  // "category=x", "tag=y"
};

}  // namespace nudge::serve
