// Transformer building blocks with hand-written backward passes, one sequence at a time
// (rows are positions, oldest first): layer normalisation and causal multi-head
// self-attention, for the sequence model (models/sasrec.h). Parameters are raw float
// pointers into a caller-owned flat buffer, so a model keeps every weight in one vector
// (one optimiser, one reduction of per-thread gradients). Checked against finite differences
// in tests/nn/attention_test.cc.
// Thread-safety: the functions keep no state; callers own caches and gradient buffers.
#pragma once

#include <vector>

#include "nudge/nn/layers.h"

namespace nudge::nn {

// Layer normalisation of each row: y = gain * (x - mean) / sqrt(var + 1e-5) + bias.
struct LayerNormCache {
  Matrix normalized;  // (x - mean) / std
  Vector inv_std;     // one per row
};
void layer_norm_forward(const Matrix& x, const float* gain, const float* bias, Matrix* y, LayerNormCache* cache);
// Adds dL/dgain and dL/dbias; writes dL/dx into *dx.
void layer_norm_backward(const Matrix& dy, const float* gain, const LayerNormCache& cache, float* gain_grad,
                         float* bias_grad, Matrix* dx);

// Causal self-attention with `heads` heads over d = x.cols() (d % heads == 0): position t
// attends to positions 0..t only.
//   Q, K, V = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv;  per head h (d / heads columns):
//   A_h = softmax(Q_h K_h^T / sqrt(d / heads) + causal mask);  y = [A_1 V_1 ... ] Wo^T + bo
struct AttentionWeights {
  const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;  // each W d x d, each b d
};
struct AttentionGrads {
  float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
};
struct AttentionCache {
  Matrix q, k, v, context;      // T x d each; context = per-head A_h V_h side by side
  std::vector<Matrix> weights;  // per head, T x T (lower triangular): the attention weights
};
void causal_attention_forward(const Matrix& x, int heads, const AttentionWeights& w, Matrix* y, AttentionCache* cache);
// Adds the parameter gradients into g; writes dL/dx into *dx.
void causal_attention_backward(const Matrix& x, const Matrix& dy, int heads, const AttentionWeights& w,
                               const AttentionCache& cache, const AttentionGrads& g, Matrix* dx);

}  // namespace nudge::nn
