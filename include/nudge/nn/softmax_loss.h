// Output layers of a next-item model: hidden states h (rows of H, P x d) score items by
// h . e_i against an item table E (N x d, row-major), trained with softmax cross-entropy.
//   full     over all N items: exact, cost P x N x d;
//   sampled  over the row's target and a set of negatives shared by every row (drawn by the
//            caller from a distribution Q, with replacement): each logit gets log Q(item)
//            subtracted (the log-Q correction, Bengio & Senecal 2008; Yi et al. 2019), which
//            makes the sampled softmax an unbiased stand-in for the full one as the negatives
//            grow; a negative equal to the row's target is masked out. Cost P x S x d.
// Both return the loss summed over rows, write scale * dL/dH into *dh and add scale * dL/dE
// into item_grad (N x d, dense; the sampled loss touches only its targets' and negatives'
// rows). Rows go in chunks, so memory stays at a chunk of logits. Checked against finite
// differences in tests/nn/softmax_loss_test.cc.
#pragma once

#include <cstdint>
#include <span>

#include "nudge/nn/layers.h"

namespace nudge::nn {

double full_softmax_loss(const Matrix& h, const float* items, uint32_t num_items, std::span<const uint32_t> targets,
                         float scale, Matrix* dh, float* item_grad);

double sampled_softmax_loss(const Matrix& h, const float* items, std::span<const uint32_t> targets,
                            std::span<const uint32_t> negatives, std::span<const float> log_q, float scale, Matrix* dh,
                            float* item_grad);

}  // namespace nudge::nn
