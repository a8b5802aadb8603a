// TwoTower: a feature-aware model that scores items no one has touched yet.
//
// Every item and user is a bag of tokens: its ID plus its features (categorical values,
// multi-valued tags, numeric fields cut into quantile buckets). One embedding per token.
//   item tower  v_i = mean of the item's token embeddings;      bias b_i = mean token bias
//   user tower  u   = mean of the user's token embeddings + mean of v_h over the user's
//                     recent items h (up to `history` most recent, excluding the target)
// A user served from a UserHistory (no training index) gets the same tower without the ID
// token: the attribute tokens the model knows, and the `history` most recent items.
//   score       s(u, i) = u . v_i + b_i
// Training goes user by user (Hogwild threads, Adagrad): one user's examples of an epoch
// form a mini-batch, so the user tower is built once per user, not once per example. Losses:
//   warp  (default) a pool of max(`negatives`, positives) uniform candidates (default 100) is
//         scored once per user; each positive is paired with a random violator, a candidate
//         scoring within a margin of 1 of it, and the hinge 1 - s(u,p) + s(u,n) is weighted by
//         log(1 + floor((items - 1) x violators / pool)): the WARP rank weight (Weston et al.
//         2011) with the rank estimated from a shared sample, as WMRB does (Liu and Natarajan
//         2017), instead of from the tries until a violator: hard positives push hardest
//   bpr   `negatives` uniform negatives per positive (default 1), -log sigmoid(s(u,p) - s(u,n))
// During training ID tokens (the item's, and the user's when the user has features) are
// dropped with probability `id_dropout`, so features must carry the signal on their own: an
// item with no interactions (cold start) is scored from its features, a new user from their
// attributes, and a user with a single event from that event (the history term).
#pragma once

#include <string>
#include <vector>

#include "nudge/id_map.h"
#include "nudge/models/factors.h"
#include "nudge/recommender.h"
#include "nudge/rng.h"

namespace nudge {

struct TwoTowerOptions {
  int64_t factors = 32;
  int64_t epochs = 20;
  double learning_rate = 0.05;  // Adagrad
  double regularization = 1e-5;
  double id_dropout = 0.3;
  std::string loss = "warp";  // warp, bpr
  // warp: least candidates in a user's pool; bpr: negatives per positive. 0: 100 for warp, 1 for bpr.
  int64_t negatives = 0;
  int64_t history = 20;  // recent items in the user tower
  int64_t buckets = 8;   // quantile buckets per numeric feature
  int64_t threads = 0;
  int64_t seed = 42;
  static Result<TwoTowerOptions> from_params(const Params& params);
  static const ParamTable<TwoTowerOptions>& parameters();
};

class TwoTowerModel : public Recommender {
 public:
  TwoTowerModel(TwoTowerOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "twotower"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  Status fit_warm(const Dataset& train) override;
  void release_training_state() override { adagrad_ = {}, adagrad_bias_ = {}; }
  // Mean loss per training pair (WARP or BPR); a warm fit appends its epochs.
  std::span<const double> epoch_losses() const override { return losses_; }
  void score_user(uint32_t user, std::span<float> scores) const override;
  // A user known only by a history (and no features): the history term alone.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  // The user tower of user.attributes and user.recent (user.items when recent is empty);
  // items described after training get the item tower of their known features (no ID).
  bool score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                          std::span<float> scores, std::span<float> described_scores) const override;
  bool has_feature_view() const override { return true; }
  bool knows_attributes(const FeatureDescription& attributes) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  ItemEmbeddings item_embeddings() const override {
    return {item_vectors_.data(), static_cast<uint32_t>(item_vectors_.cols())};
  }
  bool history_vector(const UserHistory& history, std::span<float> user) const override;
  std::span<const float> item_biases() const override { return item_bias_; }
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // One user's examples, trained as one mini-batch.
  struct Pair {
    uint32_t positive = 0, negative = 0;
    float weight = 1.f;     // WARP's rank weight; 1 for BPR
    bool drop_ids = false;  // the ID tokens of the positive and negative are dropped
  };
  struct UserBatch {
    std::vector<uint32_t> user_tokens;
    std::vector<uint32_t> history;  // recent items; an example's positive is left out of its tower
    bool drop_history_ids = false;
    std::vector<Pair> pairs;
    std::vector<ScoredItem> pool;        // WARP's scored negative candidates (scratch)
    std::vector<float> positive_scores;  // WARP's scores of the positives (scratch)
  };
  // Per-token gradient: dense rows, with the tokens touched listed once each so that only
  // those are applied and cleared. Reused across batches.
  struct Gradient {
    std::vector<float> embeddings;  // tokens x factors
    std::vector<float> biases;
    std::vector<uint32_t> touched;
    std::vector<uint8_t> is_touched;
    void resize(size_t tokens, size_t factors);
    float* row(uint32_t token, size_t factors);  // marks the token touched
    void clear(size_t factors);                  // zeroes the touched rows
  };
  // The summed loss of a batch under options().loss (weight x softplus(-x) for BPR,
  // weight x max(0, 1 - x) for WARP, x = s(u,pos) - s(u,neg)), and its gradient with respect
  // to every embedding and bias when `grad` is not null (resized by the caller). Exposed
  // for the gradient check.
  double batch_loss(const UserBatch& batch, Gradient* grad) const;
  const TwoTowerOptions& options() const { return options_; }
  // A numeric item feature: its buckets' tokens start at first_token; cuts are the bucket
  // boundaries (quantiles of the training values).
  struct NumericField {
    std::string field;
    uint32_t first_token = 0;
    std::vector<float> cuts;
  };
  // The item feature tokens of a described item, the user feature tokens of a user's
  // attributes (values the model never saw are skipped).
  void describe(const FeatureDescription& item, std::vector<uint32_t>* tokens) const {
    item_index_.tokens(item, tokens);
  }
  void describe_user(const FeatureDescription& user, std::vector<uint32_t>* tokens) const {
    user_index_.tokens(user, tokens);
  }
  FactorMatrix& embeddings() { return embeddings_; }
  std::vector<float>& biases() { return biases_; }
  // Item vectors as served (cold items: features only).
  const FactorMatrix& item_vectors() const { return item_vectors_; }
  // What score_user uses for a training user: its tokens (ID included) and recent items,
  // and the user tower over them (ONNX export).
  std::span<const uint32_t> user_tokens(uint32_t user) const { return user_token_lists_.row_indices(user); }
  std::span<const uint32_t> recent_items(uint32_t user) const { return recent_.row_indices(user); }
  Eigen::VectorXf training_user_vector(uint32_t user) const;
  const FactorMatrix& token_embeddings() const { return embeddings_; }
  // The user attribute tokens the model knows: "field=value" -> token, and the numeric
  // fields (a value x is token first_token + the number of cuts <= x).
  std::vector<std::pair<std::string, uint32_t>> user_feature_tokens() const;
  const std::vector<NumericField>& user_numeric_features() const { return user_index_.numeric; }

 private:
  void item_tokens(uint32_t item, bool drop_id, std::vector<uint32_t>* out) const;
  // Mean embedding and mean bias of a token list (zero for none).
  void mean_of(std::span<const uint32_t> tokens, Eigen::VectorXf* v, float* bias) const;
  void item_vector(uint32_t item, bool drop_id, Eigen::VectorXf* v, float* bias) const;
  Eigen::VectorXf user_vector(std::span<const uint32_t> user_tokens, std::span<const uint32_t> history) const;
  Eigen::VectorXf user_vector(const UserHistory& user) const;
  void refresh_item_vectors();
  // Where each kind of token starts: item features, then item IDs, then user features
  // (from user_base), then user IDs.
  struct TokenLayout {
    uint32_t item_features = 0, user_base = 0, user_features = 0;
  };
  // Builds the token lists and recent histories of `train`; returns the number of tokens.
  uint32_t lay_out(const Dataset& train);
  // Adagrad epochs from the current embeddings and accumulators.
  void train_epochs(const Dataset& train, int64_t epochs, Rng& rng);
  // Every item's score for the user tower u (scores.size() == num_items()).
  void score_items(const Eigen::VectorXf& u, std::span<float> scores) const;
  // Samples the pairs of user u's batch (WARP: against the epoch's cached item vectors).
  void sample_pairs(uint32_t u, std::span<const uint32_t> positives, Rng& rng, UserBatch* batch) const;

  TwoTowerOptions options_;
  Params params_;
  CsrMatrix item_token_lists_;  // item -> feature tokens (ID token excluded)
  CsrMatrix user_token_lists_;  // user -> tokens (ID token included)
  TokenLayout layout_;
  std::vector<uint32_t> item_id_token_;        // kNoIndex for items with no training interaction
  std::vector<uint32_t> user_id_token_;        // kNoIndex for users with no training interaction
  std::vector<float> adagrad_, adagrad_bias_;  // squared-gradient sums, kept from fit() for fit_warm()
  std::vector<double> losses_;
  CsrMatrix recent_;           // user -> most recent training items
  FactorMatrix embeddings_;    // tokens x factors
  std::vector<float> biases_;  // per token (item tokens only are used)
  // Feature values as seen in training, to build the tower of an item described later or
  // the user part of a served user's tower from their attributes.
  struct FeatureIndex {
    std::vector<std::string> fields;
    IdMap vocabulary;   // "field=value" -> token - base
    uint32_t base = 0;  // the vocabulary's first token
    std::vector<NumericField> numeric;
    void tokens(const FeatureDescription& d, std::vector<uint32_t>* out) const;
    void save(ModelWriter& out) const;
    Status load(ModelReader& in, uint32_t tokens);
  };
  static constexpr uint32_t kFeatureIndexMarker = 0x58495454;      // "TTIX"
  static constexpr uint32_t kUserFeatureIndexMarker = 0x58555454;  // "TTUX"
  FeatureIndex item_index_, user_index_;
  FactorMatrix item_vectors_;     // cache: v_i
  std::vector<float> item_bias_;  // cache: b_i
};

}  // namespace nudge
