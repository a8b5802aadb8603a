// User attributes as feature-aware models read them.
//
// PUT /v1/users/{id} stores any JSON object. Its top-level fields become features:
//   "country": "fr"            ->  value  country=fr
//   "premium": true            ->  value  premium=true
//   "interests": ["a", "b"]    ->  values interests=a, interests=b (strings, booleans, numbers)
//   "age": 31                  ->  number age=31 (finite numbers only)
// Nested objects, null and non-finite numbers are ignored. The two-tower model learns these
// as user feature tokens at retrain and builds a served user's tower from them.
#pragma once

#include <string_view>
#include <vector>

#include "nudge/features.h"
#include "nudge/recommender.h"

namespace nudge::serve {

// The features of an attributes object; empty when the text is not a JSON object.
FeatureDescription describe_user(std::string_view attributes_json);

// A feature table for training (row u describes user u): value fields are multi-valued
// categorical, number fields numeric. A field seen with both kinds keeps the first kind met;
// values of the other kind are left out.
FeatureTable user_feature_table(const std::vector<FeatureDescription>& users);

}  // namespace nudge::serve
