// Sasrec: next-item prediction by causal self-attention over a user's last items (SASRec,
// Kang & McAuley 2018), trained with softmax cross-entropy at every position.
//
// A user's events are put in time order (ties keep their order in the data, the only order
// there is when timestamps tie); the same item may come back (repeat consumption is part of
// the sequence). The last `max_length` items are encoded (sasrec_network.h: item embeddings,
// positions counted back from the newest, `blocks` transformer blocks, a final layer norm)
// and the newest position's output h scores every item:  s(i) = h . e_i  with e_i the same
// item embeddings the input reads, so the scores are a dot product the nearest-neighbour
// index can serve (history_vector, item_embeddings).
// Training: each user's last max_length + 1 training items give max_length (input, next
// item) positions; Adam over mini-batches of `batch` sequences (threads split a batch, each
// with its own gradient, summed before the step). Losses:
//   full     softmax over every item (exact; the default up to 20,000 items)
//   sampled  softmax over the target and `negatives` items drawn by popularity^0.75 shared by
//            the batch, with the log-Q correction (the default above 20,000 items)
// Item features (features=true, when the training data has them): an item's embedding is
// its ID embedding plus the mean of its categorical feature tokens' embeddings (category,
// tags), at the input and at the output alike, so an item with few events borrows from the
// items that share its features, and an item described after training (cold start) is scored
// from its features alone (score_history_with's described items). Numeric fields are not read.
// Early stopping: `validation_users` users (those with at least 3 events) have their last
// item held out of training; after each epoch the model's NDCG@10 on them (full ranking, seen
// items excluded) is measured, and training stops after `patience` epochs without a gain,
// keeping the best epoch's weights. Scoring reads every event, held-out ones included.
// Served users are encoded from their recent items (UserHistory::recent, newest first), or
// else from their history taken oldest first.
// Thread-safety: see Recommender.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "nudge/id_map.h"
#include "nudge/recommender.h"
#include "nudge/rng.h"

namespace nudge {

class SasrecNetwork;

// Float buffers aligned for Eigen's packets: with the same alignment every run, the same
// seed gives the same sums (unaligned starts change where vectorised loops peel).
using AlignedFloats = std::vector<float, Eigen::aligned_allocator<float>>;

struct SasrecOptions {
  int64_t factors = 64;
  int64_t blocks = 2;
  int64_t heads = 1;
  int64_t max_length = 50;  // items encoded (L)
  double dropout = 0.2;
  int64_t epochs = 200;  // at most; early stopping usually ends sooner
  double learning_rate = 0.001;
  int64_t batch = 128;              // sequences per Adam step
  std::string loss = "auto";        // auto, full, sampled
  int64_t negatives = 1000;         // sampled loss: negatives shared by a batch
  int64_t validation_users = 1000;  // held out for early stopping; 0: train every epoch on everything
  int64_t patience = 5;             // epochs without a validation gain before stopping
  bool features = true;             // add the item's feature tokens to its embedding
  int64_t threads = 0;
  int64_t seed = 42;
  static Result<SasrecOptions> from_params(const Params& params);
  static const ParamTable<SasrecOptions>& parameters();
};

class SasrecModel : public Recommender {
 public:
  SasrecModel(SasrecOptions options, Params params);
  ~SasrecModel() override;
  std::string_view name() const override { return "sasrec"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  // Continues from the last fit's weights for at most epochs / 5 epochs (early stopping on).
  Status fit_warm(const Dataset& train) override;
  void release_training_state() override { id_table_ = {}; }
  // Mean cross-entropy per training position, one per epoch run.
  std::span<const double> epoch_losses() const override { return losses_; }
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  // `items` taken as oldest first (the order of nudge recommend --history); weights unused.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  // Encodes user.recent (newest first) when the server tracks it, else user.items; items
  // described by features score through their feature tokens (zero when none is known).
  bool score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                          std::span<float> scores, std::span<float> described_scores) const override;
  bool has_feature_view() const override { return vocabulary_.size() > 0; }
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  // The encoded items by the attention the newest position pays them in the last block.
  std::vector<ScoredItem> history_drivers(const UserHistory& user) const override;
  ItemEmbeddings item_embeddings() const override {
    return {item_table_.data(), static_cast<uint32_t>(options_.factors)};
  }
  bool history_vector(const UserHistory& history, std::span<float> user) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // The encoding h of a sequence (oldest first; only the last max_length items are read),
  // and the attention of its newest position over those items (one weight each).
  void encode(std::span<const uint32_t> sequence, std::span<float> h, std::vector<float>* attention = nullptr) const;
  // The parts of the fitted model (the ONNX export reads them).
  const SasrecOptions& options() const { return options_; }
  const SasrecNetwork& network() const { return *network_; }
  std::span<const float> weights() const { return weights_; }
  std::span<const float> item_table() const { return item_table_; }
  // Training user u's last max_length items, oldest first (what score_user encodes).
  std::span<const uint32_t> user_sequence(uint32_t user) const {
    return std::span<const uint32_t>(sequence_items_)
        .subspan(sequence_offsets_[user], sequence_offsets_[user + 1] - sequence_offsets_[user]);
  }
  // Which loss the last fit used ("full" or "sampled"), the epochs it ran and the best epoch.
  const std::string& loss_used() const { return loss_used_; }
  int64_t best_epoch() const { return best_epoch_; }
  const std::vector<double>& validation_ndcg() const { return validation_ndcg_; }

 private:
  Status train_from(const Dataset& train, bool warm);
  // Fresh weights, item and token embeddings, and the items' feature tokens.
  void init_weights(const Dataset& train, Rng& rng);
  // Oldest-first items of a served or described user, the last max_length of them.
  std::vector<uint32_t> sequence_of(const UserHistory& user) const;
  // Scores every item for a sequence (oldest first); returns its encoding.
  std::vector<float> score_sequence(std::span<const uint32_t> sequence, std::span<float> scores) const;
  // row += sign * the mean of `item`'s token embeddings (nothing for an item without tokens).
  void add_token_mean(uint32_t item, float sign, float* row) const;
  // Whether every item and recent item of `user` is one of the model's.
  bool has_rows(const UserHistory& user) const;

  SasrecOptions options_;
  Params params_;
  std::unique_ptr<SasrecNetwork> network_;
  AlignedFloats weights_;     // the network's flat weights
  AlignedFloats item_table_;  // num_items x factors
  // Per user, their last max_length items, oldest first: user u's are
  // sequence_items_[sequence_offsets_[u] .. sequence_offsets_[u + 1]).
  std::vector<uint64_t> sequence_offsets_;
  std::vector<uint32_t> sequence_items_;
  // Feature tokens: item i's are feature_tokens_[feature_offsets_[i] .. feature_offsets_[i + 1]),
  // token t's embedding is row t of token_table_, its name ("category=shoes") vocabulary_'s t.
  // item_table_ holds the sums (ID embedding + mean token embedding) once trained.
  std::vector<uint64_t> feature_offsets_;
  std::vector<uint32_t> feature_tokens_;
  AlignedFloats token_table_;
  IdMap vocabulary_;
  AlignedFloats id_table_;  // with features, after a fit: the ID embeddings, for fit_warm
  std::vector<double> losses_, validation_ndcg_;
  std::string loss_used_;
  int64_t best_epoch_ = 0;
};

}  // namespace nudge
