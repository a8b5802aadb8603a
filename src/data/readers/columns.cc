#include "columns.h"

#include <algorithm>
#include <cctype>

namespace nudge {

const std::array<std::vector<std::string_view>, kNumRoles>& role_aliases() {
  static const std::array<std::vector<std::string_view>, kNumRoles> kAliases = {{
      {"user_id", "userid", "user", "uid", "visitorid", "customer_id", "customerid"},
      {"item_id", "itemid", "item", "iid", "movieid", "product_id", "productid", "sku", "article_id"},
      {"value", "rating", "score", "weight", "count", "plays"},
      {"timestamp", "time", "ts", "datetime", "date", "event_time", "created_at"},
      {"type", "event", "event_type", "action"},
  }};
  return kAliases;
}

Role role_of_alias(std::string_view lowered_name) {
  const auto& aliases = role_aliases();
  for (int r = 0; r < kNumRoles; ++r) {
    if (std::find(aliases[r].begin(), aliases[r].end(), lowered_name) != aliases[r].end()) return static_cast<Role>(r);
  }
  return kNumRoles;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_position(std::string_view spec) {
  return !spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::array<std::string, kNumRoles> specs_of(const ColumnMapping& m) {
  return {m.user, m.item, m.value, m.timestamp, m.type};
}

Result<EventType> default_type_for(const ReadOptions& options, bool has_value, Catalog& catalog) {
  std::string name = options.default_type;
  if (name.empty()) name = has_value ? "rating" : "view";
  return catalog.event_types.intern(name);
}

}  // namespace nudge
