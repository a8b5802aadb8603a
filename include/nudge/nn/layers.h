// Neural-network building blocks with hand-written backward passes, on Eigen row-major
// batches (one example per row). Every backward pass is checked against finite differences
// in tests/nn/layers_test.cc.
//
// Thread-safety: a layer holds its parameters and gradients; use one per thread for
// gradients (Hogwild training shares parameters deliberately, see NeuMF).
#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "nudge/rng.h"

namespace nudge::nn {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;

// Gradients of a Dense layer, kept apart from the weights so threads can share one layer
// and accumulate into their own buffers.
struct DenseGrad {
  Matrix weight;
  Vector bias;
  void zero(Eigen::Index out, Eigen::Index in) {
    weight = Matrix::Zero(out, in);
    bias = Vector::Zero(out);
  }
};

// y = x W^T + b for W: out x in (row-major at `weight`), b: out (at `bias`): the linear
// layer on raw parameters, for models that keep every weight in one flat buffer (sasrec).
void linear_forward(const Matrix& x, const float* weight, const float* bias, int out, Matrix* y);
// Adds dL/dW and dL/db into weight_grad / bias_grad; writes dL/dx into *dx when not null.
void linear_backward(const Matrix& x, const Matrix& dy, const float* weight, float* weight_grad, float* bias_grad,
                     Matrix* dx);

// y = x W^T + b, x: batch x in, W: out x in (linear_forward on its own weights).
struct Dense {
  Matrix weight;  // out x in
  Vector bias;    // out

  Dense() = default;
  // Glorot-uniform weights, zero bias.
  Dense(int in, int out, Rng& rng);
  void forward(const Matrix& x, Matrix* y) const;
  // Adds dL/dW and dL/db to *grad and writes dL/dx into *dx (when not null).
  void backward(const Matrix& x, const Matrix& dy, DenseGrad* grad, Matrix* dx) const;
};

// ReLU in place on y = relu(z); backward masks dy where z <= 0.
void relu(Matrix* z);
void relu_backward(const Matrix& activated, Matrix* dy);

// Binary cross-entropy on logits, averaged over the batch. Returns the loss; *dlogits gets
// dL/dlogit = (sigmoid(logit) - label) / batch. Stable for large |logit|.
double bce_with_logits(const Vector& logits, const Vector& labels, Vector* dlogits);

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

}  // namespace nudge::nn
