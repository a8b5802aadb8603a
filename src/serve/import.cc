#include "nudge/serve/import.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace nudge::serve {

std::vector<ItemRecord> item_records(const Dataset& data) {
  const FeatureTable& f = data.catalog().item_features;
  std::vector<ItemRecord> out(data.num_items());
  const auto price = f.find_field("price");
  for (uint32_t i = 0; i < data.num_items(); ++i) {
    ItemRecord& r = out[i];
    r.id = data.catalog().items.id_of(i);
    for (uint32_t token : f.tokens(i)) {
      if (f.fields()[f.token_field(token)].name == "category") r.category = std::string(f.token_value(token));
      else r.tags.emplace_back(f.token_value(token));
    }
    if (price) r.price = f.numeric(i, *price);
  }
  return out;
}

std::vector<UserRecord> user_records(const Dataset& data) {
  const FeatureTable& f = data.catalog().user_features;
  std::vector<UserRecord> out;
  if (f.empty()) return out;
  for (uint32_t u = 0; u < data.num_users(); ++u) {
    nlohmann::json attributes = nlohmann::json::object();
    for (uint32_t token : f.tokens(u)) {
      const FeatureField& field = f.fields()[f.token_field(token)];
      const std::string value(f.token_value(token));
      if (field.kind == FeatureKind::kMultiCategorical) attributes[field.name].push_back(value);
      else attributes[field.name] = value;
    }
    for (uint32_t k = 0; k < f.fields().size(); ++k) {
      if (f.fields()[k].kind != FeatureKind::kNumeric) continue;
      if (const float x = f.numeric(u, k); !std::isnan(x)) attributes[f.fields()[k].name] = x;
    }
    if (attributes.empty()) continue;
    out.push_back({std::string(data.catalog().users.id_of(u)),
                   attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  }
  return out;
}

Status import_dataset(Engine& engine, const Dataset& data, size_t batch_size) {
  const auto hold = engine.hold_retrains();
  if (!data.catalog().item_features.empty())
    for (auto& record : item_records(data)) NUDGE_RETURN_IF_ERROR(engine.put_item(std::move(record)));
  for (auto& record : user_records(data)) NUDGE_RETURN_IF_ERROR(engine.put_user(std::move(record)));
  const Interactions& x = data.interactions();
  const Catalog& c = data.catalog();
  for (size_t begin = 0; begin < x.size(); begin += batch_size) {
    std::vector<Event> batch;
    for (size_t r = begin; r < std::min(x.size(), begin + batch_size); ++r)
      batch.push_back({c.users.id_of(x.users[r]), c.items.id_of(x.items[r]), c.event_types.name(x.types[r]),
                       x.values[r], x.timestamps[r]});
    NUDGE_RETURN_IF_ERROR(engine.ingest(std::move(batch)));
  }
  return engine.flush_store();
}

}  // namespace nudge::serve
