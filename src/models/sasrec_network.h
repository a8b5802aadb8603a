// The self-attention encoder of the sasrec model (models/sasrec.h), one sequence at a time:
// item embeddings (scaled by sqrt(d)) plus learned positions counted back from the newest
// item, `blocks` pre-norm transformer blocks (causal attention, point-wise feed-forward of
// width d, residuals, dropout), a final layer norm. Row t of the output encodes items 0..t
// and scores item t + 1 as out[t] . e_item. Every weight but the item table lives in one
// flat vector (layout below), so training keeps one optimiser and one gradient per thread.
// Checked end to end against finite differences in tests/models/sasrec_test.cc.
// Thread-safety: const methods keep no state; callers own caches and gradient buffers.
#pragma once

#include <span>
#include <vector>

#include "nudge/nn/attention.h"
#include "nudge/rng.h"

namespace nudge {

struct SasrecShape {
  int factors = 64;
  int blocks = 2;
  int heads = 1;
  int max_length = 50;
};

class SasrecNetwork {
 public:
  using Matrix = nn::Matrix;
  explicit SasrecNetwork(SasrecShape shape);
  const SasrecShape& shape() const { return shape_; }
  size_t num_weights() const { return size_; }
  // Glorot-uniform matrices, small positions, unit gains, zero biases, into weights[0..num_weights()).
  void initialise(Rng& rng, float* weights) const;

  struct BlockCache {
    Matrix input, attention_in, attention_out, attention_mask, residual, feed_in, hidden, feed_mask;
    nn::LayerNormCache norm1, norm2;
    nn::AttentionCache attention;
  };
  struct Cache {
    Matrix input_mask;
    std::vector<BlockCache> blocks;
    Matrix last;  // the last block's output, before the final norm
    nn::LayerNormCache final_norm;
  };
  // Encodes `sequence` (oldest first, 1..max_length items, each < the item table's rows)
  // into *out (T x d). Dropout with probability `dropout` when rng is not null.
  void forward(const float* weights, const float* item_table, std::span<const uint32_t> sequence, float dropout,
               Rng* rng, Cache* cache, Matrix* out) const;
  // Adds the gradients of a loss with dL/dout = dout into weight_grad (num_weights()) and
  // item_grad (the item table's shape).
  void backward(const float* weights, std::span<const uint32_t> sequence, const Cache& cache, const Matrix& dout,
                float* weight_grad, float* item_grad) const;
  // Attention weights of the last block's newest position over the sequence (summed over
  // heads, each row summing to 1 per head): which items drove the encoding.
  static std::vector<float> last_attention(const Cache& cache);

  // Where each tensor starts in the flat weights (every W is d x d, out x in, row-major).
  struct BlockLayout {
    size_t norm1_gain, norm1_bias, wq, bq, wk, bk, wv, bv, wo, bo, norm2_gain, norm2_bias, w1, b1, w2, b2;
  };
  size_t positions() const { return positions_; }  // max_length x d, row p: p steps back from the newest
  const std::vector<BlockLayout>& block_layouts() const { return blocks_; }
  size_t final_gain() const { return final_gain_; }
  size_t final_bias() const { return final_bias_; }

 private:
  nn::AttentionWeights attention_weights(const float* weights, const BlockLayout& b) const;
  nn::AttentionGrads attention_grads(float* grad, const BlockLayout& b) const;

  SasrecShape shape_;
  size_t positions_ = 0;  // max_length x d
  std::vector<BlockLayout> blocks_;
  size_t final_gain_ = 0, final_bias_ = 0, size_ = 0;
};

}  // namespace nudge
