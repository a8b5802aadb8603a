#include "nudge/serve/user_attributes.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "nudge/input_limits.h"

namespace nudge::serve {
namespace {

using nlohmann::json;

// A scalar as a categorical value ("true", "fr", "3"); nullopt for anything else.
std::optional<std::string> value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  return std::nullopt;
}

}  // namespace

FeatureDescription describe_user(std::string_view attributes_json) {
  FeatureDescription out;
  if (json_text_problem(attributes_json)) return out;  // refused at the door; a store from before is read safely
  const json doc = json::parse(attributes_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return out;
  for (const auto& [field, v] : doc.items()) {
    if (v.is_number()) {
      const auto x = static_cast<float>(v.get<double>());  // 1e39 is finite as a double, not as a float
      if (std::isfinite(x)) out.numbers.emplace_back(field, x);
    } else if (v.is_array()) {
      for (const json& e : v)
        if (auto text = value_text(e)) out.values.emplace_back(field, std::move(*text));
    } else if (auto text = value_text(v)) {
      out.values.emplace_back(field, std::move(*text));
    }
  }
  return out;
}

FeatureTable user_feature_table(const std::vector<FeatureDescription>& users) {
  FeatureTable t;
  t.resize(static_cast<uint32_t>(users.size()));
  // name -> field index; nullopt when the table refused the field
  std::unordered_map<std::string, std::optional<uint32_t>> fields;
  auto field_of = [&](const std::string& name, FeatureKind kind) -> std::optional<uint32_t> {
    auto it = fields.find(name);
    if (it != fields.end()) {
      if (it->second && t.fields()[*it->second].kind != kind) return std::nullopt;
      return it->second;
    }
    auto added = t.add_field(name, kind);
    return fields[name] = added.is_ok() ? std::optional<uint32_t>(added.value()) : std::nullopt;
  };
  for (uint32_t u = 0; u < users.size(); ++u) {
    for (const auto& [name, value] : users[u].values)
      if (auto f = field_of(name, FeatureKind::kMultiCategorical)) t.add_value(u, *f, value);
    for (const auto& [name, x] : users[u].numbers)
      if (auto f = field_of(name, FeatureKind::kNumeric)) t.set_numeric(u, *f, x);
  }
  return t;
}

}  // namespace nudge::serve
