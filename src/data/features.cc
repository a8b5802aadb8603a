#include "nudge/features.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nudge {

std::string_view feature_kind_name(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::kCategorical: return "cat";
    case FeatureKind::kMultiCategorical: return "multi";
    case FeatureKind::kNumeric: return "num";
  }
  return "?";
}

Result<uint32_t> FeatureTable::add_field(std::string_view name, FeatureKind kind) {
  if (name.empty()) return Status::invalid_argument("feature field name is empty");
  if (auto f = find_field(name)) {
    if (fields_[*f].kind != kind) {
      return Status::invalid_argument("feature field '" + std::string(name) + "' is already " +
                                      std::string(feature_kind_name(fields_[*f].kind)) + ", not " +
                                      std::string(feature_kind_name(kind)));
    }
    return *f;
  }
  fields_.push_back({std::string(name), kind});
  numeric_.emplace_back();
  if (kind == FeatureKind::kNumeric) numeric_.back().assign(tokens_.size(), std::numeric_limits<float>::quiet_NaN());
  return static_cast<uint32_t>(fields_.size() - 1);
}

std::optional<uint32_t> FeatureTable::find_field(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<uint32_t>(i);
  }
  return std::nullopt;
}

void FeatureTable::resize(uint32_t n) {
  if (n <= tokens_.size()) return;
  tokens_.resize(n);
  for (size_t f = 0; f < fields_.size(); ++f) {
    if (fields_[f].kind == FeatureKind::kNumeric) numeric_[f].resize(n, std::numeric_limits<float>::quiet_NaN());
  }
}

uint32_t FeatureTable::token_for(uint32_t field, std::string_view value) {
  std::string key = fields_[field].name;
  key += '=';
  key += value;
  const uint32_t before = vocabulary_.size();
  const uint32_t token = vocabulary_.intern(key);
  if (token == before) token_fields_.push_back(field);
  return token;
}

void FeatureTable::clear_field(uint32_t entity, uint32_t field) {
  NUDGE_CHECK(field < fields_.size(), "FeatureTable: unknown field index");
  if (entity >= tokens_.size()) return;
  if (fields_[field].kind == FeatureKind::kNumeric) {
    numeric_[field][entity] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  auto& t = tokens_[entity];
  std::erase_if(t, [&](uint32_t tok) { return token_fields_[tok] == field; });
}

void FeatureTable::set_categorical(uint32_t entity, uint32_t field, std::string_view value) {
  NUDGE_CHECK(field < fields_.size() && fields_[field].kind == FeatureKind::kCategorical,
              "FeatureTable::set_categorical: field is not categorical");
  resize(entity + 1);
  clear_field(entity, field);
  tokens_[entity].push_back(token_for(field, value));
}

void FeatureTable::add_value(uint32_t entity, uint32_t field, std::string_view value) {
  NUDGE_CHECK(field < fields_.size() && fields_[field].kind == FeatureKind::kMultiCategorical,
              "FeatureTable::add_value: field is not multi-categorical");
  resize(entity + 1);
  const uint32_t tok = token_for(field, value);
  auto& t = tokens_[entity];
  if (std::find(t.begin(), t.end(), tok) == t.end()) t.push_back(tok);
}

void FeatureTable::set_numeric(uint32_t entity, uint32_t field, float value) {
  NUDGE_CHECK(field < fields_.size() && fields_[field].kind == FeatureKind::kNumeric,
              "FeatureTable::set_numeric: field is not numeric");
  resize(entity + 1);
  numeric_[field][entity] = value;
}

std::span<const uint32_t> FeatureTable::tokens(uint32_t entity) const {
  if (entity >= tokens_.size()) return {};
  return tokens_[entity];
}

float FeatureTable::numeric(uint32_t entity, uint32_t field) const {
  NUDGE_CHECK(field < fields_.size() && fields_[field].kind == FeatureKind::kNumeric,
              "FeatureTable::numeric: field is not numeric");
  if (entity >= numeric_[field].size()) return std::numeric_limits<float>::quiet_NaN();
  return numeric_[field][entity];
}

std::string_view FeatureTable::token_value(uint32_t token) const {
  const std::string& s = vocabulary_.id_of(token);
  return std::string_view(s).substr(fields_[token_fields_[token]].name.size() + 1);
}

FeatureTable FeatureTable::subset(const std::vector<bool>& keep) const {
  FeatureTable out;
  out.fields_ = fields_;
  out.vocabulary_ = vocabulary_;
  out.token_fields_ = token_fields_;
  out.numeric_.resize(fields_.size());
  for (uint32_t e = 0; e < keep.size(); ++e) {
    if (!keep[e]) continue;
    out.tokens_.push_back(e < tokens_.size() ? tokens_[e] : std::vector<uint32_t>{});
    for (size_t f = 0; f < fields_.size(); ++f) {
      if (fields_[f].kind == FeatureKind::kNumeric) out.numeric_[f].push_back(numeric(e, static_cast<uint32_t>(f)));
    }
  }
  return out;
}

}  // namespace nudge
