#include "nudge/serve/serving_model.h"

#include <chrono>
#include <ctime>

#include "nudge/log.h"

namespace nudge::serve {
namespace {

std::vector<std::string> item_tokens(const ItemRecord& item) {
  std::vector<std::string> tokens;
  if (!item.category.empty()) tokens.push_back("category=" + item.category);
  for (const auto& t : item.tags) tokens.push_back("tag=" + t);
  return tokens;
}

}  // namespace

Result<std::shared_ptr<const ServingModel>> ServingModel::train(const Dataset& data,
                                                                const std::vector<ItemRecord>& features,
                                                                const ServingModelOptions& options, uint64_t version) {
  const auto start = std::chrono::steady_clock::now();
  auto model = std::make_unique<IalsModel>(options.ials, Params{});
  NUDGE_RETURN_IF_ERROR(model->fit(data));
  std::vector<bool> trained(data.num_items(), false);
  for (uint32_t item : data.interactions().items) trained[item] = true;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return build(std::move(model), std::move(trained), features, options, version, seconds);
}

std::shared_ptr<const ServingModel> ServingModel::build(std::unique_ptr<IalsModel> model, std::vector<bool> trained,
                                                        const std::vector<ItemRecord>& features,
                                                        const ServingModelOptions& options, uint64_t version,
                                                        double train_seconds) {
  std::shared_ptr<ServingModel> m(new ServingModel());
  m->train_seconds_ = train_seconds;
  m->version_ = version;
  m->trained_at_ = static_cast<int64_t>(std::time(nullptr));
  m->model_ = std::move(model);
  trained.resize(static_cast<size_t>(m->model_->item_factors().rows()), false);
  m->trained_ = std::move(trained);
  m->gram_ = m->model_->item_gram();
  const FactorMatrix& y = m->model_->item_factors();
  // Feature vectors: the mean of trained item vectors per category / tag.
  std::unordered_map<std::string, std::pair<Eigen::VectorXf, int>> sums;
  for (size_t i = 0; i < features.size() && i < m->trained_.size(); ++i) {
    if (!m->trained_[i]) continue;
    for (auto& token : item_tokens(features[i])) {
      auto& [sum, count] = sums[token];
      if (count == 0) sum = Eigen::VectorXf::Zero(y.cols());
      sum += y.row(static_cast<Eigen::Index>(i)).transpose();
      ++count;
    }
  }
  for (auto& [token, sc] : sums) m->token_vectors_.emplace(token, sc.first / static_cast<float>(sc.second));
  // Scoring vectors: untrained items that are described get their feature vector here, so
  // the index and exact scoring cover them like any other item.
  m->vectors_ = y;
  m->has_vector_ = m->trained_;
  for (size_t i = 0; i < m->trained_.size(); ++i) {
    if (m->trained_[i]) continue;
    const Eigen::VectorXf v = i < features.size() ? m->feature_vector(features[i]) : Eigen::VectorXf();
    if (v.size() == 0) {
      m->vectors_.row(static_cast<Eigen::Index>(i)).setZero();  // whatever the factors held
      continue;
    }
    m->vectors_.row(static_cast<Eigen::Index>(i)) = v.transpose();
    m->has_vector_[i] = true;
  }
  m->norms_.resize(m->vectors_.rows());
  std::vector<uint32_t> rows;
  for (Eigen::Index i = 0; i < m->vectors_.rows(); ++i) {
    m->norms_[i] = m->vectors_.row(i).norm();
    if (m->has_vector_[i]) rows.push_back(static_cast<uint32_t>(i));
  }
  if (rows.size() >= options.ann_min_items) {
    const auto start = std::chrono::steady_clock::now();
    m->ann_ = std::make_unique<AnnIndex>(m->vectors_.data(), m->factors(), rows, options.ann);
    spdlog::info("serve: HNSW index over {} items built in {:.1f} s", rows.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return m;
}

Eigen::VectorXf ServingModel::fold_in(std::span<const uint32_t> items, std::span<const float> weights) const {
  std::vector<uint32_t> known;
  std::vector<float> w;
  known.reserve(items.size());
  w.reserve(items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    if (!trained(items[k])) continue;
    known.push_back(items[k]);
    w.push_back(weights[k]);
  }
  return model_->fold_in(known, w, gram_);
}

float ServingModel::cosine(uint32_t a, uint32_t b) const {
  const float d = norms_[a] * norms_[b];
  return d > 0 ? items().row(a).dot(items().row(b)) / d : 0.f;
}

float ServingModel::cosine_to(uint32_t item, const Eigen::VectorXf& v) const {
  const float d = norms_[item] * v.norm();
  return d > 0 ? items().row(item).dot(v) / d : 0.f;
}

Eigen::VectorXf ServingModel::feature_vector(const ItemRecord& item, std::vector<std::string>* used) const {
  Eigen::VectorXf sum;
  int count = 0;
  for (const auto& token : item_tokens(item)) {
    auto it = token_vectors_.find(token);
    if (it == token_vectors_.end()) continue;
    if (count == 0) sum = Eigen::VectorXf::Zero(factors());
    sum += it->second;
    ++count;
    if (used) used->push_back(token);
  }
  if (count > 0) sum /= static_cast<float>(count);
  return sum;
}

}  // namespace nudge::serve
