// TwoTower: a feature-aware model that scores items no one has touched yet.
//
// Every item and user is a bag of tokens: its ID plus its features (categorical values,
// multi-valued tags, numeric fields cut into quantile buckets). One embedding per token.
//   item tower  v_i = mean of the item's token embeddings;      bias b_i = mean token bias
//   user tower  u   = mean of the user's token embeddings + mean of v_h over the user's
//                     recent items h (up to `history` most recent, excluding the target)
//   score       s(u, i) = u . v_i + b_i
// Trained with BPR (observed item above a sampled unobserved one), Adagrad, Hogwild threads.
// During training the item ID token is dropped with probability `id_dropout`, so features
// must carry the signal on their own: an item with no interactions (cold start) is scored
// from its features, and a user with a single event from that event (the history term).
#pragma once

#include <string>
#include <vector>

#include "nudge/models/factors.h"
#include "nudge/recommender.h"

namespace nudge {

struct TwoTowerOptions {
  int64_t factors = 32;
  int64_t epochs = 20;
  double learning_rate = 0.05;  // Adagrad
  double regularization = 1e-5;
  double id_dropout = 0.3;
  int64_t history = 20;   // recent items in the user tower
  int64_t buckets = 8;    // quantile buckets per numeric feature
  int64_t threads = 0;
  int64_t seed = 42;
  static Result<TwoTowerOptions> from_params(const Params& params);
};

class TwoTowerModel : public Recommender {
 public:
  TwoTowerModel(TwoTowerOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "twotower"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  // A user known only by a history (and no features): the history term alone.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  ItemEmbeddings item_embeddings() const override {
    return {item_vectors_.data(), static_cast<uint32_t>(item_vectors_.cols())};
  }
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // The BPR loss -log sigmoid(s(u,pos) - s(u,neg)) for one example, with its gradient
  // (token -> d loss / d embedding, and d loss / d bias) when `grad` is not null. The user
  // is given by its tokens and history items. Exposed for the gradient check.
  struct Example {
    std::vector<uint32_t> user_tokens;
    std::vector<uint32_t> history;
    uint32_t positive = 0, negative = 0;
    bool drop_ids = false;
  };
  struct Gradient {
    std::vector<std::pair<uint32_t, Eigen::VectorXf>> embeddings;  // (token, gradient)
    std::vector<std::pair<uint32_t, float>> biases;
  };
  double example_loss(const Example& ex, Gradient* grad) const;
  FactorMatrix& embeddings() { return embeddings_; }
  std::vector<float>& biases() { return biases_; }
  // Item vectors as served (cold items: features only).
  const FactorMatrix& item_vectors() const { return item_vectors_; }

 private:
  void item_tokens(uint32_t item, bool drop_id, std::vector<uint32_t>* out) const;
  // Mean embedding and mean bias of a token list (zero for none).
  void mean_of(std::span<const uint32_t> tokens, Eigen::VectorXf* v, float* bias) const;
  void item_vector(uint32_t item, bool drop_id, Eigen::VectorXf* v, float* bias) const;
  Eigen::VectorXf user_vector(std::span<const uint32_t> user_tokens, std::span<const uint32_t> history) const;
  void refresh_item_vectors();

  TwoTowerOptions options_;
  Params params_;
  CsrMatrix item_token_lists_;  // item -> feature tokens (ID token excluded)
  CsrMatrix user_token_lists_;  // user -> tokens (ID token included)
  std::vector<uint32_t> item_id_token_;  // kNoIndex for items with no training interaction
  CsrMatrix recent_;                     // user -> most recent training items
  FactorMatrix embeddings_;              // tokens x factors
  std::vector<float> biases_;            // per token (item tokens only are used)
  FactorMatrix item_vectors_;            // cache: v_i
  std::vector<float> item_bias_;         // cache: b_i
};

}  // namespace nudge
