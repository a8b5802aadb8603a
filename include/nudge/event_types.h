// EventTypes: the kinds of interaction (view, click, cart, purchase, rating, ...) and the
// weight each contributes to implicit-feedback models.
//
// An interaction's implicit weight is weight(type) * value: a purchase counts 8 views by
// default, and a "rating" event keeps its rating as the value. Types beyond the defaults are
// added as they are seen (weight 1) or configured with parse_weights("view=1,share=3").
// Thread-safety: const methods may run concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/status.h"

namespace nudge {

using EventType = uint8_t;

class EventTypes {
 public:
  static constexpr size_t kMaxTypes = 255;
  // Defaults: view=1 click=2 like=3 cart=4 purchase=8 rating=1.
  EventTypes();

  // Index of `name`, adding it with weight 1 when new. Fails when kMaxTypes are in use.
  Result<EventType> intern(std::string_view name);
  std::optional<EventType> find(std::string_view name) const;
  const std::string& name(EventType type) const;
  float weight(EventType type) const { return weights_[type]; }
  // Sets (or adds) a type's weight; weight must be finite and >= 0.
  Status set_weight(std::string_view name, float weight);
  // Applies "name=weight,name=weight"; errors name the bad entry.
  Status parse_weights(std::string_view spec);
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::vector<float> weights_;
};

}  // namespace nudge
