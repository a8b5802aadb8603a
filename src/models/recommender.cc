#include "nudge/recommender.h"

#include <algorithm>
#include <cmath>

namespace nudge {

Status Recommender::similar_items(uint32_t, size_t, std::vector<ScoredItem>*) const {
  return Status::unsupported(std::string(name()) + " has no notion of item similarity");
}

bool Recommender::score_history_with(const UserHistory& user, std::span<const FeatureDescription>,
                                     std::span<float> scores, std::span<float>) const {
  score_history(user.items, user.weights, scores);
  return false;
}

void Recommender::score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const {
  NUDGE_CHECK(items.size() == out.size(), std::string(name()) + ": items and out differ in length");
  std::vector<float> all(num_items_);
  score_user(user, all);
  for (size_t k = 0; k < items.size(); ++k) {
    NUDGE_CHECK(items[k] < num_items_, std::string(name()) + ": item index out of range");
    out[k] = all[items[k]];
  }
}

void Recommender::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  for (size_t r = 0; r < users.size(); ++r) score_user(users[r], scores.subspan(r * num_items_, num_items_));
}

void Recommender::check_users_call(std::span<const uint32_t> users, std::span<float> scores) const {
  NUDGE_CHECK(scores.size() == users.size() * num_items_,
              std::string(name()) + ": scores span must have users x num_items entries");
  for (uint32_t u : users)
    NUDGE_CHECK(u < num_users_, std::string(name()) + ": user index " + std::to_string(u) + " out of range");
}

void Recommender::check_user_call(uint32_t user, std::span<float> scores) const {
  NUDGE_CHECK(user < num_users_, std::string(name()) + ": user index " + std::to_string(user) + " out of range");
  NUDGE_CHECK(scores.size() == num_items_, std::string(name()) + ": scores span must have num_items entries");
}

void Recommender::check_history_call(std::span<const uint32_t> items, std::span<const float> weights,
                                     std::span<float> scores) const {
  NUDGE_CHECK(items.size() == weights.size(), std::string(name()) + ": history items and weights differ in length");
  NUDGE_CHECK(scores.size() == num_items_, std::string(name()) + ": scores span must have num_items entries");
  for (uint32_t i : items) NUDGE_CHECK(i < num_items_, std::string(name()) + ": history item out of range");
}

void recommend_for_user(const Recommender& model, uint32_t user, size_t k, std::span<const uint32_t> exclude_sorted,
                        std::vector<float>* scratch, std::vector<ScoredItem>* out) {
  scratch->resize(model.num_items());
  model.score_user(user, *scratch);
  top_k(*scratch, k, exclude_sorted, out);
}

size_t score_block_users(uint32_t num_items) {
  constexpr size_t kBudget = size_t{4} << 20;  // floats: 16 MB
  return std::clamp<size_t>(kBudget / std::max<uint32_t>(num_items, 1), 1, kScoreBlockUsers);
}

void rank_users(const Recommender& model, std::span<const uint32_t> users, size_t k, const CsrMatrix* exclude,
                RankScratch* scratch, const RankedUserVisitor& visit) {
  const size_t n = model.num_items(), rows = score_block_users(model.num_items());
  scratch->scores.resize(std::min(users.size(), rows) * n);
  for (size_t begin = 0; begin < users.size(); begin += rows) {
    const auto block = users.subspan(begin, std::min(rows, users.size() - begin));
    const std::span<float> scores(scratch->scores.data(), block.size() * n);
    model.score_users(block, scores);
    for (size_t r = 0; r < block.size(); ++r) {
      const auto row = scores.subspan(r * n, n);
      top_k(row, k, exclude ? exclude->row_indices(block[r]) : std::span<const uint32_t>(), &scratch->top);
      visit(begin + r, row, scratch->top);
    }
  }
}

void cosine_neighbours(const float* v, uint32_t num_items, uint32_t dim, uint32_t item, size_t k,
                       std::vector<ScoredItem>* out) {
  std::vector<float> scores(num_items);
  auto norm = [&](uint32_t i) {
    double s = 0;
    for (uint32_t d = 0; d < dim; ++d) s += static_cast<double>(v[size_t{i} * dim + d]) * v[size_t{i} * dim + d];
    return std::sqrt(s);
  };
  const double ni = norm(item);
  for (uint32_t j = 0; j < num_items; ++j) {
    double dot = 0;
    for (uint32_t d = 0; d < dim; ++d) dot += static_cast<double>(v[size_t{item} * dim + d]) * v[size_t{j} * dim + d];
    const double nj = norm(j);
    scores[j] = (ni > 0 && nj > 0) ? static_cast<float>(dot / (ni * nj)) : 0.f;
  }
  const uint32_t self[] = {item};
  top_k(scores, k, self, out);
}

}  // namespace nudge
