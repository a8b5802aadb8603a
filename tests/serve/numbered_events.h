// Events made for store tests: event k is item "i<k>" of user "u<k % users>", timestamp k + 1,
// so every event is distinct and a list of them can be compared whole.
#pragma once

#include <string>
#include <vector>

#include "serve/event_store.h"

namespace nudge::testing {

inline std::vector<serve::Event> numbered_events(size_t first, size_t n, size_t users = 37) {
  std::vector<serve::Event> out;
  for (size_t k = first; k < first + n; ++k)
    out.push_back({"u" + std::to_string(k % users), "i" + std::to_string(k), "view", 1.f, static_cast<int64_t>(k + 1)});
  return out;
}

}  // namespace nudge::testing
