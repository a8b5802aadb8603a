#include "nudge/id_map.h"

#include "nudge/check.h"

namespace nudge {

IdMap::IdMap(const IdMap& other) {
  index_.reserve(other.ids_.size());
  for (const auto& id : other.ids_) intern(id);
}

IdMap& IdMap::operator=(const IdMap& other) {
  if (this != &other) {
    IdMap copy(other);
    *this = std::move(copy);
  }
  return *this;
}

uint32_t IdMap::intern(std::string_view id) {
  if (auto it = index_.find(id); it != index_.end()) return it->second;
  NUDGE_CHECK(ids_.size() < kNoIndex, "IdMap is full (2^32-1 IDs)");
  const auto index = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back(id);
  index_.emplace(ids_.back(), index);
  return index;
}

std::optional<uint32_t> IdMap::find(std::string_view id) const {
  if (auto it = index_.find(id); it != index_.end()) return it->second;
  return std::nullopt;
}

const std::string& IdMap::id_of(uint32_t index) const {
  NUDGE_CHECK(index < ids_.size(), "IdMap::id_of: index " + std::to_string(index) + " out of range");
  return ids_[index];
}

IdMap IdMap::subset(const std::vector<bool>& keep, std::vector<uint32_t>* old_to_new) const {
  NUDGE_CHECK(keep.size() == ids_.size(), "IdMap::subset: keep mask has the wrong size");
  IdMap out;
  if (old_to_new) old_to_new->assign(ids_.size(), kNoIndex);
  for (uint32_t i = 0; i < ids_.size(); ++i) {
    if (!keep[i]) continue;
    const uint32_t n = out.intern(ids_[i]);
    if (old_to_new) (*old_to_new)[i] = n;
  }
  return out;
}

}  // namespace nudge
