// What the interaction readers share about columns: the roles, their usual names, and the
// default event type. Internal to the readers.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/readers.h"

namespace nudge {

enum Role { kUser, kItem, kValue, kTimestamp, kType, kNumRoles };
inline constexpr std::array<std::string_view, kNumRoles> kRoleNames = {"user", "item", "value", "timestamp", "type"};

// Usual column (or key) names for each role, matched case-insensitively.
const std::array<std::vector<std::string_view>, kNumRoles>& role_aliases();
// The role whose alias `lowered_name` is, or kNumRoles.
Role role_of_alias(std::string_view lowered_name);

std::string lower(std::string_view s);
// "3": a 1-based column position, not a name.
bool is_position(std::string_view spec);
std::array<std::string, kNumRoles> specs_of(const ColumnMapping& m);
// The options' default type, else "rating" when rows carry a value and "view" otherwise.
Result<EventType> default_type_for(const ReadOptions& options, bool has_value, Catalog& catalog);

}  // namespace nudge
