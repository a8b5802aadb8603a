#include "nudge/dataset.h"

namespace nudge {

Dataset::Dataset() : Dataset(std::make_shared<Catalog>(), Interactions{}) {}

Dataset::Dataset(std::shared_ptr<const Catalog> catalog, Interactions interactions)
    : catalog_(std::move(catalog)),
      interactions_(std::make_shared<const Interactions>(std::move(interactions))),
      views_(std::make_shared<Views>()) {
  NUDGE_CHECK(catalog_ != nullptr, "Dataset: null catalog");
  const auto& in = *interactions_;
  NUDGE_CHECK(in.items.size() == in.size() && in.types.size() == in.size() && in.values.size() == in.size() &&
                  in.timestamps.size() == in.size(),
              "Dataset: interaction columns have different lengths");
  for (size_t r = 0; r < in.size(); ++r) {
    NUDGE_CHECK(in.users[r] < num_users() && in.items[r] < num_items() && in.types[r] < catalog_->event_types.size(),
                "Dataset: interaction row " + std::to_string(r) + " refers to an unknown user, item or type");
  }
}

void Dataset::build_views() const {
  std::call_once(views_->once, [this] {
    const auto& in = *interactions_;
    std::vector<float> w(in.size());
    for (size_t r = 0; r < in.size(); ++r) w[r] = weight(r);
    views_->user_items = CsrMatrix::from_coo(num_users(), num_items(), in.users, in.items, w);
    views_->item_users = views_->user_items.transpose();
  });
}

const CsrMatrix& Dataset::user_items() const {
  build_views();
  return views_->user_items;
}

const CsrMatrix& Dataset::item_users() const {
  build_views();
  return views_->item_users;
}

Dataset Dataset::with_interactions(Interactions interactions) const {
  return Dataset(catalog_, std::move(interactions));
}

DatasetBuilder::DatasetBuilder() : catalog_(std::make_shared<Catalog>()) {}

Dataset DatasetBuilder::build() {
  catalog_->user_features.resize(catalog_->users.size());
  catalog_->item_features.resize(catalog_->items.size());
  interactions_.shrink_to_fit();
  Dataset d(std::move(catalog_), std::move(interactions_));
  catalog_ = std::make_shared<Catalog>();
  interactions_ = Interactions{};
  return d;
}

}  // namespace nudge
