// IdMap: external string IDs <-> dense 32-bit indices.
//
// Users and items arrive with arbitrary string IDs ("u_123", "B00X4WHP5E"); every model
// works on dense indices 0..size()-1 assigned in order of first appearance. Lookups by
// string_view do not allocate. Thread-safety: const methods may run concurrently; intern()
// needs exclusive access.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nudge {

inline constexpr uint32_t kNoIndex = UINT32_MAX;

class IdMap {
 public:
  IdMap() = default;
  IdMap(const IdMap& other);
  IdMap& operator=(const IdMap& other);
  IdMap(IdMap&&) noexcept = default;
  IdMap& operator=(IdMap&&) noexcept = default;

  // Returns the index of `id`, assigning the next free one when it is new.
  uint32_t intern(std::string_view id);
  // Index of `id`, or nullopt when unknown.
  std::optional<uint32_t> find(std::string_view id) const;
  // External ID of `index`; index must be < size() (NUDGE_CHECK).
  const std::string& id_of(uint32_t index) const;
  uint32_t size() const { return static_cast<uint32_t>(ids_.size()); }

  // A map holding only the indices with keep[i] true, renumbered densely in the same order.
  // old_to_new[i] is the new index, or kNoIndex for a dropped one.
  IdMap subset(const std::vector<bool>& keep, std::vector<uint32_t>* old_to_new) const;

 private:
  // deque: growing it never moves existing strings, so the string_view keys stay valid.
  std::deque<std::string> ids_;
  std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace nudge
