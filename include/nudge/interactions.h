// Interactions: the event log as parallel arrays (structure of arrays).
//
// One row per event: dense user and item indices, event type, value (a rating, a count, or 1)
// and timestamp in seconds since the Unix epoch (0 when the source had none). 21 bytes a row,
// so 20M events take ~420 MB. Row order is the order events were read, which breaks timestamp
// ties. Thread-safety: a plain value; const access may be concurrent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nudge/event_types.h"

namespace nudge {

struct Interactions {
  std::vector<uint32_t> users;
  std::vector<uint32_t> items;
  std::vector<EventType> types;
  std::vector<float> values;
  std::vector<int64_t> timestamps;

  size_t size() const { return users.size(); }
  bool empty() const { return users.empty(); }
  void reserve(size_t n);
  void shrink_to_fit();
  void push_back(uint32_t user, uint32_t item, EventType type, float value, int64_t timestamp) {
    users.push_back(user);
    items.push_back(item);
    types.push_back(type);
    values.push_back(value);
    timestamps.push_back(timestamp);
  }
  // The rows listed (in that order).
  Interactions select(std::span<const uint32_t> rows) const;
  // Keeps rows with keep[row], in order; returns how many were dropped.
  size_t filter(const std::vector<bool>& keep);
};

// Each user's items in time order, ties in row order (when timestamps tie, the order in the
// data is the only order there is): user u's are items[offsets[u] .. offsets[u + 1]). What
// the sequence models read.
struct UserSequences {
  std::vector<uint64_t> offsets;  // num_users + 1
  std::vector<uint32_t> items;
  std::span<const uint32_t> of(uint32_t user) const {
    return std::span<const uint32_t>(items).subspan(offsets[user], offsets[user + 1] - offsets[user]);
  }
};
UserSequences user_sequences(const Interactions& in, uint32_t num_users);

}  // namespace nudge
