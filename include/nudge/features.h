// FeatureTable: side information about users or items (category, tags, price, ...).
//
// A table has named fields of three kinds:
//   categorical        one value per entity   ("category=shoes")
//   multi-categorical  any number of values   ("tag=red", "tag=sale")
//   numeric            one float per entity   (price; NaN when missing)
// Categorical values become tokens "field=value" in one vocabulary, so models see a sparse
// set of token indices per entity plus the numeric columns. Entities are dense indices shared
// with the IdMap of users or items. Thread-safety: const methods may run concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/id_map.h"
#include "nudge/status.h"

namespace nudge {

enum class FeatureKind : uint8_t { kCategorical, kMultiCategorical, kNumeric };

std::string_view feature_kind_name(FeatureKind kind);  // "cat", "multi", "num"

struct FeatureField {
  std::string name;
  FeatureKind kind;
};

class FeatureTable {
 public:
  // Adds a field, or returns the existing one; a name reused with another kind is an error.
  Result<uint32_t> add_field(std::string_view name, FeatureKind kind);
  std::optional<uint32_t> find_field(std::string_view name) const;
  const std::vector<FeatureField>& fields() const { return fields_; }

  // Grows the table to at least n entities (new ones have no features).
  void resize(uint32_t n);
  uint32_t num_entities() const { return static_cast<uint32_t>(tokens_.size()); }

  // Setters grow the table as needed. set_categorical replaces the field's previous value;
  // add_value appends to a multi-categorical field (duplicates ignored).
  void set_categorical(uint32_t entity, uint32_t field, std::string_view value);
  void add_value(uint32_t entity, uint32_t field, std::string_view value);
  void set_numeric(uint32_t entity, uint32_t field, float value);
  // Removes every value of the field for this entity (before re-reading it).
  void clear_field(uint32_t entity, uint32_t field);

  // Token indices of an entity (categorical and multi-categorical), in insertion order.
  std::span<const uint32_t> tokens(uint32_t entity) const;
  // NaN when missing or when the entity is beyond the table.
  float numeric(uint32_t entity, uint32_t field) const;
  // "field=value" strings <-> token indices; token_field gives the field of a token.
  const IdMap& vocabulary() const { return vocabulary_; }
  uint32_t token_field(uint32_t token) const { return token_fields_[token]; }
  // The value part of a token ("shoes" of "category=shoes").
  std::string_view token_value(uint32_t token) const;
  bool empty() const { return fields_.empty(); }

  // Keeps the entities with keep[i], renumbered densely (mirrors IdMap::subset).
  FeatureTable subset(const std::vector<bool>& keep) const;

 private:
  uint32_t token_for(uint32_t field, std::string_view value);
  std::vector<FeatureField> fields_;
  IdMap vocabulary_;
  std::vector<uint32_t> token_fields_;
  std::vector<std::vector<uint32_t>> tokens_;  // per entity
  std::vector<std::vector<float>> numeric_;    // per field (empty for categorical fields)
};

}  // namespace nudge
