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

Dataset Dataset::from_user_items(std::shared_ptr<const Catalog> catalog, CsrMatrix user_items, EventType type) {
  NUDGE_CHECK(catalog != nullptr, "Dataset: null catalog");
  NUDGE_CHECK(user_items.num_rows == catalog->users.size() && user_items.num_cols == catalog->items.size() &&
                  user_items.indptr.size() == size_t{user_items.num_rows} + 1 &&
                  user_items.indptr.back() == user_items.nnz() && user_items.values.size() == user_items.nnz(),
              "Dataset::from_user_items: the matrix is not the catalog's users x items");
  NUDGE_CHECK(type < catalog->event_types.size() && catalog->event_types.weight(type) == 1.f,
              "Dataset::from_user_items: the event type must have weight 1");
  Dataset d;
  d.catalog_ = std::move(catalog);
  d.interactions_ = nullptr;
  d.views_->log_type = type;
  d.views_->user_items = std::move(user_items);
  return d;
}

const Interactions& Dataset::interactions() const {
  if (interactions_) return *interactions_;
  std::call_once(views_->log_once, [this] {
    const CsrMatrix& m = views_->user_items;
    Interactions& log = views_->log;
    log.reserve(m.nnz());
    for (uint32_t u = 0; u < m.num_rows; ++u) {
      const auto items = m.row_indices(u);
      const auto values = m.row_values(u);
      for (size_t k = 0; k < items.size(); ++k) log.push_back(u, items[k], views_->log_type, values[k], 0);
    }
  });
  return views_->log;
}

size_t Dataset::num_interactions() const { return interactions_ ? interactions_->size() : views_->user_items.nnz(); }

void Dataset::build_views() const {
  std::call_once(views_->once, [this] {
    if (!interactions_) return;  // given as user_items
    const auto& in = *interactions_;
    std::vector<float> w(in.size());
    for (size_t r = 0; r < in.size(); ++r) w[r] = weight(r);
    views_->user_items = CsrMatrix::from_coo(num_users(), num_items(), in.users, in.items, w);
  });
}

const CsrMatrix& Dataset::user_items() const {
  build_views();
  return views_->user_items;
}

const CsrMatrix& Dataset::item_users() const {
  std::call_once(views_->transpose_once, [this] { views_->item_users = user_items().transpose(); });
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
