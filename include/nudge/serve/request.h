// The requests and answers of the serving API, independent of HTTP: what GET /v1/recommend
// and GET /v1/similar ask for (business rules included) and what they return. The HTTP
// layer (http_api.h) parses query strings into these; docs/api.md describes each field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nudge/input_limits.h"  // kMaxIdBytes and the other bounds on IDs and numbers

namespace nudge::serve {

struct Pin {
  std::string item;
  size_t position = 1;  // 1 = first
};

// Adds `weight` to the score of items whose category (field "category") or one of whose tags
// (field "tag") equals `value`.
struct Boost {
  std::string field;
  std::string value;
  float weight = 0.f;
};

struct RecommendRequest {
  std::string user;
  size_t k = 10;
  bool exclude_seen = true;
  std::vector<std::string> exclude;
  std::vector<std::string> categories;  // include only these (any of); empty: all
  std::vector<std::string> tags;        // include only items with one of these tags
  std::optional<float> price_min, price_max;
  std::vector<Pin> pins;
  std::vector<Boost> boosts;
  size_t max_per_category = 0;  // 0: no limit
  float mmr_lambda = 1.f;       // < 1: maximal marginal relevance re-ranking
  bool explain = false;
  size_t arm = 0;  // which served model answers (EngineOptions::arms); 0: the main one
};

struct SimilarRequest {
  std::string item;
  size_t k = 10;
  std::vector<std::string> categories;
  bool explain = false;
};

struct Recommendation {
  std::string item;
  float score = 0.f;
  bool pinned = false;
  std::string reason;                // with explain: "similar_items", "features", "trending", "pinned"
  std::vector<std::string> because;  // with explain: the history items or features behind it
  // With explain, for a fusion: each component's normalised score of this item.
  std::vector<std::pair<std::string, float>> components;
};

struct RecommendResponse {
  std::vector<Recommendation> items;
  std::string source;  // "personal" (the user's vector) or "trending" (cold start)
  uint64_t model_version = 0;
};

inline constexpr size_t kMaxK = 1000;  // largest k (and max_per_category) a request may ask for

}  // namespace nudge::serve
