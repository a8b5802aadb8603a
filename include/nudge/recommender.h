// Recommender: the one interface every model implements (popularity, KNN, iALS, BPR, EASE,
// SVD, SVD++). Create models by name with make_recommender (registry.h).
//
// A model is fitted on a Dataset and then answers for dense user/item indices of that
// dataset's catalog. Scoring is batch-first: the caller owns the output span (one float per
// item) so nothing is allocated per call. Higher scores are better; for rating models they
// are predicted ratings.
//
// Thread-safety: after fit() (or load()), all const methods may be called concurrently.
// fit() and load() need exclusive access.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/params.h"
#include "nudge/status.h"
#include "nudge/top_k.h"

namespace nudge {

class ModelWriter;
class ModelReader;

// An item or a user known by features rather than by a training index: categorical and
// multi-valued features as (field, value) pairs, numeric ones as (field, x). Items described
// after the model was trained (cold start); a user's attributes.
struct FeatureDescription {
  std::vector<std::pair<std::string, std::string>> values;  // ("category", "shoes"), ("tag", "red")
  std::vector<std::pair<std::string, float>> numbers;       // ("price", 19.9)
  bool empty() const { return values.empty() && numbers.empty(); }
};

// A user known by behaviour rather than by a training index (a new or anonymous user, or any
// user as serving sees them): the summed history and, where the caller tracks them, the most
// recent items and the user's attributes. Models that build a user from recent behaviour and
// attributes (the two-tower user tower) use all of it; the others use items and weights.
struct UserHistory {
  std::span<const uint32_t> items;                 // distinct item indices, < num_items()
  std::span<const float> weights;                  // one per item
  std::span<const uint32_t> recent;                // distinct item indices, newest first; empty: not tracked
  const FeatureDescription* attributes = nullptr;  // null: none
};

class Recommender {
 public:
  virtual ~Recommender() = default;

  // Registry name ("ials") and the parameters it was created with.
  virtual std::string_view name() const = 0;
  virtual const Params& params() const = 0;

  // Trains on `train` (weights from Dataset::user_items, or raw values for rating models).
  virtual Status fit(const Dataset& train) = 0;

  // Trains on `train` starting from what fit() learnt on a part of it (the same users and
  // items, fewer interactions: a split of `train`), for a fraction of fit()'s cost. Kinds
  // that cannot start warm fit from scratch, as by default.
  virtual Status fit_warm(const Dataset& train) { return fit(train); }

  // Frees what only a later fit_warm() would use (optimiser state), once the model is final;
  // scores do not change. Serving calls it on every model it trains.
  virtual void release_training_state() {}

  // Scores of training user `user` for every item: scores.size() == num_items().
  // NUDGE_CHECK on an unknown user or a wrong span size.
  virtual void score_user(uint32_t user, std::span<float> scores) const = 0;

  // Scores of several training users at once: row r of `scores` (users.size() x num_items(),
  // row-major) for users[r], what score_user gives that user up to float rounding (a matrix
  // product sums in another order). The default calls score_user row by row; models whose
  // scores are user vectors times the item matrix override it with one matrix product, which
  // reads the item matrix once for all the rows instead of once per user. Same checks as
  // score_user.
  virtual void score_users(std::span<const uint32_t> users, std::span<float> scores) const;

  // Scores of `user` for the listed items only (out[k] for items[k]): candidate re-ranking,
  // sampled evaluation. The default scores everything and gathers; factor models override
  // it with one dot product per item.
  virtual void score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const;

  // Scores for a user known only by a history (items with weights, e.g. a new or anonymous
  // user): the fold-in path serving uses. Items must be < num_items().
  virtual void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                             std::span<float> scores) const = 0;

  // score_history for a user given as a UserHistory (recent items and attributes included),
  // plus scores on the same scale for items the model has never seen, known only by their
  // features (`described`, one score each into `described_scores`). Models with a feature
  // view (the two-tower model, a fusion holding one) return true; the default scores
  // user.items with score_history and returns false.
  virtual bool score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                                  std::span<float> scores, std::span<float> described_scores) const;
  virtual bool has_feature_view() const { return false; }
  // Whether the model can say anything for this user from their attributes alone (the
  // two-tower model knows at least one of the attribute values from training).
  virtual bool knows_attributes(const FeatureDescription& attributes) const {
    (void)attributes;
    return false;
  }

  // Up to k items most similar to `item` (not including it). Unsupported -> Status.
  virtual Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const;

  // Item vectors (num_items x dim, row-major) for models that embed items (iALS, the
  // two-tower model, a fusion holding one); {nullptr, 0} otherwise. Explanations use them
  // to find the history items closest to a recommended one.
  struct ItemEmbeddings {
    const float* data = nullptr;
    uint32_t dim = 0;
  };
  virtual ItemEmbeddings item_embeddings() const { return {}; }
  // Models whose history scores are u . v_i + b_i (v_i the item embeddings): the user vector
  // u for a history (user.size() == item_embeddings().dim) and the item biases (empty when
  // there are none). False for every other model. Serving uses it to rank a fusion through
  // one nearest-neighbour index instead of scoring every item.
  virtual bool history_vector(const UserHistory& history, std::span<float> user) const {
    (void)history, (void)user;
    return false;
  }
  virtual std::span<const float> item_biases() const { return {}; }

  // The history items that drove this user's scores, strongest first, each with its share
  // (sequence models: the attention of the newest position over the encoded items, an item
  // that comes back summed). Empty for models without such a view; explanations then fall
  // back to the history items closest to each recommended one.
  virtual std::vector<ScoredItem> history_drivers(const UserHistory& user) const {
    (void)user;
    return {};
  }

  // Mean training loss of each epoch of the last fit() in this process (not saved in model
  // files), for models trained by epochs of SGD (NeuMF, BPR, the two-tower model); empty for
  // the others. Reports draw it as the training curve.
  virtual std::span<const double> epoch_losses() const { return {}; }

  // True for models trained on explicit ratings whose scores predict them (SVD, SVD++).
  virtual bool predicts_ratings() const { return false; }

  // Called by fit() and fit_warm() after each epoch (an iALS sweep, an SGD pass) with its
  // number from 0 and its mean loss where the model logs one (epoch_losses; NaN for iALS);
  // returning false ends the training after that epoch, a model as good as that many epochs
  // made it. Runs on the thread that called fit(); must not throw. Kinds trained in one
  // pass (KNN, EASE, popularity) never call it. Empty (the default): no calls.
  using EpochListener = std::function<bool(int64_t epoch, double loss)>;
  void set_epoch_listener(EpochListener listener) { epoch_listener_ = std::move(listener); }

  uint32_t num_users() const { return num_users_; }
  uint32_t num_items() const { return num_items_; }

  // Model-specific state (serialize.h), saved after the common header of model_file.h.
  virtual void save_state(ModelWriter& out) const = 0;
  virtual Status load_state(ModelReader& in) = 0;

 protected:
  void set_shape(uint32_t users, uint32_t items) {
    num_users_ = users;
    num_items_ = items;
  }
  void check_user_call(uint32_t user, std::span<float> scores) const;
  void check_users_call(std::span<const uint32_t> users, std::span<float> scores) const;
  void check_history_call(std::span<const uint32_t> items, std::span<const float> weights,
                          std::span<float> scores) const;
  // What a training loop calls after each epoch: false when the listener asks it to stop.
  bool epoch_finished(int64_t epoch, double loss) const { return !epoch_listener_ || epoch_listener_(epoch, loss); }

 private:
  uint32_t num_users_ = 0;
  uint32_t num_items_ = 0;
  EpochListener epoch_listener_;
};

// Top-k for a training user, excluding `exclude_sorted` (typically their history).
// `scratch` is resized to num_items; reuse it across calls to avoid allocation.
void recommend_for_user(const Recommender& model, uint32_t user, size_t k, std::span<const uint32_t> exclude_sorted,
                        std::vector<float>* scratch, std::vector<ScoredItem>* out);

// Users scored together by rank_users: enough rows that the item matrix is read once for
// many of them (64: 1.8x the GEMM throughput of 32 users in bench_scoring), few enough that a
// block's scores stay within 16 MB (64 x 54k items is 14 MB; a million items, 4 rows).
inline constexpr size_t kScoreBlockUsers = 64;
size_t score_block_users(uint32_t num_items);

// One thread's buffers for rank_users, reused across calls.
struct RankScratch {
  std::vector<float> scores;  // score_block_users(num_items) x num_items
  std::vector<ScoredItem> top;
};

// What rank_users hands over for users[r]: their scores for every item and their top k.
using RankedUserVisitor = std::function<void(size_t r, std::span<const float> scores, std::span<const ScoredItem> top)>;

// Top-k of each training user in `users`, skipping the items of their row of `exclude` (sorted
// rows; null: nothing skipped): blocks of score_block_users() through score_users, then top_k per
// row; visit(r, ...) for every r in order. The batch twin of recommend_for_user, which stays
// the oracle it is tested against.
void rank_users(const Recommender& model, std::span<const uint32_t> users, size_t k, const CsrMatrix* exclude,
                RankScratch* scratch, const RankedUserVisitor& visit);

// Cosine top-k over rows of a row-major item matrix (num_items x dim): similar items for
// embedding models.
void cosine_neighbours(const float* item_vectors, uint32_t num_items, uint32_t dim, uint32_t item, size_t k,
                       std::vector<ScoredItem>* out);

}  // namespace nudge
