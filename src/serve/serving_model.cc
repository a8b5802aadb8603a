#include "nudge/serve/serving_model.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>

#include "nudge/log.h"
#include "nudge/registry.h"
#include "serve/ann_index.h"

namespace nudge::serve {
namespace {

std::vector<std::string> item_tokens(const ItemRecord& item) {
  std::vector<std::string> tokens;
  if (!item.category.empty()) tokens.push_back("category=" + item.category);
  for (const auto& t : item.tags) tokens.push_back("tag=" + t);
  return tokens;
}

std::string ials_params(const IalsOptions& o, std::string_view prefix) {
  const std::string p(prefix);
  return fmt::format("{}factors={},{}iterations={},{}regularization={},{}alpha={},{}threads={},{}seed={}", p, o.factors,
                     p, o.iterations, p, o.regularization, p, o.alpha, p, o.threads, p, o.seed);
}

}  // namespace

ServingModel::~ServingModel() = default;

std::string default_model_spec(const ServingModelOptions& options, bool items_have_features) {
  if (!items_have_features) return "ials:" + ials_params(options.ials, "");
  return "fusion:models=ials+twotower,split=temporal," + ials_params(options.ials, "ials.") +
         fmt::format(",twotower.threads={},twotower.seed={}", options.ials.threads, options.ials.seed);
}

FeatureTable item_feature_table(const std::vector<ItemRecord>& items) {
  FeatureTable t;
  const uint32_t category = t.add_field("category", FeatureKind::kCategorical).value();
  const uint32_t tag = t.add_field("tag", FeatureKind::kMultiCategorical).value();
  const uint32_t price = t.add_field("price", FeatureKind::kNumeric).value();
  t.resize(static_cast<uint32_t>(items.size()));
  for (uint32_t i = 0; i < items.size(); ++i) {
    const ItemRecord& r = items[i];
    if (!r.category.empty()) t.set_categorical(i, category, r.category);
    for (const auto& v : r.tags) t.add_value(i, tag, v);
    if (!std::isnan(r.price)) t.set_numeric(i, price, static_cast<float>(r.price));
  }
  return t;
}

bool describe_item(const ItemRecord& item, FeatureDescription* out) {
  out->values.clear();
  out->numbers.clear();
  if (!item.category.empty()) out->values.emplace_back("category", item.category);
  for (const auto& t : item.tags) out->values.emplace_back("tag", t);
  if (!std::isnan(item.price)) out->numbers.emplace_back("price", item.price);
  return !out->values.empty() || !out->numbers.empty();
}

Result<std::shared_ptr<const ServingModel>> ServingModel::train(const Dataset& data, std::string_view spec,
                                                                const std::vector<ItemRecord>& features,
                                                                const ServingModelOptions& options, uint64_t version) {
  const auto start = std::chrono::steady_clock::now();
  NUDGE_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> model, make_recommender_from_spec(spec));
  NUDGE_RETURN_IF_ERROR(model->fit(data));
  model->release_training_state();
  std::vector<bool> trained(data.num_items(), false);
  for (uint32_t item : data.interactions().items) trained[item] = true;
  std::vector<uint32_t> identity(data.num_items());
  for (uint32_t i = 0; i < identity.size(); ++i) identity[i] = i;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return build(std::move(model), std::move(identity), data.num_items(), trained, features, options, version, seconds);
}

std::shared_ptr<const ServingModel> ServingModel::build(std::unique_ptr<Recommender> model,
                                                        std::vector<uint32_t> catalogue_index, uint32_t num_items,
                                                        const std::vector<bool>& trained,
                                                        const std::vector<ItemRecord>& features,
                                                        const ServingModelOptions& options, uint64_t version,
                                                        double train_seconds) {
  NUDGE_CHECK(catalogue_index.size() == model->num_items(), "serve: one catalogue index per model item");
  std::shared_ptr<ServingModel> m(new ServingModel());
  m->train_seconds_ = train_seconds;
  m->version_ = version;
  m->trained_at_ = static_cast<int64_t>(std::time(nullptr));
  m->num_items_ = num_items;
  m->model_ = std::move(model);
  m->ials_ = dynamic_cast<const IalsModel*>(m->model_.get());
  m->item_of_row_ = std::move(catalogue_index);
  m->row_of_.assign(num_items, kNoIndex);
  m->trained_.assign(num_items, false);
  m->identity_rows_ = m->item_of_row_.size() == num_items;
  for (uint32_t r = 0; r < m->item_of_row_.size(); ++r) {
    const uint32_t i = m->item_of_row_[r];
    NUDGE_CHECK(i < num_items, "serve: catalogue index out of range");
    m->row_of_[i] = r;
    m->trained_[i] = r < trained.size() && trained[r];
    m->identity_rows_ = m->identity_rows_ && i == r;
  }
  if (m->ials_) m->build_factor_path(features, options);
  else m->build_fused_index(options);
  return m;
}

UserHistory ServingModel::to_rows(const UserHistory& user) const {
  thread_local std::vector<uint32_t> rows, recent;
  thread_local std::vector<float> weights;
  rows.clear();
  weights.clear();
  recent.clear();
  for (size_t k = 0; k < user.items.size(); ++k) {
    const uint32_t r = row_of(user.items[k]);
    if (r == kNoIndex) continue;
    rows.push_back(r);
    weights.push_back(user.weights[k]);
  }
  for (uint32_t i : user.recent)
    if (const uint32_t r = row_of(i); r != kNoIndex) recent.push_back(r);
  return {rows, weights, recent, user.attributes};
}

void ServingModel::build_factor_path(const std::vector<ItemRecord>& features, const ServingModelOptions& options) {
  const FactorMatrix& y = ials_->item_factors();
  // Feature vectors: the mean of trained item vectors per category / tag.
  std::unordered_map<std::string, std::pair<Eigen::VectorXf, int>> sums;
  for (size_t i = 0; i < features.size() && i < num_items_; ++i) {
    if (!trained_[i]) continue;
    for (auto& token : item_tokens(features[i])) {
      auto& [sum, count] = sums[token];
      if (count == 0) sum = Eigen::VectorXf::Zero(y.cols());
      sum += y.row(static_cast<Eigen::Index>(row_of_[i])).transpose();
      ++count;
    }
  }
  for (auto& [token, sc] : sums) token_vectors_.emplace(token, sc.first / static_cast<float>(sc.second));
  // Scoring vectors in catalogue order: untrained items that are described get their
  // feature vector here, so the index and exact scoring cover them like any other item.
  vectors_ = FactorMatrix::Zero(num_items_, y.cols());
  has_vector_ = trained_;
  for (uint32_t i = 0; i < num_items_; ++i) {
    if (trained_[i]) {
      vectors_.row(i) = y.row(row_of_[i]);
      continue;
    }
    const Eigen::VectorXf v = i < features.size() ? feature_vector(features[i]) : Eigen::VectorXf();
    if (v.size() == 0) continue;
    vectors_.row(i) = v.transpose();
    has_vector_[i] = true;
  }
  norms_.resize(num_items_);
  std::vector<uint32_t> rows;
  for (uint32_t i = 0; i < num_items_; ++i) {
    norms_[i] = vectors_.row(i).norm();
    if (has_vector_[i]) rows.push_back(i);
  }
  if (rows.size() >= options.ann_min_items) {
    const auto start = std::chrono::steady_clock::now();
    ann_ = std::make_unique<AnnIndex>(vectors_.data(), factors(), rows, options.ann);
    spdlog::info("serve: HNSW index over {} items built in {:.1f} s", rows.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

std::string ServingModel::spec() const { return spec_of(*model_); }

bool ServingModel::knows(const UserHistory& user) const {
  for (uint32_t i : user.items)
    if (row_of(i) != kNoIndex) return true;
  return !ials_ && user.attributes && !user.attributes->empty() && model_->knows_attributes(*user.attributes);
}

void ServingModel::score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                                      std::span<float> scores, std::vector<float>* scratch,
                                      std::span<float> described_scores) const {
  NUDGE_CHECK(scores.size() == num_items_ && user.items.size() == user.weights.size(), "serve: score_history spans");
  const UserHistory rows = to_rows(user);
  if (identity_rows_) {
    model_->score_history_with(rows, described, scores, described_scores);
    return;
  }
  scratch->resize(model_->num_items());
  model_->score_history_with(rows, described, *scratch, described_scores);
  std::fill(scores.begin(), scores.end(), std::numeric_limits<float>::quiet_NaN());
  for (uint32_t r = 0; r < item_of_row_.size(); ++r) scores[item_of_row_[r]] = (*scratch)[r];
}

std::vector<ScoredItem> ServingModel::history_drivers(const UserHistory& user) const {
  std::vector<ScoredItem> drivers = model_->history_drivers(to_rows(user));
  for (ScoredItem& d : drivers) d.item = item_of_row_[d.item];
  return drivers;
}

Status ServingModel::similar(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  const uint32_t r = row_of(item);
  if (r == kNoIndex) return Status::not_found("the model has no row for this item");
  NUDGE_RETURN_IF_ERROR(model_->similar_items(r, k, out));
  for (ScoredItem& s : *out) s.item = item_of_row_[s.item];
  return Status::ok();
}

Eigen::VectorXf ServingModel::fold_in(std::span<const uint32_t> items, std::span<const float> weights) const {
  NUDGE_CHECK(ials_ != nullptr, "serve: fold_in needs a factor model");
  std::vector<uint32_t> known;
  std::vector<float> w;
  known.reserve(items.size());
  w.reserve(items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    if (!trained(items[k])) continue;
    known.push_back(row_of_[items[k]]);
    w.push_back(weights[k]);
  }
  return ials_->fold_in(known, w);
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
