// ServingModel's fused index: one HNSW index that ranks a weighted z-score fusion of u . v + b
// models exactly as the fusion scores (serving_model.h explains the closed form).
#include <chrono>
#include <cmath>

#include "nudge/fusion.h"
#include "nudge/log.h"
#include "nudge/serve/serving_model.h"
#include "serve/ann_index.h"

namespace nudge::serve {

void ServingModel::build_fused_index(const ServingModelOptions& options) {
  const auto* fusion = dynamic_cast<const FusionModel*>(model_.get());
  if (!fusion || fusion->options().method != "weighted" || fusion->options().normalise != "zscore") return;
  if (item_of_row_.size() < options.ann_min_items) return;
  const uint32_t rows = model_->num_items();
  std::vector<FusedPart> parts;
  uint32_t width = 0;
  float total = 0;
  for (float w : fusion->weights()) total += w;
  for (size_t k = 0; k < fusion->num_parts(); ++k) {
    const Recommender& part = fusion->part(k);
    const auto e = part.item_embeddings();
    std::vector<float> probe(e.dim);
    if (!e.data || !part.history_vector(UserHistory{}, probe)) return;  // not a u . v + b model
    FusedPart p;
    p.offset = width;
    p.dim = e.dim;
    p.bias = !part.item_biases().empty();
    p.weight = total > 0 ? fusion->weights()[k] / total : 1.f / static_cast<float>(fusion->num_parts());
    width += e.dim + (p.bias ? 1 : 0);
    parts.push_back(std::move(p));
  }
  fused_items_ = FactorMatrix::Zero(num_items_, width);
  for (size_t k = 0; k < parts.size(); ++k) {
    FusedPart& p = parts[k];
    const Recommender& part = fusion->part(k);
    const auto e = part.item_embeddings();
    const uint32_t ext = p.dim + (p.bias ? 1 : 0);
    Eigen::MatrixXf x(rows, ext);  // [v, b] per model item: what normalise_scores sees
    for (uint32_t r = 0; r < rows; ++r) {
      for (uint32_t c = 0; c < p.dim; ++c) x(r, c) = e.data[static_cast<size_t>(r) * e.dim + c];
      if (p.bias) x(r, p.dim) = part.item_biases()[r];
    }
    p.mean = x.colwise().mean().transpose();
    const Eigen::MatrixXf centred = x.rowwise() - p.mean.transpose();
    p.covariance = centred.transpose() * centred / static_cast<float>(rows);
    for (uint32_t r = 0; r < rows; ++r) fused_items_.block(item_of_row_[r], p.offset, 1, ext) = x.row(r);
  }
  fused_parts_ = std::move(parts);
  const auto start = std::chrono::steady_clock::now();
  fused_ann_ = std::make_unique<AnnIndex>(fused_items_.data(), width, item_of_row_, options.ann);
  spdlog::info("serve: fused HNSW index over {} items ({} dimensions) built in {:.1f} s", item_of_row_.size(), width,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

bool ServingModel::fused_query(const UserHistory& user, std::vector<float>* query, float* offset) const {
  if (!fused_ann_) return false;
  const auto* fusion = static_cast<const FusionModel*>(model_.get());
  const UserHistory rows = to_rows(user);
  query->assign(static_cast<size_t>(fused_items_.cols()), 0.f);
  *offset = 0.f;
  for (size_t k = 0; k < fused_parts_.size(); ++k) {
    const FusedPart& p = fused_parts_[k];
    const uint32_t ext = p.dim + (p.bias ? 1 : 0);
    Eigen::Map<Eigen::VectorXf> u(query->data() + p.offset, ext);
    fusion->part(k).history_vector(rows, std::span<float>(query->data() + p.offset, p.dim));
    if (p.bias) u(p.dim) = 1.f;
    // z = (u . x - mu) / sigma with mu = u . mean and sigma^2 = u' C u over the model's items.
    const float mu = u.dot(p.mean);
    const float sd = std::sqrt(std::max(0.f, u.dot(p.covariance * u)));
    const float c = sd > 0 ? p.weight / sd : 0.f;
    u *= c;
    *offset -= c * mu;
  }
  return true;
}

}  // namespace nudge::serve
