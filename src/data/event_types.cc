#include "nudge/event_types.h"

#include <cmath>

#include "common/text.h"

namespace nudge {

EventTypes::EventTypes() {
  for (auto [name, w] :
       {std::pair{"view", 1.f}, {"click", 2.f}, {"like", 3.f}, {"cart", 4.f}, {"purchase", 8.f}, {"rating", 1.f}}) {
    names_.emplace_back(name);
    weights_.push_back(w);
  }
}

Result<EventType> EventTypes::intern(std::string_view name) {
  if (auto t = find(name)) return *t;
  if (names_.size() >= kMaxTypes) {
    return Status::invalid_argument("too many event types (at most 255): cannot add '" + std::string(name) + "'");
  }
  names_.emplace_back(name);
  weights_.push_back(1.f);
  return static_cast<EventType>(names_.size() - 1);
}

std::optional<EventType> EventTypes::find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

const std::string& EventTypes::name(EventType type) const {
  NUDGE_CHECK(type < names_.size(), "EventTypes::name: unknown type index");
  return names_[type];
}

Status EventTypes::set_weight(std::string_view name, float weight) {
  if (!std::isfinite(weight) || weight < 0.f) {
    return Status::invalid_argument("event weight for '" + std::string(name) + "' must be a finite number >= 0");
  }
  NUDGE_ASSIGN_OR_RETURN(EventType t, intern(name));
  weights_[t] = weight;
  return Status::ok();
}

Status EventTypes::parse_weights(std::string_view spec) {
  for (std::string_view entry : split_view(spec, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::invalid_argument("event weights: expected name=weight, got '" + std::string(entry) + "'");
    }
    auto w = parse_double(trim(entry.substr(eq + 1)));
    if (!w) {
      return Status::invalid_argument("event weights: weight of '" + std::string(entry.substr(0, eq)) +
                                      "' is not a number: '" + std::string(entry.substr(eq + 1)) + "'");
    }
    NUDGE_RETURN_IF_ERROR(set_weight(trim(entry.substr(0, eq)), static_cast<float>(*w)));
  }
  return Status::ok();
}

}  // namespace nudge
