// TwoTower: a feature-aware model that scores items no one has touched yet.
//
// Every item and user is a bag of tokens: its ID plus its features (categorical values,
// multi-valued tags, numeric fields cut into quantile buckets). One embedding per token.
//   item tower  v_i = e_ID + mean of the item's feature token embeddings (the features' mean
//               alone for an item without an ID token: cold); bias b_i likewise
//   user tower  u   = mean of the user's attribute token embeddings + the sum of p_h over
//                     the user's n items h, divided by n^pooling (1: their mean; 0.5: the
//                     1/sqrt(n) of SVD++; default 0.75, so a long history speaks a little
//                     louder than a short one); all of the items (history = 0, the default)
//                     or the `history` most recent. p_h is the item composed as v_h is, from
//                     input rows of its own (softmax), or v_h itself (warp, bpr)
//   score       s(u, i) = u . v_i + b_i
// A user has no ID token: the tower is their attributes and their items, so a user served
// from a UserHistory (the server's items and attributes) gets exactly the tower evaluated
// offline, and fresh events count at once. All items rather than the most recent few,
// because real timestamps tie (most MovieLens users rated everything within a day) and the
// order among ties says nothing.
// Losses:
//   softmax  (auto's choice up to 20,000 items) each epoch holds out a `holdout` share of
//            every user's items and, from the tower over the rest, scores every item: the
//            multinomial log-likelihood of the held-out items (Liang et al. 2018), the
//            user's other items masked out. Batches of users, Adam with the learning rate
//            decaying linearly to zero over the epochs, gradient buffers per fixed chunk
//            summed in order (a seeded fit is the same on any thread count).
//   warp     (auto's choice above) a pool of max(`negatives`, positives) uniform candidates
//            (default 100) is scored once per user; each positive is paired with a random
//            violator, a candidate scoring within a margin of 1 of it, and the hinge
//            1 - s(u,p) + s(u,n) is weighted by log(1 + floor((items - 1) x violators /
//            pool)): the WARP rank weight (Weston et al. 2011) with the rank estimated from a
//            shared sample, as WMRB does (Liu and Natarajan 2017). Hogwild threads, Adagrad,
//            one user's examples a mini-batch with the positive left out of its own tower.
//   bpr      `negatives` uniform negatives per positive (default 1), -log sigmoid(s(u,p) - s(u,n))
// During training item ID tokens are dropped with probability `id_dropout`, so features must
// carry the signal on their own: an item with no interactions (cold start) is scored from
// its features. With probability `attributes_only` (softmax) a user with attributes trains
// on them alone, every item a target, so a new user is scored from their attributes; a user
// with a single event is scored from that event.
#pragma once

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nudge/id_map.h"
#include "nudge/models/factors.h"
#include "nudge/nn/adam.h"
#include "nudge/recommender.h"
#include "nudge/rng.h"

namespace nudge {

struct TwoTowerOptions {
  int64_t factors = 64;
  int64_t epochs = 0;         // 0: the loss's default (softmax 40, warp and bpr 20)
  double learning_rate = 0;   // 0: the loss's default (softmax 0.02 for Adam, warp and bpr 0.05 for Adagrad)
  double regularization = 0;  // L2 on the rows a step updates
  double id_dropout = 0.15;
  std::string loss = "auto";  // auto, softmax, warp, bpr
  // warp: least candidates in a user's pool; bpr: negatives per positive. 0: 100 for warp, 1 for bpr.
  int64_t negatives = 0;
  double holdout = 0.2;          // softmax: share of a user's items held out as targets each epoch
  double attributes_only = 0.2;  // softmax: chance a user with attributes trains on them alone
  int64_t history = 0;           // items in the user tower: 0 = all, else the most recent
  double pooling = 0.75;         // the tower's items are summed over (their count)^pooling
  int64_t buckets = 8;           // quantile buckets per numeric feature
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
  // `epochs` more epochs on `train` (the same users and items, any interactions) from where
  // the last fit left the model, at the full learning rate, keeping the optimiser's state for
  // the next call: LightFM's fit_partial (python/nudge/lightfm.py). Without that state (never
  // fitted, released, another shape) it fits from scratch for `epochs`.
  Status fit_more(const Dataset& train, int64_t epochs);
  void release_training_state() override { adagrad_ = {}, adagrad_bias_ = {}, round_state_.reset(); }
  // Data-parallel training in rounds (nudge-train-mpi): each rank trains on its own users
  // over the whole catalogue and the ranks average the parameters (embeddings(), biases())
  // between rounds. begin_rounds lays out the tokens as fit does, except that the items with
  // an ID token are `trained_items` (nonzero: an event on any rank), so every rank lays out
  // the same tokens, and draws the rows from `rng`; train_round runs `epochs` epochs from
  // epoch `first` of `total` at the learning rate fit's schedule has there, keeping the Adam
  // state (softmax) or Adagrad sums across rounds; end_rounds lays out `all` (the whole data,
  // whose trained items are the same) keeping the trained rows, so the model scores every
  // training user as fit's would.
  void begin_rounds(const Dataset& shard, std::span<const uint64_t> trained_items, Rng& rng);
  void train_round(const Dataset& shard, int64_t first, int64_t epochs, int64_t total, Rng& rng);
  void end_rounds(const Dataset& all);
  int64_t epochs_to_run() const;  // options().epochs, or the loss's default when 0 (after a layout)
  // Mean loss per training pair (WARP or BPR) or held-out item (softmax); a warm fit appends its epochs.
  std::span<const double> epoch_losses() const override { return losses_; }
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  // A user known only by a history (and no attributes): the history term alone.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  // The user tower of user.attributes and user.items (history = 0) or the `history` first of
  // user.recent (user.items when recent is empty); items described after training get the
  // item tower of their known features (no ID).
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
  // A chunk of users of the softmax loss: each one's attribute tokens, input items (the
  // tower) and held-out target items.
  struct SoftmaxChunk {
    std::vector<std::vector<uint32_t>> user_tokens, inputs, targets;
  };
  // Every item as a batch's chunks see it, under the batch's ID dropout (drop_ids, per item):
  // output vectors, biases and input vectors (read by the user tower).
  struct SoftmaxItems {
    std::vector<uint8_t> drop_ids;
    FactorMatrix vectors, inputs;
    std::vector<float> biases;
  };
  // A chunk's gradient with respect to those, per item (summed over chunks, then spread to
  // the items' tokens once).
  struct SoftmaxItemGradient {
    FactorMatrix vectors, inputs;
    // An Eigen vector, aligned as the matrices are: a colwise sum into an unaligned buffer
    // takes Eigen's scalar path for the first columns and rounds differently run to run.
    Eigen::RowVectorXf biases;
    void reset(uint32_t items, Eigen::Index factors);
  };
  void softmax_items(SoftmaxItems* items) const;  // from items->drop_ids
  // scale x the summed -log softmax of each target over every item but the user's inputs
  // (and items never taken in training). With gradients (both not null): adds the attribute
  // tokens' gradient into *grad and the items' into *item_grad.
  double softmax_chunk_loss(const SoftmaxChunk& chunk, const SoftmaxItems& items, float scale, Gradient* grad,
                            SoftmaxItemGradient* item_grad) const;
  // Adds an item gradient into the rows of the items' tokens (output and input rows).
  void spread_item_gradient(const SoftmaxItems& items, const SoftmaxItemGradient& item_grad, Gradient* grad) const;
  // The three together for one chunk, as training computes them: for the gradient check.
  double softmax_loss(const SoftmaxChunk& chunk, std::span<const uint8_t> drop_ids, float scale, Gradient* grad) const;
  const TwoTowerOptions& options() const { return options_; }
  // auto trains with softmax up to this many items: its cost grows with the catalogue.
  static constexpr uint32_t kSoftmaxItems = 20'000;
  // The loss fit() trains with: softmax, warp or bpr (auto resolved by the catalogue's size).
  const std::string& loss_used() const { return loss_used_; }
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
  // Items as the user tower reads them: rows of their own (softmax), else item_vectors().
  const FactorMatrix& history_vectors() const { return input_base_ ? item_inputs_ : item_vectors_; }
  uint32_t input_base() const { return input_base_; }
  // What the sum of a user's n tower items is divided by: n^pooling (1 for none).
  float pooling_norm(size_t n) const {
    return n == 0 ? 1.f : std::pow(static_cast<float>(n), static_cast<float>(options_.pooling));
  }
  // What score_user uses for a training user: its attribute tokens (and its ID token, in
  // files from before users had none) and tower items, and the user tower over them (ONNX export).
  std::span<const uint32_t> user_tokens(uint32_t user) const { return user_token_lists_.row_indices(user); }
  std::span<const uint32_t> recent_items(uint32_t user) const { return recent_.row_indices(user); }
  Eigen::VectorXf training_user_vector(uint32_t user) const;
  const FactorMatrix& token_embeddings() const { return embeddings_; }
  // The user attribute tokens the model knows: "field=value" -> token, and the numeric
  // fields (a value x is token first_token + the number of cuts <= x).
  std::vector<std::pair<std::string, uint32_t>> user_feature_tokens() const;
  const std::vector<NumericField>& user_numeric_features() const { return user_index_.numeric; }
  // The item tower of an item known by its features alone (no ID token), as
  // score_history_with scores described items: the mean of its known features' embeddings
  // and biases (zero when it has none the model knows).
  void described_item_vector(const FeatureDescription& item, Eigen::VectorXf* v, float* bias) const;

 private:
  void item_tokens(uint32_t item, bool drop_id, std::vector<uint32_t>* out) const;
  // Mean embedding and mean bias of a token list (zero for none).
  void mean_of(std::span<const uint32_t> tokens, Eigen::VectorXf* v, float* bias) const;
  // How an item's tokens (item_tokens) combine: its ID token at weight 1 plus the mean of its
  // features, so features uninformative on the data cannot dilute what the ID learns; an
  // item without its ID is the mean of its features. Files from before: the mean of all.
  void item_weights(uint32_t item, std::span<const uint32_t> tokens, std::vector<float>* w) const;
  void weighted_sum(std::span<const uint32_t> tokens, std::span<const float> w, Eigen::VectorXf* v, float* bias) const;
  void item_vector(uint32_t item, bool drop_id, Eigen::VectorXf* v, float* bias) const;
  Eigen::VectorXf user_vector(std::span<const uint32_t> user_tokens, std::span<const uint32_t> history) const;
  Eigen::VectorXf user_vector(const UserHistory& user) const;
  void refresh_item_vectors();
  // Resolves the loss and sizes the rows (input rows for softmax) and optimiser state.
  uint32_t allocate(uint32_t tokens, Rng& rng);
  // Where each kind of token starts: item features, then item IDs, then user features
  // (from user_base).
  struct TokenLayout {
    uint32_t item_features = 0, user_base = 0, user_features = 0;
  };
  // Builds the token lists and recent histories of `train`; returns the number of tokens.
  // The items with an ID token: those with an event in `train`, or the nonzero entries of
  // `trained_items` when given.
  uint32_t lay_out(const Dataset& train, std::span<const uint64_t> trained_items = {});
  // Adagrad epochs (warp, bpr) from the current embeddings and accumulators.
  void train_epochs(const Dataset& train, int64_t epochs, Rng& rng);
  // Adam epochs of the softmax loss from the current embeddings (two_tower_softmax.cc).
  // The learning rate starts at options' rate x start_rate and decays linearly to zero: a
  // warm start continues at the rate the schedule's last fifth would have had.
  void train_softmax_epochs(const Dataset& train, int64_t epochs, float start_rate, Rng& rng);
  void run_epochs(const Dataset& train, int64_t epochs, float start_rate, Rng& rng);  // by the loss used
  // fit() (epochs < 0: epochs_to_run(), known once lay_out has resolved the loss) and fit_more's first call.
  void fit_from_scratch(const Dataset& train, int64_t epochs);
  // fit_warm and fit_more: the old rows carried onto train's layout, then `epochs` epochs.
  void continue_training(const Dataset& train, int64_t epochs, float start_rate, Rng& rng);
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
  std::vector<float> adagrad_, adagrad_bias_;  // squared-gradient sums, kept from fit() for fit_warm()
  // The softmax loss's Adam state and user order across train_round calls (one fit's call
  // keeps its own), so rounds of one epoch train as one call of them all.
  struct SoftmaxState {
    nn::RowAdam embeddings, biases;
    size_t rows = 0;
    std::vector<uint32_t> users;
  };
  std::unique_ptr<SoftmaxState> round_state_;
  std::vector<double> losses_;
  std::string loss_used_;
  CsrMatrix recent_;           // user -> training items in the tower (newest first)
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
  static constexpr uint32_t kCompositionMarker = 0x44495454;       // "TTID": ID + mean of features
  bool id_plus_features_ = true;
  FeatureIndex item_index_, user_index_;
  FactorMatrix item_vectors_;     // cache: v_i
  FactorMatrix item_inputs_;      // cache: an item as the user tower reads it (softmax); empty: v_i
  uint32_t input_base_ = 0;       // first input row (item token t reads row input_base_ + t); 0: none
  std::vector<float> item_bias_;  // cache: b_i
};

}  // namespace nudge
