// iALS: implicit alternating least squares (Hu, Koren, Volinsky 2008) with the conjugate
// gradient solver of Takács et al. 2011.
//
// Minimises  sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2
// with p_ui = 1 for observed pairs (else 0), confidence c_ui = 1 + alpha * w_ui (w = implicit
// weight) and lambda_u = regularization * (1 + n_u)^reg_exponent: reg_exponent 1 gives the
// frequency-scaled regularisation recommended by Rendle et al. 2021 ("Revisiting iALS").
// Each half-step solves every row with a few CG steps warm-started from the previous
// solution, so each costs O(nnz * f * cg_steps + rows * f^2); rows run in parallel and each
// row's solve depends only on the other side, so results do not depend on the thread count.
#pragma once

#include "nudge/models/factors.h"
#include "nudge/recommender.h"

namespace nudge {

struct IalsOptions {
  int64_t factors = 64;
  int64_t iterations = 15;
  double regularization = 0.01;
  double reg_exponent = 0.0;  // 0: plain lambda; 1: lambda * (1 + n_u) as in Rendle et al.
  double alpha = 1.0;         // confidence = 1 + alpha * weight
  int64_t cg_steps = 3;       // 0 = exact Cholesky solve per row
  double init_scale = 0.01;   // initial factors ~ N(0, init_scale^2)
  int64_t threads = 0;        // 0 = all cores
  int64_t seed = 42;
  bool training_loss = false;  // the loss after each sweep (an extra pass over the events)
  static Result<IalsOptions> from_params(const Params& params);
  static const ParamTable<IalsOptions>& parameters();
};

class IalsModel : public Recommender {
 public:
  IalsModel(IalsOptions options, Params params) : options_(options), params_(std::move(params)) {}
  std::string_view name() const override { return "ials"; }
  const Params& params() const override { return params_; }
  Status fit(const Dataset& train) override;
  Status fit_warm(const Dataset& train) override;
  void score_user(uint32_t user, std::span<float> scores) const override;
  void score_users(std::span<const uint32_t> users, std::span<float> scores) const override;
  void score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const override;
  void score_history(std::span<const uint32_t> items, std::span<const float> weights,
                     std::span<float> scores) const override;
  Status similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const override;
  ItemEmbeddings item_embeddings() const override { return {items_.data(), static_cast<uint32_t>(items_.cols())}; }
  bool history_vector(const UserHistory& history, std::span<float> user) const override;
  void save_state(ModelWriter& out) const override;
  Status load_state(ModelReader& in) override;
  // With training_loss: after each sweep, loss() divided by the total confidence of every
  // (user, item) pair (1 for each unobserved one), as implicit's calculate_training_loss
  // reports it; empty without (the epoch listener then hears NaN).
  std::span<const double> epoch_losses() const override { return losses_; }

  // The user vector that best explains a history given the item factors: an exact solve of
  // the user's least-squares problem with the item Gram matrix Y'Y cached when the factors
  // were set, O(n f^2 + f^3) for n history items. What serving calls on each event.
  Eigen::VectorXf fold_in(std::span<const uint32_t> items, std::span<const float> weights) const;
  // The same with another Gram matrix (of these item factors).
  Eigen::VectorXf fold_in(std::span<const uint32_t> items, std::span<const float> weights,
                          const Eigen::MatrixXf& gram) const;
  const Eigen::MatrixXf& item_gram() const { return gram_; }
  // The training objective on `train` (for tests: it must not increase across iterations).
  double loss(const Dataset& train) const;
  // Fits `iterations` more sweeps from the current state (tests use it to watch the loss).
  Status fit_more(const Dataset& train, int64_t iterations);

  const IalsOptions& options() const { return options_; }
  const FactorMatrix& user_factors() const { return users_; }
  const FactorMatrix& item_factors() const { return items_; }
  // Replaces both factor matrices (same column count), e.g. after re-indexing the items.
  void set_factors(FactorMatrix users, FactorMatrix items);
  // One half-step restricted to rows [first, last) of `solved`: each row of `rows` solved
  // against the other side `fixed`, whose Gram matrix fixed' fixed is `gram`. fit's
  // half-steps are this over every row; distributed training (nudge-train-mpi) solves each
  // rank's rows with the Gram matrix summed across ranks. The answer of a row does not depend
  // on the range or the thread count.
  void solve_rows(const CsrMatrix& rows, uint32_t first, uint32_t last, const FactorMatrix& fixed,
                  const Eigen::MatrixXf& gram, FactorMatrix* solved) const;

 private:
  void solve_side(const CsrMatrix& rows, const FactorMatrix& fixed, FactorMatrix* solved) const;
  IalsOptions options_;
  Params params_;
  FactorMatrix users_, items_;
  std::vector<double> losses_;
  Eigen::MatrixXf gram_;  // items_' items_, refreshed whenever items_ changes
};

}  // namespace nudge
