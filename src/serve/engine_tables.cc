#include "serve/engine_tables.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "nudge/serve/serving_model.h"
#include "nudge/serve/user_attributes.h"
#include "nudge/top_k.h"

namespace nudge::serve {

uint32_t Catalogue::intern_item(std::string_view id) {
  const uint32_t index = items.intern(id);
  if (index == item_states.size()) {
    item_states.emplace_back();
    item_states.back().record.id = std::string(id);
  }
  return index;
}

UserState* UserTable::intern(std::string_view id) {
  std::unique_lock lock(mutex_);
  const uint32_t index = ids_.intern(id);
  if (index == states_.size()) states_.push_back(std::make_unique<UserState>());
  return states_[index].get();
}

void UserTable::intern(const std::vector<Event>& events, std::vector<uint32_t>* indices,
                       std::vector<UserState*>* states) {
  indices->resize(events.size());
  states->resize(events.size());
  std::unique_lock lock(mutex_);
  for (size_t k = 0; k < events.size(); ++k) {
    const uint32_t index = (*indices)[k] = ids_.intern(events[k].user);
    if (index == states_.size()) states_.push_back(std::make_unique<UserState>());
    (*states)[k] = states_[index].get();
  }
}

UserState* UserTable::find(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto index = ids_.find(id);
  return index ? states_[*index].get() : nullptr;
}

size_t UserTable::size() const {
  std::shared_lock lock(mutex_);
  return ids_.size();
}

IdMap UserTable::ids(std::vector<FeatureDescription>* attributes) const {
  std::shared_lock lock(mutex_);
  if (attributes) {
    attributes->clear();
    attributes->reserve(states_.size());
    for (const auto& state : states_) attributes->push_back(*state->read()->description);
  }
  return ids_;
}

void UserData::remember(const PastEvent& e) {
  if (events.size() == kPastEvents) events.erase(events.begin());
  events.push_back(e);
}

void UserData::add(uint32_t item, float weight) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  const size_t at = static_cast<size_t>(it - items.begin());
  if (it == items.end() || *it != item) {
    items.insert(it, item);
    weights.insert(weights.begin() + static_cast<std::ptrdiff_t>(at), 0.f);
  }
  weights[at] += weight;
  for (Folded& f : folded) f.version = 0;
  if (weight <= 0) return;
  // Move (or push) the item to the front, dropping the oldest beyond the cap.
  auto seen = std::find(recent.begin(), recent.end(), item);
  if (seen == recent.end()) {
    if (recent.size() < kRecentItems) recent.push_back(item);
    seen = recent.end() - 1;
  }
  std::rotate(recent.begin(), seen, seen + 1);
  recent.front() = item;  // when full, the oldest was rotated to the front: replaced
}

void UserData::set_attributes(std::string json) {
  description = std::make_shared<const FeatureDescription>(describe_user(json));
  attributes = std::move(json);
}

void TrainingLog::append(const std::vector<Event>& events, const std::vector<uint32_t>& users,
                         const std::vector<uint32_t>& items, const std::vector<EventType>& types) {
  std::lock_guard lock(mutex_);
  for (size_t k = 0; k < events.size(); ++k)
    log_.push_back(users[k], items[k], types[k], events[k].value, events[k].timestamp);
}

Interactions TrainingLog::copy() const {
  std::lock_guard lock(mutex_);
  return log_;
}

size_t TrainingLog::size() const {
  std::lock_guard lock(mutex_);
  return log_.size();
}

void Catalogue::set_record(uint32_t item, ItemRecord record) {
  auto drop = [item](std::unordered_map<std::string, std::vector<uint32_t>>& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), item), list.end());
    if (list.empty()) index.erase(it);
  };
  auto add = [item](std::unordered_map<std::string, std::vector<uint32_t>>& index, const std::string& key) {
    auto& list = index[key];
    auto at = std::lower_bound(list.begin(), list.end(), item);
    if (at == list.end() || *at != item) list.insert(at, item);
  };
  ItemRecord& r = item_states[item].record;
  if (!r.category.empty()) drop(items_by_category, r.category);
  for (const auto& tag : r.tags) drop(items_by_tag, tag);
  auto hidden_at = std::lower_bound(hidden_items.begin(), hidden_items.end(), item);
  const bool listed = hidden_at != hidden_items.end() && *hidden_at == item;
  if (record.hidden && !listed) hidden_items.insert(hidden_at, item);
  if (!record.hidden && listed) hidden_items.erase(hidden_at);
  r = std::move(record);
  if (!r.category.empty()) add(items_by_category, r.category);
  for (const auto& tag : r.tags) add(items_by_tag, tag);
}

void Catalogue::refresh_cold(uint32_t item, size_t arm, const ServingModel* m) {
  ItemState& s = item_states[item];
  ColdView& view = cold[arm];
  // Described after the model was built: the factor path's mean feature vector, or the
  // history path model's own feature view.
  const bool factor_cold = m && m->factor_model() && !m->has_vector(item);
  Eigen::VectorXf vector = factor_cold ? m->feature_vector(s.record) : Eigen::VectorXf();
  const bool described =
      m && m->describes_new_items() && m->row_of(item) == kNoIndex && describe_item(s.record, &s.description);
  const bool is_cold = vector.size() > 0 || described;
  if (is_cold) view[item] = std::move(vector);
  else view.erase(item);
}

std::shared_ptr<const TrendingRanking> Catalogue::trending_ranking() const {
  std::lock_guard lock(trending_mutex_);
  const auto now = std::chrono::steady_clock::now();
  const uint64_t updates = trend_updates.load();
  if (trending_ &&
      (trending_->updates == updates || now - trending_->built < std::chrono::duration<double>(trending_refresh_s)))
    return trending_;
  auto ranking = std::make_shared<TrendingRanking>();
  ranking->built = now;
  ranking->updates = updates;
  // Log decayed counts relative to the top item: a shared offset keeps the order and keeps
  // the floats in range.
  double top = -std::numeric_limits<double>::infinity();
  for (const auto& st : item_states) top = std::max(top, st.log_trend);
  for (uint32_t i = 0; i < item_states.size(); ++i)
    if (!std::isinf(item_states[i].log_trend))
      ranking->order.push_back({i, static_cast<float>(item_states[i].log_trend - top)});
  sort_best_first(&ranking->order);
  trending_ = ranking;
  return trending_;
}

}  // namespace nudge::serve
