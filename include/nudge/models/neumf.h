// Neural collaborative filtering (He et al. 2017): GMF, MLP and their fusion NeuMF.
//
//   GMF:   phi = p_u (.) q_i                         (element-wise product, `factors` wide)
//   MLP:   phi = tower([p'_u, q'_i])                  (ReLU layers, widths `layers`; the
//                                                      embeddings are layers[0]/2 wide)
//   NeuMF: logit = h . [phi_GMF, phi_MLP] + b,  y = sigmoid(logit)
// trained with binary cross-entropy on each observed pair and `negatives` unobserved items
// per pair, Adam on mini-batches. Embedding rows use row-wise lazy Adam. Threads run
// Hogwild on disjoint slices of the pairs (threads=1 is deterministic for a seed).
// With pretrain, NeuMF starts from separately trained GMF and MLP (output weights halved),
// as in the paper. With validation > 0 a share of the pairs is held out, HR@10 against 100
// sampled negatives is logged each epoch, and training stops after `patience` epochs
// without improvement, keeping the best epoch's parameters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nudge/models/factors.h"
#include "nudge/nn/layers.h"
#include "nudge/recommender.h"

namespace nudge {

struct NeuMfOptions {
  std::string mode = "neumf";       // gmf, mlp, neumf
  int64_t factors = 16;             // GMF width
  std::string layers = "64-32-16";  // MLP: concatenated embedding width, then hidden widths
  int64_t epochs = 10;
  int64_t negatives = 4;
  int64_t batch_size = 256;
  double learning_rate = 0.001;
  double l2 = 0.0;
  bool pretrain = false;
  double validation = 0.0;  // share of pairs held out for early stopping (0 = none)
  int64_t patience = 2;
  int64_t threads = 0;
  int64_t seed = 42;
  std::vector<int> layer_sizes;  // parsed from `layers`
  static Result<NeuMfOptions> from_params(std::string_view owner, const Params& params);
  static const ParamTable<NeuMfOptions>& parameters();
};

class NeuMfModel : public Recommender {
 public:
  NeuMfModel(NeuMfOptions options, Params params);
  std::string_view name() const override { return options_.mode; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const override;
  // Learns a user's two embeddings from the history (items fixed), then scores.
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;

  // Mean training loss of each epoch run so far (tests check it falls).
  std::span<const double> epoch_losses() const override { return losses_; }

  // The parameters; public so the gradient check in tests can drive forward/backward.
  struct Net {
    FactorMatrix user_gmf, item_gmf, user_mlp, item_mlp;
    std::vector<nn::Dense> tower;
    nn::Vector out_weight;  // [gmf part, mlp part]
    float out_bias = 0.f;
  };
  struct Grads;
  // Forward + backward for one batch of (user, item, label); returns the mean loss and, when
  // `grads` is not null, fills the gradients. Exposed for the gradient check.
  static double batch_loss(const Net& net, const std::string& mode, std::span<const uint32_t> users,
                           std::span<const uint32_t> items, std::span<const float> labels, Grads* grads);
  Net& net() { return net_; }
  const Net& net() const { return net_; }
  // item_mlp times the item half of the first MLP layer: what scoring adds to the user half.
  const nn::Matrix& item_first_layer() const { return item_first_layer_; }

 private:
  void init(uint32_t users, uint32_t items);
  Status train_epochs(const CsrMatrix& pairs, const CsrMatrix& seen, const CsrMatrix* validation, int64_t epochs);
  void score_with(const float* p_gmf, const float* p_mlp, std::span<const uint32_t> items, std::span<float> out) const;
  void build_cache();
  NeuMfOptions options_;
  Params params_;
  Net net_;
  std::vector<double> losses_;
  nn::Matrix item_first_layer_;  // inference cache: the item half of the first MLP layer
};

// Gradients of everything in Net, embeddings as (row, gradient) pairs.
struct NeuMfModel::Grads {
  std::vector<std::pair<uint32_t, nn::Vector>> user_gmf, item_gmf, user_mlp, item_mlp;
  std::vector<nn::DenseGrad> tower;
  nn::Vector out_weight;
  float out_bias = 0.f;
};

}  // namespace nudge
