// Dataset: users, items, their features and the interaction log, plus cached sparse views.
//
// A Dataset is immutable. The Catalog (ID maps, event types, features) is shared by pointer,
// so the train/validation/test parts of a split index users and items identically and cost
// nothing to copy. The user->items (CSR) and item->users (CSC) views are built on first use,
// each once, and shared by all copies. Their values are implicit weights: the sum over a pair's
// events of event_weight(type) * value.
//
// Thread-safety: all methods are const and safe to call concurrently (views use call_once).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "nudge/csr.h"
#include "nudge/event_types.h"
#include "nudge/features.h"
#include "nudge/id_map.h"
#include "nudge/interactions.h"

namespace nudge {

struct Catalog {
  IdMap users;
  IdMap items;
  EventTypes event_types;
  FeatureTable user_features;
  FeatureTable item_features;
};

class Dataset {
 public:
  Dataset();  // empty
  Dataset(std::shared_ptr<const Catalog> catalog, Interactions interactions);
  // A dataset given as its users x items matrix, one interaction per entry: event type
  // `type` (whose weight must be 1), value the entry, timestamp 0. The matrix (which may borrow
  // its arrays, csr.h) is the user_items view as it is; item_users and the interaction log are
  // made from it on first use. Throws (NUDGE_CHECK) on a shape other than the catalog's.
  static Dataset from_user_items(std::shared_ptr<const Catalog> catalog, CsrMatrix user_items, EventType type);

  const Catalog& catalog() const { return *catalog_; }
  const std::shared_ptr<const Catalog>& catalog_ptr() const { return catalog_; }
  const Interactions& interactions() const;
  uint32_t num_users() const { return catalog_->users.size(); }
  uint32_t num_items() const { return catalog_->items.size(); }
  size_t num_interactions() const;

  // Implicit weight of one row: event_weight(type) * value.
  float weight(size_t row) const {
    const Interactions& in = interactions();
    return catalog_->event_types.weight(in.types[row]) * in.values[row];
  }
  const CsrMatrix& user_items() const;  // num_users x num_items
  const CsrMatrix& item_users() const;  // num_items x num_users

  // A dataset over the same catalog with other interactions (how splits are made).
  Dataset with_interactions(Interactions interactions) const;

 private:
  struct Views {
    std::once_flag once;  // user_items
    CsrMatrix user_items;
    std::once_flag transpose_once;  // item_users
    CsrMatrix item_users;
    // Made from user_items on first use, for a dataset given as its matrix.
    std::once_flag log_once;
    EventType log_type = 0;
    Interactions log;
  };
  void build_views() const;
  std::shared_ptr<const Catalog> catalog_;
  std::shared_ptr<const Interactions> interactions_;  // null: given as user_items (views_->log)
  std::shared_ptr<Views> views_;
};

// DatasetBuilder: the mutable stage while files are read (see readers.h) or data generated.
// Not thread-safe.
class DatasetBuilder {
 public:
  DatasetBuilder();
  Catalog& catalog() { return *catalog_; }
  Interactions& interactions() { return interactions_; }
  // Freezes into a Dataset: ensures the feature tables cover every user and item. The
  // builder is left empty.
  Dataset build();

 private:
  std::shared_ptr<Catalog> catalog_;
  Interactions interactions_;
};

}  // namespace nudge
