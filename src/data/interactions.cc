#include "nudge/interactions.h"

#include <algorithm>
#include <numeric>

#include "nudge/check.h"

namespace nudge {

void Interactions::reserve(size_t n) {
  users.reserve(n);
  items.reserve(n);
  types.reserve(n);
  values.reserve(n);
  timestamps.reserve(n);
}

void Interactions::shrink_to_fit() {
  users.shrink_to_fit();
  items.shrink_to_fit();
  types.shrink_to_fit();
  values.shrink_to_fit();
  timestamps.shrink_to_fit();
}

Interactions Interactions::select(std::span<const uint32_t> rows) const {
  Interactions out;
  out.reserve(rows.size());
  for (uint32_t r : rows) {
    NUDGE_CHECK(r < size(), "Interactions::select: row out of range");
    out.push_back(users[r], items[r], types[r], values[r], timestamps[r]);
  }
  return out;
}

size_t Interactions::filter(const std::vector<bool>& keep) {
  NUDGE_CHECK(keep.size() == size(), "Interactions::filter: mask has the wrong size");
  size_t w = 0;
  for (size_t r = 0; r < size(); ++r) {
    if (!keep[r]) continue;
    users[w] = users[r];
    items[w] = items[r];
    types[w] = types[r];
    values[w] = values[r];
    timestamps[w] = timestamps[r];
    ++w;
  }
  const size_t dropped = size() - w;
  users.resize(w);
  items.resize(w);
  types.resize(w);
  values.resize(w);
  timestamps.resize(w);
  return dropped;
}

UserSequences user_sequences(const Interactions& in, uint32_t num_users) {
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return in.users[a] != in.users[b] ? in.users[a] < in.users[b] : in.timestamps[a] < in.timestamps[b];
  });
  UserSequences out;
  out.offsets.assign(size_t{num_users} + 1, 0);
  out.items.reserve(in.size());
  for (size_t k : order) {
    NUDGE_CHECK(in.users[k] < num_users, "user_sequences: a user index out of range");
    out.items.push_back(in.items[k]);
    ++out.offsets[size_t{in.users[k]} + 1];
  }
  for (size_t u = 0; u < num_users; ++u) out.offsets[u + 1] += out.offsets[u];
  return out;
}

}  // namespace nudge
